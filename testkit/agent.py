"""Scripted agent turns shared by the agent tests."""

from __future__ import annotations

from backends.agent.backend import AgentBackend
from backends.agent.mcp_client import McpHub
from backends.agent.tools import ToolSet
from backends.base import ChatBackend, ProgressCallback
from backends.events import BackendEvent, TokenDelta
from backends.options import AgentOptions
from backends.scripted import ScriptedBackend
from tui.app import InternLMApp
from tui.settings import AppSettings

SOLVE = (
    "Thought: I will solve 2x+3=10 with Python.\n"
    "Action: python\n"
    "Action Input: ```python\nx = (10 - 3) / 2\nprint(x)\n```\n"
)


ANSWER = "Thought: the program printed 3.5.\nFinal Answer: x = 3.5"


def words(text: str) -> list[BackendEvent]:
    """A scripted LLM turn that streams ``text`` a few characters at a time."""
    return [TokenDelta(text[i : i + 5]) for i in range(0, len(text), 5)]


def agent_app(
    turns: list[str],
    approve: str = "ask",
    settings: AppSettings | None = None,
    *,
    tools: ToolSet | None = None,
    mcp: McpHub | None = None,
) -> tuple[InternLMApp, ScriptedBackend]:
    """The app over an agent whose model replays ``turns`` (each streamed a few characters at a
    time), with the given tools (default: Python) and MCP servers."""
    llm = ScriptedBackend([words(t) for t in turns])
    agent = AgentBackend(llm, AgentOptions(approve=approve), tools=tools, mcp=mcp)  # type: ignore[arg-type]

    def factory(progress: ProgressCallback) -> ChatBackend:
        return agent

    return InternLMApp(settings or AppSettings(), backend_factory=factory), llm
