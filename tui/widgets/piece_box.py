"""The box one piece of a reply sits in (its plain drawing while it streams, then its Markdown)."""

from __future__ import annotations

from textual.containers import Vertical
from textual.widget import Widget

from tui.widgets.laid_out_once import LaidOutOnce


class PieceBox(Vertical, LaidOutOnce):
    """A ``.piece``: while the reply streams, the last box has a fixed height that its owner
    (``AssistantMessage``) grows; a finished box is as high as what it holds."""

    def __init__(self, *children: Widget) -> None:
        super().__init__(*children, classes="piece")
