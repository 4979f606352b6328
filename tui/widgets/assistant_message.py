"""An assistant reply: Markdown that streams in, then a one-line note (stats or what went wrong).

What keeps a long stream cheap (see ``benchmarks/README.md``):

* While the reply streams, nothing is mounted into it and nothing is laid out again but the box
  it grows in: its text is drawn by one plain ``StreamTail`` that already looks as the Markdown
  will (``tui.markdown_look``), however long it gets. Finished blocks are drawn once; a redraw
  parses the one block still being written and repaints the rows that changed. Only a finished
  quote, table, rule or HTML block, which the plain drawing does not know, is mounted as
  Markdown at once, with a new box and tail below it. (Moving every finished block into
  Markdown widgets as it came laid the screen out twice a move, a tenth of a second of UI time
  each at 4,000 tokens; cutting the drawing into a new box every 2,000 characters mounted a
  box, which also lays the screen out twice.)
* Once the reply has ended (or was stopped), a long plain drawing is cut into boxes at the
  pieces it drew (``_cut_plain_piece``), and each becomes a Markdown widget of the same height,
  so nothing moves, when it first comes near the view (``show_markdown``): a long reply's far
  pieces are never built unless the user scrolls to them.
* A redraw is one frame (``App.batch_update``), never a half-done seal.
* The finished reply is a column of pieces cut at safe places (``tui.markdown_split``), each in
  its own box, so the Markdown that replaces a plain piece parses one short piece, and far
  pieces fold.
* The last box keeps empty room below the text, three quarters of a screen at a time where the
  text reaches the bottom of the view, so the pane scrolls (every row of it sent again) once per
  three quarters of a screen; half a screen sent a third more bytes per token.
* Fragments are drawn together, at most 8 times a second, less often when redraws get slow or
  the end of the reply is out of view.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Region
from textual.message import Message
from textual.timer import Timer
from textual.widget import MountError, Widget
from textual.widgets import Markdown, Static

from tui.markdown_look import drawn_runs
from tui.markdown_split import last_block_end, split_segments
from tui.sanitize import sanitize
from tui.widgets.laid_out_once import LaidOutOnce
from tui.widgets.piece_box import PieceBox
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
PACING = 3.0
"""Waiting PACING times as long as the last redraw took keeps streaming to about a quarter of
the UI's time, however long the reply (and however slow the machine) gets."""


class AssistantMessage(Vertical, LaidOutOnce):
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
        self._writing = ""  # what follows them: the block still being written
        self._pending: list[str] = []
        self._flush_timer: Timer | None = None
        self._drawing = asyncio.Lock()  # one flush (or the finish) at a time
        self._interval = FLUSH_INTERVAL_S
        self._box: Widget | None = None  # while streaming: the last box and its tail
        self._stream: StreamTail | None = None
        self._to_markdown: set[Widget] = set()  # plain pieces whose Markdown is on its way

    def compose(self) -> ComposeResult:
        if self.finished:
            for segment in split_segments(self.text):
                yield PieceBox(ReplySegment(sanitize(segment), sealed=True))
        else:
            self._stream = StreamTail()
            self._box = PieceBox(self._stream)
            yield self._box
        yield Static(Text(sanitize(self._note_text)), classes="note")

    async def on_mount(self) -> None:
        if self.attachments:
            await self.show_files(self.attachments)
        if not self.finished:
            self._room.styles.height = 0  # grows as text comes (``_keep_room``)

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
        """The Markdown pieces showing the reply, in order (each in its own box; none until the
        reply has ended)."""
        return [piece for box in self.query_children(".piece") for piece in box.query_children(ReplySegment)]

    @property
    def _room(self) -> Widget:
        """The last box: while streaming, of fixed height, with its tail in it."""
        assert self._box is not None, "only a streaming reply has a tail"
        return self._box

    @property
    def _tail(self) -> StreamTail:
        assert self._stream is not None, "only a streaming reply has a tail"
        return self._stream

    @property
    def _text_end(self) -> Region:
        """The row where the streaming text ends, on the screen."""
        room = self._room.region
        rows = self._tail.rows(self._room.content_region.width)
        return Region(room.x, room.y + max(0, min(rows, room.height) - 1), room.width, 1)

    async def append(self, fragment: str) -> None:
        """Add streamed text; it is drawn with whatever else arrives before the next redraw."""
        if self.finished or not fragment:
            return
        self.text += fragment
        self._pending.append(fragment)
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(self._interval, self._flush)

    async def _flush(self) -> None:
        """Draw the waiting fragments: finished blocks for good, then the block being written."""
        self._flush_timer = None
        started = time.perf_counter()
        # One frame for the whole change: a piece sealed and the next begun are drawn together.
        async with self._drawing:
            with self.app.batch_update():
                await self._draw_pending()
        self.call_after_refresh(self._pace, started)

    def _pace(self, started: float) -> None:
        """Set the next wait from how long this redraw took (layout and paint included); the
        longest while the end of the reply is out of view (the user scrolled up)."""
        took = time.perf_counter() - started
        pane = self.parent
        seen = not isinstance(pane, Widget) or self.finished or pane.region.overlaps(self._text_end)
        wait = PACING * took if seen else MAX_FLUSH_INTERVAL_S
        self._interval = min(MAX_FLUSH_INTERVAL_S, max(FLUSH_INTERVAL_S, wait))

    async def _draw_pending(self) -> None:
        if self.finished or not self._pending:
            return
        self._writing += sanitize("".join(self._pending))  # every cut below is made on what is shown
        self._pending = []
        end = last_block_end(self._writing)
        if end:
            blocks, self._writing = self._writing[:end], self._writing[end:]
            await self._add_blocks(blocks)
        self._tail.show(self._writing)
        self._keep_room()  # now, so that new text is not cut off for a frame
        self.call_after_refresh(self._keep_room)  # and once a sealed piece is laid out

    async def _add_blocks(self, blocks: str) -> None:
        """Add finished blocks (sanitised): those the plain drawing knows to the last box's
        drawing (which cuts them into pieces where the Markdown will be cut); quotes, tables,
        rules and HTML as Markdown, in a box of their own."""
        for run, drawn in drawn_runs(blocks):
            if drawn:
                self._tail.show("", finished=run)
            elif run.strip():
                await self._seal_piece(markdown=run)

    async def _seal_piece(self, *, markdown: str) -> None:
        """Give the last box the height of its text (and the blank row the Markdown keeps under
        it, which a resize re-wraps); a new box below takes the room that is left, with a new
        tail; ``markdown`` goes between them as a Markdown piece.

        The rows the box gives up are the ones the new box gets, so the reply keeps its height
        (less what the Markdown piece takes).
        """
        room, tail = self._room, self._tail
        boxes: list[Widget] = [PieceBox(ReplySegment(markdown, sealed=True))]
        if not tail.text:  # nothing to seal: the Markdown goes above the empty piece
            await self.mount_all(boxes, before=room)
            return
        tail.show("")  # the block being written goes on in the new piece
        height = room.styles.height
        current = int(height.value) if height is not None and height.is_cells else room.outer_size.height
        used = tail.rows(room.content_region.width) + tail.bottom
        tail.add_class("-finished")
        room.styles.clear_rule("height")
        self._stream = StreamTail()
        self._box = new_room = PieceBox(self._stream)
        new_room.styles.height = max(0, current - used)
        await self.mount_all([*boxes, new_room], before=self.query_one(".note"))

    def _keep_room(self) -> None:
        """Grow the last box when its text no longer fits (after a layout).

        Where the text reaches the bottom of the view, by three quarters of a screen (each scroll
        repaints the whole pane, so the fewer the better; the end of the text then sits a quarter
        of a screen from the top); higher up, by two lines (which moves nothing above).
        """
        pane = self.parent
        if self.finished or not isinstance(pane, Widget):
            return
        room, tail = self._room, self._tail
        height = room.styles.height
        current = int(height.value) if height is not None and height.is_cells else room.outer_size.height
        needed = tail.rows(room.content_region.width)
        if needed < current:
            return
        view = pane.scrollable_content_region
        ends_inside = room.region.y + needed + 2 < view.bottom
        room.styles.height = needed + (2 if ends_inside else max(3, view.height * 3 // 4))
        self.post_message(self.Moved())

    async def finish(self, note: str | None = None) -> None:
        """Stop streaming: the pieces keep their plain drawing, at their natural height, until
        they come near the view (``ChatPane.fold_offscreen``), when their Markdown takes their
        place (``show_markdown``); building the Markdown of a whole long reply at once would
        hold the UI for a second or more.

        ``note`` replaces the line under the reply; ``None`` leaves it as it is.
        """
        if not self.finished:
            async with self._drawing:
                if self._flush_timer is not None:
                    self._flush_timer.stop()
                    self._flush_timer = None
                rest = self._writing + sanitize("".join(self._pending))
                self._writing, self._pending = "", []
                self.finished = True
                with self.app.batch_update():
                    await self._add_blocks(rest)
                    self._tail.add_class("-finished")  # now as high as its text
                    self._room.styles.clear_rule("height")
                self.post_message(self.Moved())
        if note is not None:
            self.set_note(note)

    @property
    def boxes(self) -> list[Widget]:
        """The boxes the pieces sit in, in order (each holds a Markdown piece or a plain one)."""
        return list(self.query_children(".piece"))

    def show_markdown(self, box: Widget) -> None:
        """Put the Markdown of a finished plain piece in its place (soon; once)."""
        if not self.finished or box in self._to_markdown:
            return
        for tail in box.query_children(StreamTail):
            self._to_markdown.add(box)
            self.call_later(self._swap_in_markdown, box, tail)

    async def _swap_in_markdown(self, box: Widget, tail: StreamTail) -> None:
        async with self._drawing:  # after ``finish`` has given the last box all of its text
            if not box.is_attached or tail.parent is not box:
                return
            with self.app.batch_update():
                if len(tail.pieces) > 1:
                    await self._cut_plain_piece(box, tail)
                    return
                segment = ReplySegment("", sealed=True)
                await box.mount(segment, before=tail)
                try:
                    if not segment.is_attached:
                        raise MountError("the reply is gone")
                    await segment.update(tail.text)  # its blocks are mounted before the tail goes
                except MountError:
                    return  # the reply went while this waited (another chat, the app closing)
                await tail.remove()

    async def _cut_plain_piece(self, box: Widget, tail: StreamTail) -> None:
        """Put a plain drawing longer than a Markdown piece in plain boxes, one for each of its
        pieces (drawn the same, so nothing moves); those near the view then get their Markdown
        one by one, the others when they come near."""
        boxes: list[Widget] = [PieceBox(piece) for piece in tail.cut()]
        box.display = False  # a layout while the new boxes mount counts the text once
        try:
            await self.mount_all(boxes, after=box)
        except MountError:
            box.display = True
            return  # the reply went while this waited
        await box.remove()
        self._to_markdown.discard(box)
        self.post_message(self.Moved())

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
