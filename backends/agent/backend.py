"""The agent backend: runs one of the two agent loops over a wrapped chat backend.

With an InternLM2-family local model the loop uses the model's own tool-call tokens
(``backends.agent.internlm_loop``); otherwise Lagent's ReAct text protocol
(``backends.agent.react``); ``AgentOptions.protocol`` overrides the choice. Tools run out of
process in ``backends.agent.sandbox``, after the user's approval (``backends.agent.steps``).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator, Sequence

from backends.agent.files_in import describe_inputs, gather_inputs, with_inputs_note
from backends.agent.internlm_loop import InternLM2Loop, wants_internlm2
from backends.agent.mcp_client import McpHub
from backends.agent.openai_loop import OpenAIToolsLoop, StreamsTools, ToolsRejected
from backends.agent.python_tool import PythonTool
from backends.agent.react import ReActLoop
from backends.agent.sandbox import SandboxLimits, tools_isolated
from backends.agent.sandbox import refusal as sandbox_refusal
from backends.agent.steps import ApprovalGate, LoopContext
from backends.agent.tools import ToolSet
from backends.base import BackendConfigError, ChatBackend
from backends.events import BackendEvent, BackendInfo, ChatMessage, GenerationParams, ThoughtDelta
from backends.options import AgentOptions


class AgentBackend:
    """An agent over a chat backend, with approval-gated sandboxed tools."""

    def __init__(
        self,
        llm_backend: ChatBackend,
        options: AgentOptions | None = None,
        *,
        limits: SandboxLimits | None = None,
        tools: ToolSet | None = None,
        mcp: McpHub | None = None,
    ) -> None:
        self.options = options or AgentOptions()
        self.llm_backend = llm_backend
        self.limits = limits or SandboxLimits(wall_s=self.options.tool_timeout_s)
        if self.options.unisolated_tools:
            self.limits = dataclasses.replace(self.limits, unisolated=True)
        self.mcp = mcp
        """The MCP servers whose tools are in ``tools`` (owned: closed with the backend)."""
        self.tools = tools if tools is not None else ToolSet()
        """Every tool the app knows (MCP servers add theirs as they start); injected, shared."""
        if "python" not in self.tools:
            self.tools.add(PythonTool(self.limits))
        unknown = [t for t in self.options.tools if t not in self.tools and "__" not in t]
        if unknown:
            known = ", ".join(self.tools.names())
            raise BackendConfigError(f"unknown tool {unknown[0]!r}; available tools: {known}")
        self.chosen: tuple[str, ...] | None = tuple(self.options.tools) or None
        """The tool names the current chat uses (None: all); set by ``choose_tools``."""
        self.network_blocked = tools_isolated()
        """True when tools run isolated; else they are refused, or run unisolated by opt-in."""
        tools_off = None if self.network_blocked or self.limits.unisolated else sandbox_refusal()
        self.gate = ApprovalGate(self.options.approve, self.network_blocked, tools_off)
        base = llm_backend.info
        capabilities = {*base.capabilities, "tools"}
        if not self.network_blocked and self.limits.unisolated:
            capabilities.add("tools-unisolated")
        if tools_off is not None:
            capabilities.add("tools-off")
        self.info = BackendInfo(
            name="agent", model=base.model, device=base.device, capabilities=frozenset(capabilities)
        )
        self.native_protocol = wants_internlm2(self.options.protocol, llm_backend)
        """True when the model calls tools with InternLM2's own tokens."""
        self.server_tools = (
            not self.native_protocol
            and self.options.protocol in ("auto", "openai")
            and isinstance(llm_backend, StreamsTools)
        )
        """True when tools go in the server's OpenAI ``tools`` parameter (until it rejects them)."""
        self._rejected: set[str] = set()
        """The endpoints (URL and model) that refused ``tools``: ReAct from then on."""

    def answer(self, call_id: str, approved: bool, reason: str = "") -> None:
        """The UI's answer to an ``ApprovalRequest`` (thread-safe); ``reason`` explains a denial."""
        self.gate.answer(call_id, approved, reason)

    def choose_tools(self, names: tuple[str, ...] | None) -> None:
        """The tools the next turns may call (the chat's choice; None: the default)."""
        self.chosen = names if names is not None else (tuple(self.options.tools) or None)

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams, *, cancel: threading.Event
    ) -> Iterator[BackendEvent]:
        """Run one agent turn; ends with exactly one ``Done`` or ``Error``."""
        context = LoopContext(
            self.llm_backend, self.options, self.limits, self.gate, self.tools.chosen(self.chosen)
        )
        inputs, notes = gather_inputs(messages)
        python = self.tools.get("python")
        if isinstance(python, PythonTool):
            python.inputs = inputs
        messages = with_inputs_note(messages, describe_inputs(inputs, notes))
        llm = self.llm_backend
        endpoint = f"{llm.info.device} {llm.info.model}"
        if self.server_tools and endpoint not in self._rejected and isinstance(llm, StreamsTools):
            try:
                yield from OpenAIToolsLoop(context, llm).run(messages, params, cancel)
                return
            except ToolsRejected as rejected:
                self._rejected.add(endpoint)
                note = f"[the server refused the tools parameter ({rejected}); using the ReAct prompt]\n"
                yield ThoughtDelta(note)
        loop = InternLM2Loop(context) if self.native_protocol else ReActLoop(context)
        yield from loop.run(messages, params, cancel)

    def close(self) -> None:
        """Stop the MCP servers and close the wrapped backend."""
        if self.mcp is not None:
            self.mcp.close()
        self.llm_backend.close()
