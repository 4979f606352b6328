"""An assistant reply: Markdown that streams in, then a one-line note (stats or what went wrong).

What keeps a long stream cheap (see ``benchmarks/README.md``):

* Only finished Markdown blocks go into Markdown widgets. The block still being written is drawn
  by one plain ``StreamTail`` under the last piece, in a box of fixed height, so a redraw
  repaints one small widget and lays nothing out (a Markdown block that grows would make Textual
  lay out the whole screen). It already looks as the Markdown will (``tui.markdown_look``), so
  finished blocks move into the Markdown (at most once a second) without a visible change.
* A redraw is one frame (``App.batch_update``), never a half-done move or seal.
* The reply is a column of Markdown pieces cut at safe places (``tui.markdown_split``), each in
  its own box, so adding a block parses and lays out one short piece, not the whole reply.
* The last box keeps empty room below the text, three quarters of a screen at a time where the
  text reaches the bottom of the view, so the pane scrolls (every row of it sent again) once per
  three quarters of a screen; half a screen sent a third more bytes per token.
* Fragments are drawn together, at most 10 times a second, less often when redraws get slow
  or the end of the reply is out of view.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Markdown, Static

from tui.markdown_split import SEGMENT_CHARS, last_block_end, safe_split_point, split_segments
from tui.sanitize import sanitize
from tui.widgets.reply_segment import ReplySegment
from tui.widgets.stream_tail import StreamTail

if TYPE_CHECKING:
    from collections.abc import Sequence

    from backends.events import Attachment
    from tui.store.store import RowRef

FLUSH_INTERVAL_S = 1 / 8
"""How long streamed fragments wait to be drawn together at least: eight redraws a second read
as smooth text, and each redraw costs the same however many tokens it carries."""
MAX_FLUSH_INTERVAL_S = 0.4
BLOCK_INTERVAL_S = 1.0
"""Finished blocks move from the plain tail into the Markdown at most this often: each move
lays the screen out again, which costs about as much as ten plain redraws."""
PACING = 3.0
"""Waiting PACING times as long as the last redraw took keeps streaming to about a quarter of
the UI's time, however long the reply (and however slow the machine) gets."""


class AssistantMessage(Vertical):
    """One reply. ``append`` streams text; ``finish`` renders the last piece once more in full."""

    class Moved(Message):
        """The reply's height changed (more room while streaming, or the final text): the view
        moves, and pieces it leaves far behind can fold."""

    def __init__(self, text: str = "", *, note: str = "", attachments: Sequence[Attachment] = ()) -> None:
        super().__init__(classes="message assistant")
        self.attachments = tuple(attachments)
        """Images the reply's tools made (a saved plot), drawn below it (``AttachmentView``)."""
        self._last_below: Widget = self
        self.border_title = "assistant"
        self.message_id: int | None = None
        """The stored message this shows (None until its row is written)."""
        self.row: RowRef | None = None
        """The row a message drawn live was queued as (its id once the history writer made it)."""
        self._note_text = note
        self.text = text
        self.finished = bool(text)
        self._piece_text = ""  # the source of the Markdown piece being filled, block by block
        self._tail_text = ""  # what follows it: the block still being written
        self._pending: list[str] = []
        self._flush_timer: Timer | None = None
        self._drawing = asyncio.Lock()  # one flush (or the finish) at a time
        self._interval = FLUSH_INTERVAL_S
        self._blocks_moved = 0.0  # when finished blocks last moved into the Markdown

    def compose(self) -> ComposeResult:
        for segment in split_segments(self.text) if self.text else [""]:
            with Vertical(classes="piece"):
                yield ReplySegment(sanitize(segment), sealed=self.finished)
        yield Static(Text(sanitize(self._note_text)), classes="note")

    async def on_mount(self) -> None:
        if self.attachments:
            await self.show_files(self.attachments)
        if not self.finished:
            room = self._room
            room.styles.height = 0  # grows as text comes (``_keep_room``)
            await room.mount(StreamTail())

    async def show_files(self, files: Sequence[Attachment]) -> None:
        """Draw images a tool made for this reply below it, in the order they came."""
        parent = self.parent
        if not files or not isinstance(parent, Widget):
            return
        from tui.attachments import loaded_from
        from tui.widgets.attachment_view import AttachmentView

        views = [AttachmentView(loaded_from(a)) for a in files]
        await parent.mount_all(views, after=self._last_below)
        self._last_below = views[-1]

    @property
    def segments(self) -> list[ReplySegment]:
        """The Markdown pieces showing the reply, in order (each in its own box)."""
        return [piece for box in self.query_children(".piece") for piece in box.query_children(ReplySegment)]

    @property
    def _room(self) -> Widget:
        """The last piece's box: while streaming, of fixed height, with the tail at its end."""
        return self.query_children(".piece").last()

    @property
    def _tail(self) -> StreamTail:
        return self._room.query_children(StreamTail).first()

    async def append(self, fragment: str) -> None:
        """Add streamed text; it is drawn with whatever else arrives before the next redraw."""
        if self.finished or not fragment:
            return
        self.text += fragment
        self._pending.append(fragment)
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(self._interval, self._flush)

    async def _flush(self) -> None:
        """Draw the waiting fragments: finished blocks into the Markdown, the rest in the tail."""
        self._flush_timer = None
        started = time.perf_counter()
        # One frame for the whole change: between the awaits of a block move or a piece seal,
        # Textual would otherwise paint half-done states (a blank piece, a block shown twice).
        async with self._drawing:
            with self.app.batch_update():
                await self._draw_pending()
        self.call_after_refresh(self._pace, started)

    def _pace(self, started: float) -> None:
        """Set the next wait from how long this redraw took (layout and paint included); the
        longest while the end of the reply is out of view (the user scrolled up)."""
        took = time.perf_counter() - started
        pane = self.parent
        seen = not isinstance(pane, Widget) or pane.region.overlaps(self._room.region)
        wait = PACING * took if seen else MAX_FLUSH_INTERVAL_S
        self._interval = min(MAX_FLUSH_INTERVAL_S, max(FLUSH_INTERVAL_S, wait))

    async def _draw_pending(self) -> None:
        if self.finished or not self._pending:
            return
        self._tail_text += "".join(self._pending)
        self._pending = []
        now = time.monotonic()
        end = last_block_end(self._tail_text) if now - self._blocks_moved >= BLOCK_INTERVAL_S else 0
        if end:
            self._blocks_moved = now
            blocks, self._tail_text = self._tail_text[:end], self._tail_text[end:]
            await self._add_blocks(blocks)
        # Every finished block ends with one blank row (its margin) in the Markdown above.
        self._tail.show(sanitize(self._tail_text), above=1 if self._piece_text else 0)
        self._keep_room()  # now, so that new text is not cut off for a frame
        self.call_after_refresh(self._keep_room)  # and once the blocks are laid out

    async def _add_blocks(self, blocks: str, *, draw_last: bool = True) -> None:
        """Append finished blocks to the last piece, cut into pieces at safe places.

        A piece that reached its length is sealed before more is added, which is usually at a
        later redraw, once its height is known (it is the height the reply must keep). Without
        ``draw_last``, what goes into the last piece is only noted (the caller renders it).
        """
        while blocks:
            if len(self._piece_text) >= SEGMENT_CHARS:
                await self._seal_piece()
            cut = safe_split_point(self._piece_text + blocks)
            take = len(blocks) if cut is None else cut - len(self._piece_text)
            if cut is not None or draw_last:
                await self.segments[-1].append(sanitize(blocks[:take]))
            self._piece_text += blocks[:take]
            blocks = blocks[take:]

    async def _seal_piece(self) -> None:
        """Shrink the last piece's box to its text; a new box below takes the room and the tail.

        The rows the box gives up are the ones the new box gets, so the reply keeps its height.
        """
        room, tail, piece = self._room, self._tail, self.segments[-1]
        piece.sealed = True
        self._piece_text = ""
        height = room.styles.height
        spare = int(height.value) - piece.outer_size.height if height is not None and height.is_cells else 0
        new_room = Vertical(classes="piece")
        if spare > 0:
            new_room.styles.height = spare
        await tail.remove()
        room.styles.clear_rule("height")
        await self.mount(new_room, before=self.query_one(".note"))
        if new_room.is_attached:  # not when the app is closing
            # Mounted here rather than given to the box, so that they are in place on return.
            await new_room.mount_all([ReplySegment("", sealed=False), StreamTail()])

    def _keep_room(self) -> None:
        """Grow the last piece's box when its Markdown and tail no longer fit (after a layout).

        Where the text reaches the bottom of the view, by three quarters of a screen (each scroll
        repaints the whole pane, so the fewer the better; the end of the text then sits a quarter
        of a screen from the top); higher up, by two lines (which moves nothing above).
        """
        pane = self.parent
        if self.finished or not isinstance(pane, Widget):
            return
        room, tail, piece = self._room, self._tail, self.segments[-1]
        height = room.styles.height
        current = int(height.value) if height is not None and height.is_cells else room.outer_size.height
        needed = piece.outer_size.height + tail.rows(room.content_region.width)
        if needed < current:
            return
        view = pane.scrollable_content_region
        ends_inside = room.region.y + needed + 2 < view.bottom
        room.styles.height = needed + (2 if ends_inside else max(3, view.height * 3 // 4))
        self.post_message(self.Moved())

    async def finish(self, note: str | None = None) -> None:
        """Stop streaming and render the last piece in full.

        ``note`` replaces the line under the reply; ``None`` leaves it as it is.
        """
        if not self.finished:
            async with self._drawing:
                if self._flush_timer is not None:
                    self._flush_timer.stop()
                    self._flush_timer = None
                rest = self._tail_text + "".join(self._pending)
                self._tail_text, self._pending = "", []
                self.finished = True
                await self._add_blocks(rest, draw_last=False)
                piece = self.segments[-1]
                await piece.update(sanitize(self._piece_text))
                piece.sealed = True
                for tail in self._room.query_children(StreamTail):
                    await tail.remove()
                self._room.styles.clear_rule("height")
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
