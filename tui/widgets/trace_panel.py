"""The agent's steps on the right: thoughts, tool calls, outputs and timings."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from backends.events import ThoughtDelta, ToolCall, ToolResult
from tui.sanitize import sanitize

TraceEvent = ThoughtDelta | ToolCall | ToolResult


class TracePanel(VerticalScroll, can_focus=True):
    """A simple list of trace steps; each event becomes (or extends) one line."""

    def on_mount(self) -> None:
        self.border_title = "trace"
        self.anchor()

    async def add_event(self, event: TraceEvent) -> None:
        """Show one agent event."""
        if isinstance(event, ThoughtDelta):
            line = f"thought: {event.text}"
        elif isinstance(event, ToolCall):
            line = f"call {event.name}: {event.arguments}"
        else:
            status = "ok" if event.ok else "error"
            line = f"result {status}: {event.output}"
        await self.mount(Static(Text(sanitize(line)), classes="trace-step"))

    async def clear_steps(self) -> None:
        """Empty the panel (new chat)."""
        await self.remove_children()
