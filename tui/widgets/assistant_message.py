"""An assistant reply: Markdown that streams in, then a one-line note (stats or what went wrong)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownStream

from tui.sanitize import sanitize


class AssistantMessage(Vertical):
    """One reply. ``append`` streams text; ``finish`` renders the whole text once more."""

    def __init__(self, text: str = "", *, note: str = "") -> None:
        super().__init__(classes="message assistant")
        self.border_title = "assistant"
        self._initial = text
        self._note_text = note
        self.text = text
        self._stream: MarkdownStream | None = None
        self.finished = bool(text)

    def compose(self) -> ComposeResult:
        # Links are never opened on a click: the model chose them, so the URL is shown instead.
        yield Markdown(sanitize(self._initial), classes="body", open_links=False)
        yield Static(Text(self._note_text), classes="note")

    @property
    def body(self) -> Markdown:
        """The Markdown widget holding the reply."""
        return self.query_one(".body", Markdown)

    async def append(self, fragment: str) -> None:
        """Add streamed text; MarkdownStream batches fragments that arrive faster than it renders."""
        if self.finished or not fragment:
            return
        self.text += fragment
        if self._stream is None:
            self._stream = Markdown.get_stream(self.body)
        await self._stream.write(sanitize(fragment))

    async def finish(self, note: str | None = None) -> None:
        """Stop streaming and render the final text in full (fixes any partial-parse artefacts).

        ``note`` replaces the line under the reply; ``None`` leaves it as it is.
        """
        self.finished = True
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
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
