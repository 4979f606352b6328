"""An assistant reply: Markdown that streams in, then a one-line note (stats or what went wrong).

Three things keep a long stream cheap (see ``benchmarks/bench_terminal.py``): fragments are
drawn together, at most 20 times a second and less often when redraws get slow, so a fast
backend costs one repaint per frame rather than one per token; the reply is a column of
Markdown pieces cut at safe places (``tui.markdown_split``), so a new word re-lays out one short
piece, not the whole reply; and while streaming, the reply keeps empty room below its text, so
the pane scrolls once per half screen instead of once per new line (each scroll repaints the
whole pane).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownStream

from tui.markdown_split import safe_split_point, split_segments
from tui.sanitize import sanitize
from tui.widgets.reply_segment import ReplySegment

if TYPE_CHECKING:
    from tui.store.store import RowRef

FLUSH_INTERVAL_S = 1 / 20
"""How long streamed fragments wait to be drawn together at least (shorter than a glance)."""
MAX_FLUSH_INTERVAL_S = 0.4
PACING = 3.0
"""Waiting PACING times as long as the last redraw took keeps streaming to about a quarter of
the UI's time, however long the reply (and however slow the machine) gets."""


class AssistantMessage(Vertical):
    """One reply. ``append`` streams text; ``finish`` renders the last piece once more in full."""

    class Moved(Message):
        """The reply's height changed (more room while streaming, or the final text): the view
        moves, and pieces it leaves far behind can fold."""

    def __init__(self, text: str = "", *, note: str = "") -> None:
        super().__init__(classes="message assistant")
        self.border_title = "assistant"
        self.message_id: int | None = None
        """The stored message this shows (None until its row is written)."""
        self.row: RowRef | None = None
        """The row a message drawn live was queued as (its id once the history writer made it)."""
        self._note_text = note
        self.text = text
        self.finished = bool(text)
        self._segment_text = ""  # the source of the piece being streamed into
        self._stream: MarkdownStream | None = None
        self._pending: list[str] = []
        self._flush_timer: Timer | None = None
        self._drawing = asyncio.Lock()  # one flush (or the finish) at a time
        self._interval = FLUSH_INTERVAL_S

    def compose(self) -> ComposeResult:
        for segment in split_segments(self.text) if self.text else [""]:
            yield ReplySegment(sanitize(segment), sealed=self.finished)
        yield Static(Text(sanitize(self._note_text)), classes="note")

    def on_mount(self) -> None:
        if not self.finished:
            self.watch(self.segments[-1], "virtual_size", self._keep_room, init=False)

    @property
    def segments(self) -> list[ReplySegment]:
        """The Markdown pieces showing the reply, in order."""
        return list(self.query_children(".body").results(ReplySegment))

    async def append(self, fragment: str) -> None:
        """Add streamed text; it is drawn with whatever else arrives before the next redraw."""
        if self.finished or not fragment:
            return
        self.text += fragment
        self._pending.append(fragment)
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(self._interval, self._flush)

    async def _flush(self) -> None:
        """Stream the waiting fragments into the last piece, starting a new one at a safe cut."""
        self._flush_timer = None
        started = time.perf_counter()
        async with self._drawing:
            await self._draw_pending()
        self.call_after_refresh(self._pace, started)

    def _pace(self, started: float) -> None:
        """Set the next wait from how long this redraw took (layout and paint included)."""
        took = time.perf_counter() - started
        self._interval = min(MAX_FLUSH_INTERVAL_S, max(FLUSH_INTERVAL_S, PACING * took))

    async def _draw_pending(self) -> None:
        if self.finished or not self._pending:
            return
        fragment, self._pending = "".join(self._pending), []
        streamed = len(self._segment_text)  # how much of the piece's text is already shown
        self._segment_text += fragment
        while (cut := safe_split_point(self._segment_text)) is not None:
            self._segment_text, rest = self._segment_text[:cut], self._segment_text[cut:]
            await self._seal()  # renders the piece's whole text, streamed or not
            piece = ReplySegment("", sealed=False)
            await self.mount(piece, before=self.query_one(".note"))
            self.watch(piece, "virtual_size", self._keep_room, init=False)
            self._segment_text, streamed = rest, 0
        await self._write(self._segment_text[streamed:])

    async def _write(self, fragment: str) -> None:
        if not fragment:
            return
        if self._stream is None:
            self._stream = Markdown.get_stream(self.segments[-1])
        await self._stream.write(sanitize(fragment))

    async def _seal(self) -> None:
        """End the last piece's stream and render its text once in full."""
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        segment = self.segments[-1]
        await segment.update(sanitize(self._segment_text))
        segment.sealed = True

    def _keep_room(self, _size: Size) -> None:
        """Grow the reply's box half a screen at a time while the text streams into it."""
        pane = self.parent
        if self.finished or not isinstance(pane, Widget):
            return
        view = pane.scrollable_content_region.height
        needed = sum(child.outer_size.height for child in self.children) + self.styles.gutter.height
        room = self.styles.min_height
        if room is not None and room.value >= needed + 2:
            return  # the text still has room to grow into
        # An anchored pane whose content fits shows it at the bottom, with a negative scroll_y:
        # there too, each new line would move every line above it.
        if self.virtual_region.y + needed + 2 < pane.scroll_y + view:
            return  # the text ends well inside the view: growing moves nothing
        self.styles.min_height = needed + max(3, view // 2)
        self.post_message(self.Moved())

    async def finish(self, note: str | None = None) -> None:
        """Stop streaming and render the last piece in full (fixes any partial-parse artefacts).

        ``note`` replaces the line under the reply; ``None`` leaves it as it is.
        """
        if not self.finished:
            async with self._drawing:
                if self._flush_timer is not None:
                    self._flush_timer.stop()
                    self._flush_timer = None
                await self._draw_pending()
                self.finished = True
                await self._seal()
                self.styles.min_height = None
                self.post_message(self.Moved())
        if note is not None:
            self.set_note(note)

    def on_markdown_link_clicked(self, event: Markdown.LinkClicked) -> None:
        """Show where a link points instead of opening it."""
        event.stop()
        self.notify(f"Link (not opened): {event.href}", title="Link", timeout=15)

    def set_note(self, note: str, *, error: bool = False) -> None:
        """Show one line under the reply; untrusted text is displayed, never parsed as markup."""
        self._note_text = note
        label = self.query_one(".note", Static)
        label.update(Text(sanitize(note)))
        label.set_class(error, "error")
