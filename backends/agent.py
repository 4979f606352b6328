"""The agent backend: Lagent's ReAct protocol and action executor over any of our chat backends.

``BackendLLM`` wraps a ``ChatBackend`` (local or remote) as Lagent's model interface, with real
streaming and cancellation. ``AgentBackend.stream`` runs the ReAct loop step by step (Lagent's
``ReAct.chat`` only blocks), using Lagent's ``ReActProtocol`` to build prompts and parse steps
and its ``ActionExecutor`` to dispatch tools, and turns each step into events: the thought
streams as ``ThoughtDelta``, a tool call becomes ``ToolCall`` (+ ``ApprovalRequest`` when the
user must approve) and ``ToolResult``, the final answer streams as ``TokenDelta``.

With an InternLM2-family local model the loop uses the model's own tool-call tokens instead of
ReAct text (``backends.internlm_agent``; ``AgentOptions.protocol`` overrides the choice).

The only tool, ``python``, runs the code out of process in ``backends.sandbox``. This module
imports lagent at the top, so only the registry's factory imports it (DESIGN rule 4).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from backends import lagent_compat
from backends.base import BackendConfigError, ChatBackend
from backends.events import (
    ApprovalRequest,
    BackendEvent,
    BackendInfo,
    ChatMessage,
    Done,
    Error,
    GenerationParams,
    ThoughtDelta,
    TokenDelta,
    ToolCall,
    ToolResult,
    Usage,
)
from backends.options import AgentOptions
from backends.sandbox import SandboxLimits, network_blocked, run_python

lagent_compat.prepare()

# isort: split
from lagent.actions import ActionExecutor, BaseAction  # noqa: E402
from lagent.actions.parser import BaseParser  # noqa: E402
from lagent.agents.react import ReActProtocol  # noqa: E402
from lagent.llms.base_llm import BaseModel  # noqa: E402
from lagent.schema import ActionReturn, ActionStatusCode, ModelStatusCode  # noqa: E402


@dataclass(frozen=True, slots=True)
class ToolRun:
    """How one approved-or-not tool call ended, for the loop to continue from."""

    outcome: Literal["ran", "denied", "cancelled"]
    output: str = ""
    ran: ActionReturn | None = None


THOUGHT, ACTION, ACTION_INPUT, RESPONSE, FINISH = (
    "Thought:",
    "Action:",
    "Action Input:",
    "Response:",
    "Final Answer:",
)
STOP_WORDS = ("\nResponse:", "Response:", "<|action_end|>")
"""The model must not write the tool's result itself: generation stops there."""

DENIED = "The user did not allow this code to run."

_META_TEMPLATE = [
    {"role": "system", "begin": "<|im_start|>system\n", "end": "<|im_end|>\n"},
    {"role": "user", "begin": "<|im_start|>user\n", "end": "<|im_end|>\n"},
    {"role": "assistant", "begin": "<|im_start|>assistant\n", "end": "<|im_end|>\n", "generate": True},
]


class Cancelled(Exception):
    """The turn was cancelled while the LLM was writing."""


class LLMFailed(Exception):
    """The wrapped backend ended a step with an ``Error``."""

    def __init__(self, error: Error) -> None:
        super().__init__(error.message)
        self.error = error


def to_chat_messages(dialog: Sequence[dict[str, str]]) -> list[ChatMessage]:
    """Lagent's prompt dicts -> our messages. Only the first system message stays ``system``;
    later ones (tool responses, the force-stop hint) become user turns, which every chat
    template and server accepts."""
    messages: list[ChatMessage] = []
    for index, item in enumerate(dialog):
        role = item.get("role", "user")
        content = str(item.get("content", ""))
        if role == "system" and index > 0:
            role = "user"
        if role not in ("system", "user", "assistant"):
            role = "user"
        if messages and messages[-1].role == role and role != "system":
            messages[-1] = ChatMessage(role, messages[-1].content + "\n" + content)
        else:
            messages.append(ChatMessage(role, content))  # type: ignore[arg-type]
    return messages


class BackendLLM(BaseModel):  # type: ignore[misc]
    """Lagent's model interface over one of our ``ChatBackend`` objects, streaming."""

    def __init__(self, backend: ChatBackend, params: GenerationParams | None = None) -> None:
        super().__init__(path=backend.info.model, meta_template=_META_TEMPLATE, stop_words=list(STOP_WORDS))
        self.backend = backend
        self.params = params or GenerationParams()
        self.cancel = threading.Event()
        self.usage = Usage()

    def _params(self) -> GenerationParams:
        return replace(self.params, stop=tuple(dict.fromkeys((*self.params.stop, *STOP_WORDS))), stream=True)

    def stream_chat(self, inputs: list[dict[str, str]], **gen_params: Any) -> Iterator[tuple[int, str, None]]:
        """Yield ``(status, cumulative text, None)`` as Lagent's streaming models do."""
        text = ""
        for event in self.backend.stream(to_chat_messages(inputs), self._params(), cancel=self.cancel):
            if isinstance(event, TokenDelta | ThoughtDelta):
                text += event.text
                yield ModelStatusCode.STREAM_ING, _cut_stop(text), None
            elif isinstance(event, Error):
                raise LLMFailed(event)
            elif isinstance(event, Done):
                self.usage = event.usage
                if event.reason == "cancelled":
                    raise Cancelled
                break
        yield ModelStatusCode.END, _cut_stop(text), None

    def generate(self, inputs: str | list[str], **gen_params: Any) -> str:
        """Blocking completion of an already-rendered prompt (Lagent API; not used by the loop)."""
        prompt = inputs if isinstance(inputs, str) else inputs[0]
        return self.chat([{"role": "user", "content": prompt}])

    def chat(self, inputs: list[dict[str, str]], **gen_params: Any) -> str:
        final = ""
        for _status, text, _ in self.stream_chat(inputs):
            final = text
        return final


def _cut_stop(text: str) -> str:
    for word in STOP_WORDS:
        at = text.find(word)
        if at >= 0:
            text = text[:at]
    return text


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


def _split_step(text: str, final: bool = False) -> tuple[str, str | None, str]:
    """(thought so far that is safe to show, which marker ended it, text after the marker).

    While streaming, the last few characters are held back: they may be the start of a marker."""
    positions = [(text.find(m), m) for m in (ACTION, FINISH) if m in text]
    if positions:
        at, marker = min(positions)
        return text[:at], marker, text[at + len(marker) :]
    hold = 0 if final else max(len(ACTION), len(FINISH))
    return text[: max(0, len(text) - hold)], None, ""


class AgentBackend:
    """ReAct agent over a chat backend, with approval-gated sandboxed tools."""

    def __init__(
        self,
        llm_backend: ChatBackend,
        options: AgentOptions | None = None,
        *,
        limits: SandboxLimits | None = None,
    ) -> None:
        self.options = options or AgentOptions()
        unknown = [t for t in self.options.tools if t != "python"]
        if unknown:
            raise BackendConfigError(f"unknown tool {unknown[0]!r}; available tools: python")
        self.llm_backend = llm_backend
        self.limits = limits or SandboxLimits(wall_s=self.options.tool_timeout_s)
        self.network_blocked = network_blocked()
        base = llm_backend.info
        self.info = BackendInfo(
            name="agent",
            model=base.model,
            device=base.device,
            capabilities=frozenset({*base.capabilities, "tools"}),
        )
        self.protocol = ReActProtocol()
        from backends.internlm_agent import wants_internlm2

        self.native_protocol = wants_internlm2(self.options.protocol, llm_backend)
        """True when the model calls tools with InternLM2's own tokens (``backends.internlm_agent``)."""
        self._answers: dict[str, bool] = {}
        self._answered = threading.Condition()

    # ----- approval ------------------------------------------------------------------------
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

        Shared by both protocols (ReAct here, InternLM2's own in ``backends.internlm_agent``).
        """
        if self.options.approve != "auto":
            yield ApprovalRequest(call_id, action, code, self.network_blocked)
            approved = self.wait_for_answer(call_id, cancel)
            if approved is None:
                yield ToolResult(call_id, "cancelled before it ran", ok=False)
                return ToolRun("cancelled")
            if not approved:
                yield ToolResult(call_id, "denied by the user", ok=False)
                return ToolRun("denied")
        ran: ActionReturn = executor(action, code)
        ok = ran.state == ActionStatusCode.SUCCESS
        output = ran.format_result() if ok else (ran.errmsg or "tool failed")
        yield ToolResult(call_id, output, ok=ok, elapsed_s=round(tool.last_elapsed_s, 3))
        if cancel.is_set():
            return ToolRun("cancelled")
        return ToolRun("ran", output, ran)

    # ----- the loop ------------------------------------------------------------------------
    def stream(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        *,
        cancel: threading.Event,
    ) -> Iterator[BackendEvent]:
        """Run one agent turn; ends with exactly one ``Done`` or ``Error``."""
        if self.native_protocol:
            from backends.internlm_agent import InternLM2Loop

            yield from InternLM2Loop(self).run(messages, params, cancel)
            return
        started = time.monotonic()
        llm = BackendLLM(self.llm_backend, params)
        llm.cancel = cancel
        tool = PythonSandbox(self.limits)
        tool.cancel = cancel
        executor = ActionExecutor(actions=[tool])
        history = [{"role": m.role, "content": m.content} for m in messages[:-1] if m.role != "system"]
        inner: list[dict[str, str]] = [{"role": "user", "content": messages[-1].content if messages else ""}]
        completion = 0
        max_steps = max(1, self.options.max_steps)
        for step in range(max_steps):
            if cancel.is_set():
                yield Done("cancelled")
                return
            prompt = self.protocol.format(
                chat_history=history,
                inner_step=inner,
                action_executor=executor,
                force_stop=step == max_steps - 1,
            )
            shown = 0
            answered = 0
            text = ""
            try:
                for _status, text, _ in llm.stream_chat(prompt):
                    thought, marker, rest = _split_step(text)
                    thought = thought.split(THOUGHT, 1)[-1].lstrip() if THOUGHT in thought else thought
                    if len(thought) > shown:
                        yield ThoughtDelta(thought[shown:])
                        shown = len(thought)
                    if marker == FINISH and len(rest) > answered:
                        piece = rest[answered:]
                        yield TokenDelta(piece.lstrip() if answered == 0 else piece)
                        answered = len(rest)
            except Cancelled:
                yield Done("cancelled")
                return
            except LLMFailed as failed:
                yield failed.error
                return
            thought, _marker, _rest = _split_step(text, final=True)
            thought = thought.split(THOUGHT, 1)[-1].lstrip() if THOUGHT in thought else thought
            if len(thought) > shown:
                yield ThoughtDelta(thought[shown:])
            completion += llm.usage.completion_tokens
            thought, action, action_input = self.protocol.parse(text, executor)
            if action == executor.finish_action.name:
                if answered == 0 and action_input.strip():
                    yield TokenDelta(action_input.strip())
                yield Done("cancelled" if cancel.is_set() else "stop", self._usage(started, completion))
                return
            if action == executor.no_action.name:
                if ACTION in text:
                    yield Error(
                        "agent stopped: the model wrote a malformed action (no 'Action Input:')",
                        text[-500:],
                    )
                    return
                # No ReAct markers at all: the small model simply answered.
                answer = text.split(THOUGHT, 1)[-1].strip()
                if answer:
                    yield ThoughtDelta("\n[no Action or Final Answer: the reply is taken as the answer]")
                    yield TokenDelta(answer)
                    yield Done("cancelled" if cancel.is_set() else "stop", self._usage(started, completion))
                else:
                    yield Error("agent stopped: the model wrote nothing")
                return
            call_id = f"call-{step + 1}"
            code = strip_fences(action_input) if action == tool.name else action_input
            yield ToolCall(call_id, action, code)
            if not executor.is_valid(action.split(".")[0]):
                yield ToolResult(call_id, f"unknown tool {action!r}", ok=False)
                yield Error(f"agent stopped: the model asked for unknown tool {action!r} (tools: python)")
                return
            run = yield from self.approve_and_run(executor, tool, call_id, action, code, cancel)
            if run.outcome == "cancelled":
                yield Done("cancelled")
                return
            if run.outcome == "denied" or run.ran is None:
                inner.append({"role": "assistant", "content": text})
                inner.append({"role": "system", "content": f"{RESPONSE}{DENIED}\n"})
                continue
            ran = run.ran
            inner.append({"role": "assistant", "content": text})
            inner.append(self.protocol.format_response(ran))
        yield Error(f"agent stopped after {max_steps} steps without a final answer")

    @staticmethod
    def _usage(started: float, completion: int) -> Usage:
        total = time.monotonic() - started
        return Usage(completion_tokens=completion, total_s=total)

    def close(self) -> None:
        """Close the wrapped backend."""
        self.llm_backend.close()
