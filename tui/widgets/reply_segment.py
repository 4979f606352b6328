"""One piece of a reply's Markdown, which folds away while it is far off screen.

Textual places every widget of the screen again on each layout, so a long chat would make every
streamed word cost time in proportion to everything above it. A folded piece is hidden whole
(one widget, so a layout does not even visit its blocks) while the box it sits in keeps its
height (so scrolling and the scrollbar stay right); it unfolds before it comes into view. Only
pieces whose text is final fold.
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
        self.folded = False
        """Whether the piece is hidden behind its box's fixed height."""

    @property
    def box_height(self) -> int:
        """Rows the piece's box takes (its own height while folded), from the last layout."""
        box = self.parent
        return box.outer_size.height if isinstance(box, Widget) else self.outer_size.height

    def fold(self) -> None:
        """Hide the piece, its box keeping the height (only for sealed, laid out pieces)."""
        box, height = self.parent, self.box_height
        if self.folded or not self.sealed or height <= 0 or not isinstance(box, Widget):
            return
        box.styles.height = height
        self.display = False
        self.folded = True

    def unfold(self) -> None:
        """Show the piece again; its box takes its natural height."""
        if not self.folded:
            return
        self.display = True
        if isinstance(self.parent, Widget):
            self.parent.styles.clear_rule("height")
        self.folded = False
