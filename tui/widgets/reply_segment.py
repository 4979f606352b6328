"""One piece of a reply's Markdown, which folds away while it is far off screen.

Textual places every widget of the screen again on each layout, so a long chat would make every
streamed word cost time in proportion to everything above it. A folded piece keeps its height
(so scrolling and the scrollbar stay right) but hides its blocks, which then cost nothing; it
unfolds before it comes into view. Only pieces whose text is final fold.
"""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import Markdown


class ReplySegment(Markdown):
    """A Markdown piece of a reply; ``sealed`` once its text is final."""

    def __init__(self, markdown: str, *, sealed: bool) -> None:
        # Links are never opened on a click: the model chose them, so the URL is shown instead.
        super().__init__(markdown, classes="body", open_links=False)
        self.sealed = sealed
        self._hidden: list[Widget] = []

    @property
    def folded(self) -> bool:
        """Whether the blocks are hidden behind a fixed height."""
        return bool(self._hidden)

    def fold(self) -> None:
        """Hide the blocks, keeping the height they take (only for sealed, laid out pieces)."""
        height = self.outer_size.height
        if self.folded or not self.sealed or height <= 0:
            return
        self.styles.height = height
        self._hidden = [child for child in self.children if child.display]
        for child in self._hidden:
            child.display = False

    def unfold(self) -> None:
        """Show the blocks again, at their natural height."""
        if not self.folded:
            return
        for child in self._hidden:
            child.display = True
        self._hidden = []
        self.styles.clear_rule("height")
