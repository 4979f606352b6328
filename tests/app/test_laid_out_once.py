"""Growing a streaming reply's box lays the screen out once, not twice (``LaidOutOnce``).

Textual stores the virtual size a layout gives each widget in a reactive that asks for another
layout, so every widget whose size changed costs a second layout of the whole screen. The same
pane, box and text are built from Textual's own containers and from ours; the stock ones show
that the wait below is long enough to see that second layout happen.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Static

from testkit.app import settle, wait_for
from tui.widgets.laid_out_once import LaidOutOnce
from tui.widgets.piece_box import PieceBox


class OurPane(VerticalScroll, LaidOutOnce):
    pass


class OurText(Static, LaidOutOnce):
    pass


class Growing(App[None]):
    def __init__(self, ours: bool) -> None:
        super().__init__()
        self.ours = ours

    def compose(self) -> ComposeResult:
        text = OurText("streamed text") if self.ours else Static("streamed text")
        box = PieceBox(text) if self.ours else Vertical(text, classes="piece")
        box.styles.height = 30  # already longer than the pane: its scrollbar is there
        pane = OurPane(box) if self.ours else VerticalScroll(box)
        pane.anchor()
        yield pane


async def layouts_for_growth(pilot: Pilot[None], box: Widget, height: int) -> int:
    """How many times the screen is laid out after the box is given ``height`` rows."""
    screen = pilot.app.screen
    laid_out = screen._refresh_layout
    count = 0

    def counting(*args: object, **kwargs: object) -> None:
        nonlocal count
        count += 1
        laid_out(*args, **kwargs)  # type: ignore[arg-type]

    screen._refresh_layout = counting  # type: ignore[method-assign]
    box.styles.height = height
    await wait_for(pilot, lambda: box.outer_size.height == height)
    for _ in range(3):  # each layout asked for by the one before has run
        await settle(pilot)
        await pilot.pause(0.05)
    return count


async def grown(ours: bool) -> int:
    """Layouts for one growth of the box, after checking that the pane is still right."""
    app = Growing(ours)
    async with app.run_test(size=(60, 20)) as pilot:
        pane = app.query_one(VerticalScroll)
        box = app.query_one(".piece")
        await wait_for(pilot, lambda: box.outer_size.height == 30)
        count = await layouts_for_growth(pilot, box, 80)
        # Still right with one layout: the pane knows its new length and follows the end.
        assert pane.virtual_size.height == 80
        assert pane.max_scroll_y == 80 - pane.scrollable_content_region.height
        await wait_for(pilot, lambda: pane.scroll_y == pane.max_scroll_y)
        assert pane.show_vertical_scrollbar
        return count


async def test_a_grown_box_lays_the_screen_out_once_where_textual_does_it_twice() -> None:
    assert await grown(ours=False) == 2
    assert await grown(ours=True) == 1
