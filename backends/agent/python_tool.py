"""The ``python`` tool as a Lagent action: the model's program runs out of process in the sandbox."""

from __future__ import annotations

import threading

from backends.agent import lagent_compat
from backends.agent.sandbox import SandboxLimits, run_python
from backends.agent.tools import ToolOutput
from backends.events import Attachment, code_sha256

lagent_compat.prepare()

# isort: split
from lagent.actions import BaseAction  # noqa: E402
from lagent.actions.parser import BaseParser  # noqa: E402
from lagent.schema import ActionReturn, ActionStatusCode  # noqa: E402

DENIED = "The user did not allow this call to run."
"""What the model is told when the user denies a call (their typed reason follows, if any)."""


MISMATCH = "refused: the code to run is not the code that was approved"
"""The tool's answer when what it was given does not hash to what the user saw."""


class PythonSandbox(BaseAction):  # type: ignore[misc]
    """Runs Python code in a separate, sandboxed interpreter and returns what it printed.
    Use print() to show results. No network, no files kept between calls."""

    __tool_name__ = "python"

    def __init__(self, limits: SandboxLimits) -> None:
        super().__init__(parser=BaseParser)
        self.limits = limits
        self.cancel = threading.Event()
        self.last_elapsed_s = 0.0
        self._expected_sha256: str | None = None

    def expect(self, sha256: str) -> None:
        """Allow the next run for the code with this digest only (the code that was shown)."""
        self._expected_sha256 = sha256

    def run(self, command: str) -> ActionReturn:
        """Run a Python program.

        Args:
            command (:class:`str`): the complete Python program; print() what you need to see
        """
        expected, self._expected_sha256 = self._expected_sha256, None
        if expected is None or code_sha256(command) != expected:
            self.last_elapsed_s = 0.0
            return ActionReturn(errmsg=MISMATCH, state=ActionStatusCode.API_ERROR)
        result = run_python(command, limits=self.limits, cancel=self.cancel)
        self.last_elapsed_s = result.elapsed_s
        output = result.output.strip() or "(no output)"
        if result.ok:
            return ActionReturn(result=[{"type": "text", "content": output}])
        return ActionReturn(errmsg=f"{output}\n[{result.reason}]", state=ActionStatusCode.API_ERROR)


PYTHON_PARAMETERS: dict[str, object] = {
    "type": "object",
    "properties": {"code": {"type": "string", "description": "the complete Python program; print() results"}},
    "required": ["code"],
}


class PythonTool:
    """The sandboxed Python interpreter as a registry tool (``backends.agent.tools.Tool``).

    ``arguments["code"]`` must already be normalised; it runs only if its digest is the one
    the approval gate saw (``expect``), so what the user approved is exactly what runs."""

    name = "python"
    description = (
        "Runs a complete Python program in a separate, sandboxed interpreter and returns what it "
        "printed. Use print() to show results. No network, no files kept between calls. Images "
        "saved in the working folder (e.g. plt.savefig('plot.png')) are shown to the user."
    )
    parameters = PYTHON_PARAMETERS
    acts = True
    server = ""

    def __init__(self, limits: SandboxLimits) -> None:
        self.limits = limits
        self.last_elapsed_s = 0.0
        self.inputs: tuple[Attachment, ...] = ()
        """The user's files, copied into the working folder of every run of this turn."""
        self._expected_sha256: str | None = None

    def expect(self, sha256: str) -> None:
        """Allow the next run for the code with this digest only (the code that was shown)."""
        self._expected_sha256 = sha256

    def run(self, arguments: dict[str, object], cancel: threading.Event) -> ToolOutput:
        """Run the program if it is the approved one; its output (and why it failed)."""
        expected, self._expected_sha256 = self._expected_sha256, None
        command = arguments.get("code")
        if not isinstance(command, str) or expected is None or code_sha256(command) != expected:
            self.last_elapsed_s = 0.0
            return ToolOutput(MISMATCH, ok=False)
        result = run_python(command, limits=self.limits, cancel=cancel, inputs=self.inputs)
        self.last_elapsed_s = result.elapsed_s
        output = result.output.strip()
        saved = [f"[saved {a.name} ({len(a.data)} bytes): shown to the user]" for a in result.images]
        extra = "\n".join([*saved, *(f"[{note}]" for note in result.notes)])
        output = "\n".join(part for part in (output, extra) if part) or "(no output)"
        if result.ok:
            return ToolOutput(output, attachments=result.images)
        return ToolOutput(f"{output}\n[{result.reason}]", ok=False, attachments=result.images)
