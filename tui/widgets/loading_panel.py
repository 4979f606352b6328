"""Shown while the backend loads: the stage, a progress bar and the time so far.

The title names a model (from flags or a resumed chat), stages and errors may quote a server
(its model list, its error text): all of it is sanitised plain text, never markup.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

from tui.sanitize import sanitize


class LoadingPanel(Vertical):
    """A banner at the top of the chat pane until the model is ready (or failed)."""

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._title = title
        self._stage = "starting…"
        self._started = time.monotonic()

    def compose(self) -> ComposeResult:
        yield Static(Text(sanitize(self._title)), classes="title")
        yield Static(Text(sanitize(self._stage)), classes="stage")
        yield ProgressBar(total=100, show_eta=False)

    def on_mount(self) -> None:
        self.set_interval(0.5, self._tick)

    def _tick(self) -> None:
        elapsed = time.monotonic() - self._started
        self.query_one(".stage", Static).update(Text(f"{sanitize(self._stage)}  ({elapsed:.0f} s)"))

    def set_stage(self, stage: str, fraction: float | None) -> None:
        """Show a new stage; ``None`` leaves the bar where it is."""
        self._stage = stage
        self._tick()
        if fraction is not None:
            self.query_one(ProgressBar).update(progress=round(fraction * 100))

    def show_error(self, message: str) -> None:
        """Replace the stage by a one-line error."""
        self._stage = message
        self.add_class("error")
        self.query_one(".stage", Static).update(Text(sanitize(message)))
        self.query_one(ProgressBar).display = False
        for timer in list(self._timers):
            timer.stop()
