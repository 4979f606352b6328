"""The conversation list on the left; filled in by the history feature."""

from __future__ import annotations

from rich.text import Text
from textual.containers import Vertical
from textual.widgets import Static


class HistorySidebar(Vertical):
    """Lists saved conversations (placeholder until history is stored)."""

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(Text("History"), classes="panel-title")
