"""The ``python`` tool as a Lagent action: the model's program runs out of process in the sandbox."""

from __future__ import annotations

import re
import threading

from backends.agent import lagent_compat
from backends.agent.sandbox import SandboxLimits, run_python

lagent_compat.prepare()

# isort: split
from lagent.actions import BaseAction  # noqa: E402
from lagent.actions.parser import BaseParser  # noqa: E402
from lagent.schema import ActionReturn, ActionStatusCode  # noqa: E402

DENIED = "The user did not allow this code to run."
"""What the model is told when the user denies a call."""


def strip_fences(code: str) -> str:
    """The code inside a Markdown fence if the model wrote one, else the text as it is."""
    match = re.search(r"```[a-zA-Z0-9_+-]*\n(.*?)(?:```|$)", code, re.DOTALL)
    code = match.group(1) if match else code
    code = code.strip()
    if len(code) >= 2 and code[0] == code[-1] and code[0] in "\"'" and "\n" not in code:
        code = code[1:-1]
    return code


class PythonSandbox(BaseAction):  # type: ignore[misc]
    """Runs Python code in a separate, sandboxed interpreter and returns what it printed.
    Use print() to show results. No network, no files kept between calls."""

    __tool_name__ = "python"

    def __init__(self, limits: SandboxLimits) -> None:
        super().__init__(parser=BaseParser)
        self.limits = limits
        self.cancel = threading.Event()
        self.last_elapsed_s = 0.0

    def run(self, command: str) -> ActionReturn:
        """Run a Python program.

        Args:
            command (:class:`str`): the complete Python program; print() what you need to see
        """
        result = run_python(strip_fences(command), limits=self.limits, cancel=self.cancel)
        self.last_elapsed_s = result.elapsed_s
        output = result.output.strip() or "(no output)"
        if result.ok:
            return ActionReturn(result=[{"type": "text", "content": output}])
        return ActionReturn(errmsg=f"{output}\n[{result.reason}]", state=ActionStatusCode.API_ERROR)
