"""Snapshots: the approval dialog for an MCP tool call (server shown, arguments as JSON, hostile
server name sanitised) and the Tools checklist at 80x24 (tools by server, a failed server,
an "always" approval that can be revoked)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from textual.pilot import Pilot

from backends.agent.backend import AgentBackend
from backends.agent.mcp_client import ServerStatus
from backends.agent.steps import shown_arguments
from backends.agent.tools import FunctionTool, ToolOutput, ToolSet
from backends.events import (
    ApprovalRequest,
    BackendEvent,
    ChatMessage,
    Done,
    GenerationParams,
    ThoughtDelta,
    ToolCall,
    code_sha256,
)
from backends.options import AgentOptions
from backends.scripted import ScriptedBackend
from testkit.app import ready_screen, wait_for
from testkit.hostile_text import HOSTILE
from tui.app import InternLMApp
from tui.chat_tools import ChatTools
from tui.screens.approval import ApprovalScreen
from tui.screens.tools import ToolsScreen
from tui.settings import AppSettings


class WaitsForApproval(ScriptedBackend):
    """Streams the steps, then holds the turn open (as the agent does while it waits)."""

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams, *, cancel: threading.Event
    ) -> Iterator[BackendEvent]:
        yield from (event for event in self._next_turn(messages) if not isinstance(event, Done))
        cancel.wait()
        yield Done("cancelled")


def test_mcp_approval_dialog(snap_compare: Any) -> None:
    shown = shown_arguments({"path": "notes/todo.md", "content": "- buy milk\n- call Bob"})
    steps: list[BackendEvent] = [
        ThoughtDelta("I will write the file."),
        ToolCall("c1", "files__write_file", shown),
        ApprovalRequest(
            "c1", "files__write_file", shown, True, code_sha256(shown), f"files{HOSTILE}", "json"
        ),
    ]
    backend = WaitsForApproval([steps])
    app = InternLMApp(AppSettings(), backend_factory=lambda progress: backend)

    async def run_before(pilot: Pilot[None]) -> None:
        await ready_screen(pilot)
        await pilot.press(*"save it", "enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ApprovalScreen))
        await pilot.pause(0.7)  # past the arming delay

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


class FakeHub:
    def statuses(self) -> list[ServerStatus]:
        return [
            ServerStatus("files", "ready", tools=("files__read_file", "files__write_file")),
            ServerStatus("web", "failed", "command not found: npx"),
        ]

    def close(self) -> None:
        pass


def test_tools_screen_80x24(snap_compare: Any) -> None:
    def nothing(arguments: dict[str, Any], cancel: threading.Event) -> ToolOutput:
        return ToolOutput("")

    schema: dict[str, Any] = {"type": "object", "properties": {}}
    tools = ToolSet(
        [
            FunctionTool("files__read_file", "Read a file.", schema, nothing, server="files"),
            FunctionTool("files__write_file", "Write a file.", schema, nothing, server="files"),
            FunctionTool("kb_search", "Search the knowledge base.", schema, nothing, acts=False),
        ]
    )
    agent = AgentBackend(ScriptedBackend(), AgentOptions(), tools=tools, mcp=FakeHub())  # type: ignore[arg-type]
    app = InternLMApp(AppSettings(), backend_factory=lambda progress: agent)

    async def run_before(pilot: Pilot[None]) -> None:
        screen = await ready_screen(pilot)
        screen.session.tools = ChatTools(("python", "files__read_file"), frozenset({"files__read_file"}))
        await pilot.press("f7")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ToolsScreen))
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
