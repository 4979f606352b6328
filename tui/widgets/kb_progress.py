"""A one-line progress bar above the status line while a knowledge base is being indexed.

The chat stays usable meanwhile (indexing runs in a worker thread); the bar hides when done.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static

STAGES = {"scan": "kb: scanning", "index": "kb: indexing files", "embed": "kb: embedding passages"}


class KbProgressBar(Horizontal):
    """Stage, count and bar; hidden (``display = False``) unless indexing."""

    def compose(self) -> ComposeResult:
        yield Static("", classes="kb-stage")
        yield ProgressBar(total=None, show_eta=False, show_percentage=True)

    def on_mount(self) -> None:
        self.display = False

    def show(self, stage: str, done: int, total: int) -> None:
        """Show ``stage`` at ``done`` of ``total`` (0 total: a pulsing bar)."""
        self.display = True
        counts = f" {done}/{total}" if total else ""
        self.query_one(".kb-stage", Static).update(Text(STAGES.get(stage, stage) + counts))
        bar = self.query_one(ProgressBar)
        if total:
            bar.update(total=total, progress=done)
        else:
            bar.update(total=None)

    def hide(self) -> None:
        """Indexing ended."""
        self.display = False
