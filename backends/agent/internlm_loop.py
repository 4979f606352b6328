"""The agent loop in InternLM2's own tool protocol instead of ReAct text.

The prompt follows the InternLM2 chat format: the system prompt (the user's, else the model
card's default from the chat template), a ``system name=<|interpreter|>`` turn describing the
sandboxed Python tool, the conversation, then for each step the model's reply as it wrote it
(up to ``<|action_end|>``) and the tool's output as an ``environment name=<|interpreter|>``
turn (``name=<|plugin|>`` after a plugin call). Generation stops at ``<|action_end|>``.

Events are the same as the ReAct loop's, so the trace panel shows calls the same way: the
text the model writes for the user streams as ``TokenDelta`` (it is the answer when no call
follows), each call is a ``ToolCall`` (after an ``ApprovalRequest`` unless approval is
automatic) and its output a ``ToolResult``. The only tool is ``python``; the model may call it
through the interpreter or as a plugin named ``python``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from backends.agent.code import normalise_code
from backends.agent.python_tool import PythonTool
from backends.agent.steps import LoopContext, new_call_id
from backends.agent.tools import Tool
from backends.events import (
    BackendEvent,
    ChatMessage,
    Done,
    Error,
    GenerationParams,
    TokenDelta,
    ToolCall,
    ToolResult,
    Usage,
)
from backends.internlm.chat import tool_content
from backends.internlm.tokens import ACTION_END, INTERPRETER, PLUGIN
from backends.internlm.tools import ActionCall, parse_reply, visible_text

INTERPRETER_PROMPT = (
    "You can run Python code in a sandboxed interpreter. Send it a complete program and it "
    "returns what the program printed, so print() every result you need. Each run starts "
    "fresh: no variables or files are kept between runs, and there is no network access. "
    "Use it for calculations, checking your reasoning, and processing text or data."
)
"""Our interpreter description, in the spirit of the chat format document's but true of our sandbox."""

PYTHON_PLUGIN_NAMES = ("python", "IPythonInterpreter", "interpreter")


def wants_internlm2(protocol: str, llm_backend: object) -> bool:
    """Whether the agent should use InternLM2's protocol: asked for, or ``auto`` with an
    InternLM2-family local model."""
    if protocol in ("react", "internlm2"):
        return protocol == "internlm2"
    return getattr(llm_backend, "family", None) == "internlm2"


def step_params(params: GenerationParams) -> GenerationParams:
    """The user's sampling settings, streaming, stopping at the end of a tool call."""
    return replace(params, stop=tuple(dict.fromkeys((*params.stop, ACTION_END))), stream=True)


def python_code(call: ActionCall) -> str | None:
    """The program a call asks to run, or None when it names another tool."""
    if call.kind == "plugin" and call.name not in PYTHON_PLUGIN_NAMES:
        return None
    code = call.arguments.get("command", call.arguments.get("code"))
    return normalise_code(code) if isinstance(code, str) else None


def as_written(text: str) -> str:
    """The reply as it goes back into the prompt: up to and including ``<|action_end|>``."""
    head = text.split(ACTION_END, 1)[0]
    return head + ACTION_END


class InternLM2Loop:
    """One agent turn in InternLM2's protocol, using the agent's LLM, sandbox and approvals."""

    def __init__(self, context: LoopContext) -> None:
        self.context = context

    def prompt(self, messages: Sequence[ChatMessage], inner: list[ChatMessage]) -> list[ChatMessage]:
        """System prompt, interpreter and plugin descriptions, conversation, then this turn's steps."""
        system = [m for m in messages[:1] if m.role == "system"]
        described: list[ChatMessage] = []
        if isinstance(self.context.tools.get("python"), PythonTool):
            described.append(ChatMessage("system", tool_content(INTERPRETER, INTERPRETER_PROMPT)))
        plugins = [
            {"name": t.name, "description": t.description, "parameters": t.parameters}
            for t in self.context.tools
            if not isinstance(t, PythonTool)
        ]
        if plugins:
            described.append(
                ChatMessage("system", tool_content(PLUGIN, json.dumps(plugins, ensure_ascii=False)))
            )
        talk = [m for m in messages[len(system) :] if m.role in ("user", "assistant")]
        return [*system, *described, *talk, *inner]

    def resolve(self, call: ActionCall) -> tuple[Tool | None, dict[str, Any]]:
        """The registry tool a call names and its arguments (Python's code normalised once)."""
        tools = self.context.tools
        python = tools.get("python")
        if call.kind != "plugin" or call.name in PYTHON_PLUGIN_NAMES:
            code = python_code(call)
            if isinstance(python, PythonTool) and code is not None:
                return python, {"code": code}
            if call.kind != "plugin":
                return None, {}
        return tools.get(call.name), dict(call.arguments)

    def run(
        self, messages: Sequence[ChatMessage], params: GenerationParams, cancel: threading.Event
    ) -> Iterator[BackendEvent]:
        """Run one agent turn; ends with exactly one ``Done`` or ``Error``."""
        started = time.monotonic()
        agent = self.context
        inner: list[ChatMessage] = []
        completion = 0
        said_something = False
        for _step in range(max(1, agent.options.max_steps)):
            if cancel.is_set():
                yield Done("cancelled")
                return
            text = ""
            shown = 0
            separator = "\n\n" if said_something else ""
            done: Done | None = None
            prompt = self.prompt(messages, inner)
            for event in agent.llm_backend.stream(prompt, step_params(params), cancel=cancel):
                if isinstance(event, TokenDelta):
                    text += event.text
                    visible = visible_text(text)
                    if len(visible) > shown:
                        yield TokenDelta(separator + visible[shown:])
                        separator, shown, said_something = "", len(visible), True
                elif isinstance(event, Error):
                    yield event
                    return
                elif isinstance(event, Done):
                    done = event
            if done is None or done.reason == "cancelled":
                yield Done("cancelled")
                return
            completion += done.usage.completion_tokens
            parsed = parse_reply(text)
            if len(parsed.text) > shown:
                yield TokenDelta(separator + parsed.text[shown:])
                said_something = True
            if parsed.error:
                yield Error(f"agent stopped: {parsed.error}", text[-500:])
                return
            if parsed.call is None:
                usage = Usage(completion_tokens=completion, total_s=time.monotonic() - started)
                yield Done(done.reason, usage)
                return
            call = parsed.call
            if not call.closed and done.reason == "length":
                cut = "agent stopped: the model's tool call was cut off (raise --max-new-tokens)"
                yield Error(cut, text[-500:])
                return
            call_id = new_call_id()
            tool, arguments = self.resolve(call)
            if tool is None:
                names = ", ".join(agent.tools.names()) or "none"
                yield ToolCall(call_id, call.name, json.dumps(call.arguments, ensure_ascii=False))
                yield ToolResult(call_id, f"unknown tool {call.name!r}", ok=False)
                yield Error(f"agent stopped: the model asked for unknown tool {call.name!r} (tools: {names})")
                return
            if isinstance(tool, PythonTool):
                yield ToolCall(call_id, "python", str(arguments.get("code", "")))
            else:
                yield ToolCall(call_id, tool.name, json.dumps(arguments, ensure_ascii=False))
            inner.append(ChatMessage("assistant", as_written(text)))
            name = PLUGIN if call.kind == "plugin" else INTERPRETER
            run = yield from agent.gate.approve_and_run(tool, call_id, arguments, cancel)
            if run.outcome == "cancelled":
                yield Done("cancelled")
                return
            inner.append(ChatMessage("tool", tool_content(name, run.for_model)))
        yield Error(f"agent stopped after {agent.options.max_steps} steps without a final answer")
