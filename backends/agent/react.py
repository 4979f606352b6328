"""Lagent's ReAct protocol as a streaming agent loop over any of our chat backends.

``BackendLLM`` wraps a ``ChatBackend`` (local or remote) as Lagent's model interface, with real
streaming and cancellation. ``ReActLoop.run`` runs the loop step by step (Lagent's ``ReAct.chat``
only blocks), using Lagent's ``ReActProtocol`` to build prompts and parse steps and its
``ActionExecutor`` to dispatch tools, and turns each step into events: the thought streams as
``ThoughtDelta``, a tool call becomes ``ToolCall`` (+ ``ApprovalRequest`` when the user must
approve) and ``ToolResult``, the final answer streams as ``TokenDelta``.

This module imports lagent at the top, so only the registry's factory imports it (DESIGN rule 4).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from backends.agent import lagent_compat
from backends.agent.code import normalise_code
from backends.agent.python_tool import PythonSandbox, PythonTool
from backends.agent.sandbox import SandboxLimits
from backends.agent.steps import LoopContext, new_call_id
from backends.agent.tools import Tool, parse_arguments
from backends.base import ChatBackend
from backends.events import (
    BackendEvent,
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
from backends.internlm.tokens import ACTION_END

lagent_compat.prepare()

# isort: split
from lagent.actions import ActionExecutor, BaseAction  # noqa: E402
from lagent.agents.react import ReActProtocol  # noqa: E402
from lagent.llms.base_llm import BaseModel  # noqa: E402
from lagent.schema import ModelStatusCode  # noqa: E402

THOUGHT, ACTION, ACTION_INPUT, RESPONSE, FINISH = (
    "Thought:",
    "Action:",
    "Action Input:",
    "Response:",
    "Final Answer:",
)
STOP_WORDS = ("\nResponse:", "Response:", ACTION_END)
"""The model must not write the tool's result itself: generation stops there."""

_META_TEMPLATE = [
    {"role": "system", "begin": "<|im_start|>system\n", "end": "<|im_end|>\n"},
    {"role": "user", "begin": "<|im_start|>user\n", "end": "<|im_end|>\n"},
    {"role": "assistant", "begin": "<|im_start|>assistant\n", "end": "<|im_end|>\n", "generate": True},
]


def lagent_action(tool: Tool, limits: SandboxLimits) -> BaseAction:
    """A registry tool as a Lagent action, so ``ReActProtocol`` describes it in the prompt.
    Only the description is used: calls run through the approval gate, never through Lagent."""
    if isinstance(tool, PythonTool):
        return PythonSandbox(limits)  # its Lagent description: Action Input is the program itself
    properties = tool.parameters.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    parameters = [
        {**(schema if isinstance(schema, dict) else {}), "name": str(name)}
        for name, schema in properties.items()
    ]
    required = tool.parameters.get("required")
    required = [r for r in required if r in properties] if isinstance(required, list) else []
    description = {
        "name": tool.name,
        "description": tool.description,
        "parameters": parameters,
        "required": required,
    }
    return BaseAction(description=description)


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


def _split_step(text: str, final: bool = False) -> tuple[str, str | None, str]:
    """(thought so far that is safe to show, which marker ended it, text after the marker).

    While streaming, the last few characters are held back: they may be the start of a marker."""
    positions = [(text.find(m), m) for m in (ACTION, FINISH) if m in text]
    if positions:
        at, marker = min(positions)
        return text[:at], marker, text[at + len(marker) :]
    hold = 0 if final else max(len(ACTION), len(FINISH))
    return text[: max(0, len(text) - hold)], None, ""


class ReActLoop:
    """One agent turn in Lagent's ReAct protocol (Thought / Action / Action Input / Final Answer)."""

    def __init__(self, context: LoopContext) -> None:
        self.context = context
        self.protocol = ReActProtocol()

    def run(
        self, messages: Sequence[ChatMessage], params: GenerationParams, cancel: threading.Event
    ) -> Iterator[BackendEvent]:
        """Run one agent turn; ends with exactly one ``Done`` or ``Error``."""
        context = self.context
        started = time.monotonic()
        llm = BackendLLM(context.llm_backend, params)
        llm.cancel = cancel
        executor = ActionExecutor(actions=[lagent_action(t, context.limits) for t in context.tools])
        history = [{"role": m.role, "content": m.content} for m in messages[:-1] if m.role != "system"]
        inner: list[dict[str, str]] = [{"role": "user", "content": messages[-1].content if messages else ""}]
        completion = 0
        max_steps = max(1, context.options.max_steps)
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
            call_id = new_call_id()
            tool = context.tools.get(action)
            arguments: dict[str, Any] | str
            if isinstance(tool, PythonTool):
                arguments = {"code": normalise_code(action_input)}
                yield ToolCall(call_id, action, arguments["code"])
            else:
                arguments = parse_arguments(action_input)
                yield ToolCall(call_id, action, action_input)
            if tool is None:
                names = ", ".join(context.tools.names()) or "none"
                yield ToolResult(call_id, f"unknown tool {action!r}", ok=False)
                yield Error(f"agent stopped: the model asked for unknown tool {action!r} (tools: {names})")
                return
            if isinstance(arguments, str):
                yield ToolResult(call_id, arguments, ok=False)
                reply = arguments
            else:
                run = yield from context.gate.approve_and_run(tool, call_id, arguments, cancel)
                if run.outcome == "cancelled":
                    yield Done("cancelled")
                    return
                reply = run.for_model
            inner.append({"role": "assistant", "content": text})
            inner.append({"role": "system", "content": f"{RESPONSE}{reply}\n"})
        yield Error(f"agent stopped after {max_steps} steps without a final answer")

    @staticmethod
    def _usage(started: float, completion: int) -> Usage:
        total = time.monotonic() - started
        return Usage(completion_tokens=completion, total_s=total)
