"""The unfinished end of a streaming reply: plain text in a box whose height its owner sets.

Textual lays out the whole screen whenever a widget may have changed size, and a Markdown block
that grows by a word does exactly that on every redraw. This widget only repaints: it draws the
block still being written as plain text (never parsed as markup), and its height changes only
when the text outgrows the room its owner (``AssistantMessage``) gave it. A new word then costs
wrapping one block of text and repainting the rows it can have changed.
"""

from __future__ import annotations

from textual.content import Content
from textual.geometry import Region
from textual.widget import Widget


class StreamTail(Widget):
    """Shows ``text`` as it is; ``rows`` says how many lines that takes at a width."""

    def __init__(self) -> None:
        super().__init__(classes="tail")
        self._content = Content("")
        self._rows: tuple[int, int] = (0, 0)  # (width, lines) of the text shown

    @property
    def text(self) -> str:
        """What is shown (already sanitised by the caller)."""
        return self._content.plain

    def show(self, text: str) -> None:
        """Show ``text`` in place of what was there; repaints, never lays out again.

        Text that only grew is repainted from its old last line down (a word added at the end
        can only re-wrap that line), so only rows that can have changed are drawn and sent.
        """
        old, (old_width, old_rows) = self._content.plain, self._rows
        self._content, self._rows = Content(text), (0, 0)
        width = self.content_region.width
        rows = self.rows(width)
        if old and text.startswith(old) and width == old_width and old_rows:
            first = old_rows - 1
            self.refresh(Region(0, first, width, max(1, rows - first)))
        else:
            self.refresh()

    def rows(self, width: int) -> int:
        """Lines the text takes at ``width`` cells (0 for no text)."""
        if not self._content.plain or width <= 0:
            return 0
        if self._rows[0] != width or not self._rows[1]:
            self._rows = (width, self._content.get_height(self.styles.get_rules(), width))
        return self._rows[1]

    def render(self) -> Content:
        return self._content
