"""The sources of the last grounded reply: pick one to read its passage with file and lines.

Paths and passages come from the user's files, which may hold escape sequences: everything is
sanitised plain text, never markup.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from kb.grounding import label
from kb.hit import Hit
from tui.sanitize import sanitize


def _rank(name: str, rank: int | None) -> str:
    return f"{name} #{rank}" if rank is not None else f"{name} -"


class SourcesScreen(ModalScreen[None]):
    """A list of numbered sources and the excerpt of the one under the cursor."""

    BINDINGS = [Binding("escape,q", "close", "Close", id="sources.close")]

    def __init__(self, hits: Sequence[Hit], cited: Sequence[int] = ()) -> None:
        super().__init__()
        self.hits = list(hits)
        self.cited = set(cited)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="kb-sources"):
            yield Static(Text("Sources of the last reply (Esc closes)"), classes="title")
            options = []
            for number, hit in enumerate(self.hits, start=1):
                mark = "*" if number in self.cited else " "
                ranks = f"{_rank('bm25', hit.bm25_rank)} {_rank('dense', hit.dense_rank)}"
                text = f"{mark}[{number}] {label(hit)}  score {hit.score:.4f}  ({ranks})"
                options.append(Option(Text(sanitize(text).replace("\n", " ")), id=str(number)))
            yield OptionList(*options, id="source-list")
            with VerticalScroll(id="excerpt-scroll"):
                yield Static("", id="excerpt")

    def on_mount(self) -> None:
        listing = self.query_one(OptionList)
        listing.focus()
        if self.hits:
            listing.highlighted = 0
            self.show(0)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.show(event.option_index)

    def show(self, index: int) -> None:
        """Show the passage of source ``index`` (0-based) with its file, lines and heading."""
        hit = self.hits[index]
        where = f"{hit.folder}/{label(hit)}" if hit.folder else label(hit)
        heading = f"\n§ {hit.heading}" if hit.heading else ""
        body = f"{where}{heading}\n\n{hit.text}"
        self.query_one("#excerpt", Static).update(Text(sanitize(body)))

    def action_close(self) -> None:
        """Back to the chat."""
        self.dismiss(None)
