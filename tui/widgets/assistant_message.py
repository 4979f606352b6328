"""An assistant reply: Markdown that streams in, then a one-line note (stats or what went wrong).

Two things keep a long stream cheap on a terminal (see ``benchmarks/bench_terminal.py``):
fragments are handed to the Markdown at most ``FLUSH_INTERVAL_S`` apart, so a fast backend
costs one repaint per frame rather than one per token; and while streaming, the reply keeps
empty room below its text (``room_lines``), so the pane scrolls once per half screen instead of
once per new line (each scroll repaints the whole pane).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownStream

from tui.sanitize import sanitize

FLUSH_INTERVAL_S = 1 / 20
"""How long streamed fragments may wait to be drawn together (shorter than a glance)."""


class AssistantMessage(Vertical):
    """One reply. ``append`` streams text; ``finish`` renders the whole text once more."""

    def __init__(self, text: str = "", *, note: str = "") -> None:
        super().__init__(classes="message assistant")
        self.border_title = "assistant"
        self._initial = text
        self._note_text = note
        self.text = text
        self._stream: MarkdownStream | None = None
        self._pending: list[str] = []
        self._flush_timer: Timer | None = None
        self.finished = bool(text)

    def on_mount(self) -> None:
        if not self.finished:
            self.watch(self.body, "virtual_size", self._keep_room, init=False)

    def compose(self) -> ComposeResult:
        # Links are never opened on a click: the model chose them, so the URL is shown instead.
        yield Markdown(sanitize(self._initial), classes="body", open_links=False)
        yield Static(Text(self._note_text), classes="note")

    @property
    def body(self) -> Markdown:
        """The Markdown widget holding the reply."""
        return self.query_one(".body", Markdown)

    async def append(self, fragment: str) -> None:
        """Add streamed text; it is drawn with whatever else arrives within ``FLUSH_INTERVAL_S``."""
        if self.finished or not fragment:
            return
        self.text += fragment
        self._pending.append(fragment)
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(FLUSH_INTERVAL_S, self._flush)

    async def _flush(self) -> None:
        """Hand the waiting fragments to the MarkdownStream (which parses only the last block)."""
        self._flush_timer = None
        if self.finished or not self._pending:
            return
        fragment, self._pending = "".join(self._pending), []
        if self._stream is None:
            self._stream = Markdown.get_stream(self.body)
        await self._stream.write(sanitize(fragment))

    def _keep_room(self, _size: Size) -> None:
        """Grow the reply's box half a screen at a time while the text streams into it."""
        pane = self.parent
        if self.finished or not isinstance(pane, Widget):
            return
        step = max(3, pane.scrollable_content_region.height // 2)
        needed = self.body.outer_size.height + self.query_one(".note").outer_size.height
        needed += self.styles.gutter.height
        room = self.styles.min_height
        if room is None or room.value < needed + 2:
            self.styles.min_height = needed + step

    async def finish(self, note: str | None = None) -> None:
        """Stop streaming and render the final text in full (fixes any partial-parse artefacts).

        ``note`` replaces the line under the reply; ``None`` leaves it as it is.
        """
        self.finished = True
        self._pending = []
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        self.styles.min_height = None
        await self.body.update(sanitize(self.text))
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
