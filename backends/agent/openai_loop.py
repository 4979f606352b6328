"""The agent loop with server-side tool calling: the chat's tools go in the OpenAI ``tools``
parameter, the server streams ``tool_calls``, each runs through the same approval gate, and its
result goes back as a ``role: "tool"`` message with the call's ``tool_call_id``, until the model
answers in text.

A server that rejects ``tools`` (400 / 422) raises ``ToolsRejected`` before anything is shown;
the backend then falls back to the ReAct prompt (and remembers that for the endpoint). A server
that returns InternLM2's raw ``<|action_start|><|plugin|>`` text in ``content`` instead of
``tool_calls`` (lmdeploy without ``--tool-call-parser``) is parsed with our InternLM2 parser.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

from backends.agent.code import normalise_code
from backends.agent.python_tool import PythonTool
from backends.agent.steps import LoopContext, new_call_id
from backends.agent.tools import Tool, openai_spec, parse_arguments
from backends.events import TOOLS_REJECTED as TOOLS_REJECTED
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
from backends.internlm.tokens import ACTION_START
from backends.internlm.tools import parse_reply, visible_text


@runtime_checkable
class StreamsTools(Protocol):
    """A chat backend that can offer tools to the model (the remote backend)."""

    def stream_tools(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        tools: Sequence[dict[str, Any]],
        *,
        cancel: threading.Event,
    ) -> Iterator[BackendEvent]: ...


class ToolsRejected(Exception):
    """The server refused the ``tools`` parameter; nothing was shown yet."""


class OpenAIToolsLoop:
    """One agent turn with the server's own tool calling."""

    def __init__(self, context: LoopContext, llm: StreamsTools) -> None:
        self.context = context
        self.llm = llm

    def run(
        self, messages: Sequence[ChatMessage], params: GenerationParams, cancel: threading.Event
    ) -> Iterator[BackendEvent]:
        """Run one agent turn; ends with exactly one ``Done`` or ``Error`` (or raises
        ``ToolsRejected`` before yielding anything)."""
        context = self.context
        started = time.monotonic()
        specs = [openai_spec(t) for t in context.tools]
        talk = list(messages)
        completion = 0
        said = False
        for step in range(max(1, context.options.max_steps)):
            if cancel.is_set():
                yield Done("cancelled")
                return
            text = ""
            shown = 0
            calls: list[ToolCall] = []
            done: Done | None = None
            separator = "\n\n" if said else ""
            for event in self.llm.stream_tools(talk, params, specs, cancel=cancel):
                if isinstance(event, TokenDelta):
                    text += event.text
                    visible = visible_text(text)
                    if len(visible) > shown:
                        yield TokenDelta(separator + visible[shown:])
                        separator, shown, said = "", len(visible), True
                elif isinstance(event, ThoughtDelta):
                    yield event
                elif isinstance(event, ToolCall):
                    calls.append(event)
                elif isinstance(event, Error):
                    if event.detail == TOOLS_REJECTED and step == 0 and not text:
                        raise ToolsRejected(event.message)
                    yield event
                    return
                elif isinstance(event, Done):
                    done = event
            if done is None or done.reason == "cancelled":
                yield Done("cancelled")
                return
            completion += done.usage.completion_tokens
            if not calls and ACTION_START in text:
                parsed = parse_reply(text)
                if parsed.call is not None:
                    name = "python" if parsed.call.kind == "interpreter" else parsed.call.name
                    arguments = dict(parsed.call.arguments)
                    if name == "python" and "command" in arguments:
                        arguments = {"code": arguments.pop("command")}
                    calls = [ToolCall(new_call_id(), name, json.dumps(arguments, ensure_ascii=False))]
                    text = parsed.text
            if not calls:
                yield Done(
                    done.reason, Usage(completion_tokens=completion, total_s=time.monotonic() - started)
                )
                return
            talk.append(ChatMessage("assistant", text, tool_calls=tuple(calls)))
            for call in calls:
                reply = yield from self._run_call(call, cancel)
                if reply is None:
                    yield Done("cancelled")
                    return
                talk.append(ChatMessage("tool", reply, tool_call_id=call.call_id))
        yield Error(f"agent stopped after {context.options.max_steps} steps without a final answer")

    def _run_call(self, call: ToolCall, cancel: threading.Event) -> Generator[BackendEvent, None, str | None]:
        """Show, approve and run one call; returns what the model is told (None: cancelled)."""
        context = self.context
        call_id = new_call_id()  # our own id for the UI; the server's goes back as tool_call_id
        tool: Tool | None = context.tools.get(call.name)
        arguments = parse_arguments(call.arguments)
        if isinstance(tool, PythonTool) and isinstance(arguments, dict):
            code = arguments.get("code", arguments.get("command"))
            arguments = {"code": normalise_code(code)} if isinstance(code, str) else "missing 'code'"
            shown = arguments["code"] if isinstance(arguments, dict) else call.arguments
        else:
            shown = call.arguments
        yield ToolCall(call_id, call.name, shown)
        if tool is None:
            names = ", ".join(context.tools.names()) or "none"
            message = f"unknown tool {call.name!r} (tools: {names})"
            yield ToolResult(call_id, message, ok=False)
            return message
        if isinstance(arguments, str):
            yield ToolResult(call_id, arguments, ok=False)
            return arguments
        run = yield from context.gate.approve_and_run(tool, call_id, arguments, cancel)
        if run.outcome == "cancelled":
            return None
        return run.for_model
