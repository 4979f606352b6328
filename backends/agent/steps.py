"""What both agent loops share: the approval gate between the UI and the tools, call ids, and
the turn's context.

The loops (``react`` and ``internlm_loop``) get a ``LoopContext`` and never import each other or
the backend that chooses between them, so ``backends.agent`` has no import cycle.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Literal

from backends.agent.code import refusal
from backends.agent.python_tool import DENIED, PythonSandbox
from backends.agent.sandbox import SandboxLimits
from backends.base import ChatBackend
from backends.events import ApprovalRequest, BackendEvent, ToolResult, code_sha256
from backends.options import AgentOptions

# isort: split
from lagent.actions import ActionExecutor
from lagent.schema import ActionReturn, ActionStatusCode

_call_numbers = itertools.count(1)
_call_numbers_lock = threading.Lock()


def new_call_id() -> str:
    """A tool-call id never used before in this process (answers are matched to calls by it)."""
    with _call_numbers_lock:
        return f"call-{next(_call_numbers)}"


@dataclass(frozen=True, slots=True)
class ToolRun:
    """How one approved-or-not tool call ended, for the loop to continue from."""

    outcome: Literal["ran", "denied", "refused", "cancelled"]
    output: str = ""
    ran: ActionReturn | None = None

    @property
    def for_model(self) -> str:
        """What the model is told: the output, the refusal's reason, or that the user said no."""
        return DENIED if self.outcome == "denied" else self.output


class ApprovalGate:
    """Asks the UI before a tool acts (unless approval is automatic) and runs it when allowed."""

    def __init__(self, approve: str, network_blocked: bool) -> None:
        self.approve = approve
        self.network_blocked = network_blocked
        self._answers: dict[str, bool] = {}
        self._answered = threading.Condition()

    def answer(self, call_id: str, approved: bool) -> None:
        """The UI's answer to an ``ApprovalRequest`` (thread-safe)."""
        with self._answered:
            self._answers[call_id] = approved
            self._answered.notify_all()

    def wait_for_answer(self, call_id: str, cancel: threading.Event) -> bool | None:
        """Block until the UI answers ``call_id`` (True/False), or None once ``cancel`` is set."""
        with self._answered:
            while call_id not in self._answers:
                if cancel.is_set():
                    return None
                self._answered.wait(0.05)
            return self._answers.pop(call_id)

    def approve_and_run(
        self,
        executor: ActionExecutor,
        tool: PythonSandbox,
        call_id: str,
        action: str,
        code: str,
        cancel: threading.Event,
    ) -> Generator[BackendEvent, None, ToolRun]:
        """Ask for approval (unless ``--approve auto``), run the tool, report its result.

        ``code`` is already normalised (``backends.agent.code.normalise_code``); it is shown,
        hashed and run as it is, and the tool refuses to run anything with another digest.
        Shared by both protocols (ReAct and InternLM2's own).
        """
        refused = refusal(code)
        if refused is not None:
            yield ToolResult(call_id, refused, ok=False)
            return ToolRun("refused", refused)
        digest = code_sha256(code)
        if self.approve != "auto":
            yield ApprovalRequest(call_id, action, code, self.network_blocked, digest)
            approved = self.wait_for_answer(call_id, cancel)
            if approved is None:
                yield ToolResult(call_id, "cancelled before it ran", ok=False)
                return ToolRun("cancelled")
            if not approved:
                yield ToolResult(call_id, "denied by the user", ok=False)
                return ToolRun("denied")
        tool.expect(digest)
        ran: ActionReturn = executor(action, code)
        ok = ran.state == ActionStatusCode.SUCCESS
        output = ran.format_result() if ok else (ran.errmsg or "tool failed")
        yield ToolResult(call_id, output, ok=ok, elapsed_s=round(tool.last_elapsed_s, 3))
        if cancel.is_set():
            return ToolRun("cancelled")
        return ToolRun("ran", output, ran)


@dataclass
class LoopContext:
    """Everything one agent turn needs: the model, the options, the sandbox limits, the gate."""

    llm_backend: ChatBackend
    options: AgentOptions
    limits: SandboxLimits
    gate: ApprovalGate = field(repr=False)
