"""A widget whose layout is not redone because the last layout gave it a new scrollable size.

Textual's full layout hands every widget its new size through ``Widget._size_updated``, which
stores the virtual (scrollable) size in a reactive declared ``layout=True``: any widget whose
virtual size changed asks for a second layout of the whole screen, which finds nothing to move
but still arranges every widget and repaints what they cover. While a reply streams, the reply,
its last box, its plain drawing and the pane all change size each time the reply is given more
room, so every growth cost two layouts (the second 8-13 ms of UI time at 4,000 tokens, see
``benchmarks/README.md``). The size came from the layout that just ran, so nothing is missed:
the scrollbars are still updated (``_scroll_update``) and a scrollbar that appears or goes
still lays out again through its own reactive. Textual takes the same path itself after a
scroll (``Screen._refresh_layout`` with ``scroll=True``); the signature is checked in
``tests/unit/test_textual_contract.py``.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.widget import Widget


class LaidOutOnce(Widget):
    """Subclass it for a plain widget, or mix it in after a container's own base (``class
    Box(Vertical, LaidOutOnce)``): Textual takes CSS defaults and type names from the first
    base only."""

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        return super()._size_updated(size, virtual_size, container_size, layout=False)
