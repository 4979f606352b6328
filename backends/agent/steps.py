"""What both agent loops share: the approval gate between the UI and the tools, call ids, and
the turn's context.

The loops (``react`` and ``internlm_loop``) get a ``LoopContext`` and never import each other or
the backend that chooses between them, so ``backends.agent`` has no import cycle.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Literal

from backends.agent.code import refusal
from backends.agent.python_tool import DENIED, PythonTool
from backends.agent.sandbox import SandboxLimits
from backends.agent.tools import Tool, ToolSet
from backends.base import ChatBackend
from backends.events import ApprovalRequest, BackendEvent, ToolResult, code_sha256
from backends.options import AgentOptions

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
    ok: bool = True
    reason: str = ""
    """The user's reason for a denial (typed in the dialog), sent to the model."""

    @property
    def for_model(self) -> str:
        """What the model is told: the output, the refusal's reason, or that the user said no."""
        if self.outcome == "denied":
            return f"{DENIED} The user's reason: {self.reason}" if self.reason else DENIED
        return self.output


def shown_arguments(arguments: dict[str, Any]) -> str:
    """A call's arguments as the dialog shows them and the tool gets them back (pretty JSON)."""
    return json.dumps(arguments, indent=2, ensure_ascii=False, sort_keys=True)


class ApprovalGate:
    """Asks the UI before a tool acts (unless approval is automatic) and runs it when allowed."""

    def __init__(self, approve: str, network_blocked: bool, tools_off: str | None = None) -> None:
        self.approve = approve
        self.network_blocked = network_blocked
        self.tools_off = tools_off
        """Why the Python tool cannot run at all here (no isolation and no opt-in): its calls are
        refused with this line before anyone is asked, so nothing is approved that cannot run."""
        self._answers: dict[str, tuple[bool, str]] = {}
        self._answered = threading.Condition()

    def answer(self, call_id: str, approved: bool, reason: str = "") -> None:
        """The UI's answer to an ``ApprovalRequest`` (thread-safe); ``reason`` explains a denial."""
        with self._answered:
            self._answers[call_id] = (approved, reason)
            self._answered.notify_all()

    def wait_for_answer(self, call_id: str, cancel: threading.Event) -> tuple[bool, str] | None:
        """Block until the UI answers ``call_id`` (yes/no and a reason), or None once ``cancel`` is set."""
        with self._answered:
            while call_id not in self._answers:
                if cancel.is_set():
                    return None
                self._answered.wait(0.05)
            return self._answers.pop(call_id)

    def approve_and_run(
        self,
        tool: Tool,
        call_id: str,
        arguments: dict[str, Any],
        cancel: threading.Event,
    ) -> Generator[BackendEvent, None, ToolRun]:
        """Ask for approval when the tool acts (unless ``--approve auto``), run it, report.

        Python's code is already normalised (``backends.agent.code.normalise_code``); it is
        shown, hashed and run as it is, and the tool refuses anything with another digest. Other
        tools' arguments are shown as pretty JSON, hashed, and what runs is parsed back from
        exactly that text. Shared by every protocol (ReAct, InternLM2's own, OpenAI tools).
        """
        is_python = isinstance(tool, PythonTool)
        if is_python:
            code = arguments.get("code")
            shown = code if isinstance(code, str) else ""
            refused = self.tools_off or refusal(shown)
        else:
            shown = shown_arguments(arguments)
            refused = None
        if refused is not None:
            yield ToolResult(call_id, refused, ok=False)
            return ToolRun("refused", refused, ok=False)
        digest = code_sha256(shown)
        if tool.acts and self.approve != "auto":
            language: Literal["python", "json"] = "python" if is_python else "json"
            yield ApprovalRequest(
                call_id,
                tool.name,
                shown,
                self.network_blocked or not is_python,
                digest,
                tool.server,
                language,
            )
            answer = self.wait_for_answer(call_id, cancel)
            if answer is None:
                yield ToolResult(call_id, "cancelled before it ran", ok=False)
                return ToolRun("cancelled")
            approved, reason = answer
            if not approved:
                yield ToolResult(call_id, "denied by the user" + (f": {reason}" if reason else ""), ok=False)
                return ToolRun("denied", reason=reason)
        started = time.monotonic()
        if is_python:
            assert isinstance(tool, PythonTool)
            tool.expect(digest)
            out = tool.run({"code": shown}, cancel)
            elapsed = tool.last_elapsed_s
        else:
            out = tool.run(json.loads(shown), cancel)
            elapsed = time.monotonic() - started
        yield ToolResult(
            call_id, out.text, ok=out.ok, elapsed_s=round(elapsed, 3), attachments=out.attachments
        )
        if cancel.is_set():
            return ToolRun("cancelled")
        return ToolRun("ran", out.text, ok=out.ok)


@dataclass
class LoopContext:
    """Everything one agent turn needs: the model, the options, the sandbox limits, the gate."""

    llm_backend: ChatBackend
    options: AgentOptions
    limits: SandboxLimits
    gate: ApprovalGate = field(repr=False)
    tools: ToolSet = field(default_factory=ToolSet)
    """The tools this turn may call (the chat's choice)."""
