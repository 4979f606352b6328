"""The agent's steps on the right: thoughts, tool calls (code highlighted), approval, output, time.

Keyboard: the panel takes focus (tab / F3); up / down move between steps, enter or space
expands or collapses the step under the cursor. All model and tool text goes through
``sanitize`` and is shown as plain text (Rich ``Text`` / ``Syntax``), never parsed as markup.
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.console import Console, Group, RenderableType
from rich.syntax import Syntax
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from backends.events import ApprovalRequest, Attachment, Error, ThoughtDelta, ToolCall, ToolResult
from kb.grounding import label
from kb.hit import Hit
from tui.sanitize import sanitize

TraceEvent = ThoughtDelta | ToolCall | ToolResult | ApprovalRequest | Error


@dataclass
class StepData:
    """What one step shows."""

    kind: str  # thought / tool / note / server
    text: str = ""
    name: str = ""
    call_id: str = ""
    output: str | None = None
    ok: bool | None = None
    approval: str = ""
    elapsed_s: float | None = None
    started: float = 0.0
    files: list[str] = field(default_factory=list)
    """One line per image the tool produced (name, size, WxH); the pictures follow the step."""


class TraceStep(Static):
    """One step; collapsed it shows a one-line summary."""

    def __init__(self, number: int, data: StepData) -> None:
        super().__init__(classes="trace-step")
        self.number = number
        self.data = data
        self.expanded = True

    def toggle(self) -> None:
        self.expanded = not self.expanded
        self.update_view()

    def on_mount(self) -> None:
        self.update_view()

    def header(self) -> Text:
        d = self.data
        mark = "▾" if self.expanded else "▸"
        if d.kind == "thought":
            took = f"  {d.elapsed_s:.1f} s" if d.elapsed_s is not None else ""
            return Text(f"{mark} {self.number} thought{took}", style="bold")
        if d.kind == "note":
            return Text(f"{mark} {self.number} stopped", style="bold red")
        if d.kind == "server":
            bad = d.ok is False
            return Text(
                f"{mark} {self.number} MCP {sanitize(d.name)}: {sanitize(d.text)}",
                style="bold red" if bad else "bold",
            )
        if d.kind == "sources":
            return Text(f"{mark} {self.number} {d.name}", style="bold")
        state = "running" if d.ok is None else ("ok" if d.ok else "failed")
        parts = [f"{mark} {self.number} {sanitize(d.name)}", state]
        if d.approval:
            parts.append(d.approval)
        if d.elapsed_s is not None:
            parts.append(f"{d.elapsed_s:.2f} s")
        return Text("  ".join(parts), style="bold" if d.ok is not False else "bold red")

    def body(self) -> list[RenderableType]:
        d = self.data
        if d.kind in ("thought", "note", "sources"):
            return [Text(sanitize(d.text.strip()))]
        if d.kind == "server":
            return []
        lexer = "python" if d.name == "python" else "json"
        parts: list[RenderableType] = [
            Syntax(sanitize(d.text), lexer, word_wrap=True, background_color="default")
        ]
        if d.output is not None:
            parts.append(Text(sanitize(d.output.rstrip()) or "(no output)", style="" if d.ok else "red"))
        return parts

    def _renderable(self) -> Group:
        parts: list[RenderableType] = [self.header()]
        if self.expanded:
            parts.extend(self.body())
        return Group(*parts)

    def update_view(self) -> None:
        self.update(self._renderable())

    def plain_text(self, width: int = 60) -> str:
        """What the step shows, as plain text (for tests and copying)."""
        console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
        console.print(self._renderable())
        return console.export_text()


class TracePanel(VerticalScroll, can_focus=True):
    """A keyboard-navigable list of the agent's steps."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Prev step", id="trace.prev"),
        Binding("down", "cursor(1)", "Next step", id="trace.next"),
        Binding("enter,space", "toggle_step", "Expand/collapse", id="trace.toggle"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.cursor = -1
        self.network_note_shown = False

    def on_mount(self) -> None:
        self.border_title = "trace"
        self.anchor()

    @property
    def steps(self) -> list[TraceStep]:
        return list(self.query(TraceStep))

    def _tool(self, call_id: str) -> TraceStep | None:
        for step in reversed(self.steps):
            if step.data.kind == "tool" and step.data.call_id == call_id:
                return step
        return None

    async def _add(self, data: StepData) -> TraceStep:
        step = TraceStep(len(self.steps) + 1, data)
        await self.mount(step)
        if self.cursor < 0 or not self.has_focus:
            self._move_to(len(self.steps) - 1)
        return step

    async def add_event(self, event: TraceEvent) -> None:
        """Show one agent event (a thought piece extends the current thought step)."""
        steps = self.steps
        last = steps[-1] if steps else None
        if isinstance(event, ThoughtDelta):
            if last is not None and last.data.kind == "thought" and not last.has_class("closed"):
                last.data.text += event.text
                last.update_view()
            else:
                await self._add(StepData("thought", event.text, started=time.monotonic()))
            return
        if last is not None and not last.has_class("closed"):
            last.add_class("closed")
            if last.data.kind == "thought" and last.data.started:
                last.data.elapsed_s = time.monotonic() - last.data.started
                last.update_view()
        if isinstance(event, ToolCall):
            await self._add(
                StepData("tool", event.arguments, event.name, event.call_id, started=time.monotonic())
            )
        elif isinstance(event, ApprovalRequest):
            step = self._tool(event.call_id)
            if step is not None:
                step.data.approval = "awaiting approval"
                step.update_view()
        elif isinstance(event, ToolResult):
            step = self._tool(event.call_id)
            if step is None:
                step = await self._add(StepData("tool", "", "tool", event.call_id))
            step.data.output = event.output
            step.data.ok = event.ok
            step.data.elapsed_s = event.elapsed_s
            step.update_view()
            if event.attachments:
                await self._show_files(step, event.attachments)
        elif isinstance(event, Error):
            await self._add(StepData("note", event.message))

    async def _show_files(self, step: TraceStep, files: Sequence[Attachment]) -> None:
        """Images a tool made, right below its step (pictures where the terminal can draw them,
        else a line: name, size, WxH), with vision's ``AttachmentView``."""
        from tui.attachments import loaded_from
        from tui.widgets.attachment_view import AttachmentView

        loaded = [loaded_from(a) for a in files]
        step.data.files = [item.label for item in loaded]
        await self.mount_all([AttachmentView(item) for item in loaded], after=step)

    async def show_server(self, name: str, state: str, tools: int) -> None:
        """Show an MCP server's status as one line (updated in place when it changes)."""
        text = f"{state} ({tools} tools)" if state == "ready" else state
        failed = state.startswith(("failed", "died"))
        for step in self.steps:
            if step.data.kind == "server" and step.data.name == name:
                step.data.text, step.data.ok = text, not failed
                step.update_view()
                return
        step = await self._add(StepData("server", text, name, ok=not failed))
        step.add_class("closed")

    async def add_sources(self, hits: Sequence[Hit]) -> None:
        """Show the knowledge-base passages sent with a question: file, lines, scores, a preview."""
        lines = []
        for number, hit in enumerate(hits, start=1):
            ranks = " ".join(
                f"{name} #{rank}"
                for name, rank in (("bm25", hit.bm25_rank), ("dense", hit.dense_rank))
                if rank
            )
            preview = " ".join(hit.text.split())[:80]
            lines.append(f"[{number}] {label(hit)}  {hit.score:.4f}  {ranks}\n    {preview}")
        step = await self._add(StepData("sources", "\n".join(lines), f"kb search  {len(hits)} passages"))
        step.add_class("closed")

    def set_approval(self, call_id: str, state: str) -> None:
        """Show whether the user approved a tool call."""
        step = self._tool(call_id)
        if step is not None:
            step.data.approval = state
            step.update_view()

    async def restore(
        self,
        name: str,
        arguments: str,
        output: str | None,
        ok: bool | None,
        elapsed_s: float | None,
        call_id: str,
    ) -> None:
        """Show a saved tool step of a reopened chat (an interrupted one is never re-run)."""
        data = StepData("tool", arguments, name, call_id, output, ok, "", elapsed_s)
        if output is None:
            data.output = "interrupted — not run again"
            data.ok = False
        step = await self._add(data)
        step.add_class("closed")

    async def clear_steps(self) -> None:
        """Empty the panel (new chat)."""
        self.cursor = -1
        await self.remove_children()

    # ----- keyboard ------------------------------------------------------------------------
    def _move_to(self, index: int) -> None:
        steps = self.steps
        if not steps:
            self.cursor = -1
            return
        index = max(0, min(index, len(steps) - 1))
        for i, step in enumerate(steps):
            step.set_class(i == index, "-cursor")
        self.cursor = index
        if self.has_focus:
            self.scroll_to_widget(steps[index], animate=False)

    def action_cursor(self, delta: int) -> None:
        """Move the cursor to the previous / next step."""
        self._move_to(self.cursor + delta)

    def action_toggle_step(self) -> None:
        """Expand or collapse the step under the cursor."""
        steps = self.steps
        if 0 <= self.cursor < len(steps):
            steps[self.cursor].toggle()
