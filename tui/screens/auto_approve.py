"""Asks once per start whether the config file's ``approve = "auto"`` may take effect.

Shown before the first tool call of a run whose auto-approve comes from the config file rather
than the command line. Keys are armed like the approval dialog's (typing never answers), and
anything but a deliberate ``y`` leaves the agent asking before every call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.sanitize import sanitize
from tui.screens.arming import ARMING_S, KeyArming


class AutoApproveConfirm(ModalScreen[bool]):
    """Dismisses with True (run tool calls without asking from now on) or False (keep asking)."""

    BINDINGS = [
        Binding("y", "answer(True)", "Auto-approve", id="auto_approve.yes"),
        Binding("n", "answer(False)", "Keep asking", id="auto_approve.no"),
        Binding("escape", "keep_asking", "Keep asking", show=False, id="auto_approve.cancel"),
    ]

    def __init__(
        self, config_path: Path, arming_s: float = ARMING_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.config_path = config_path
        self.arming = KeyArming(arming_s, clock)

    def compose(self) -> ComposeResult:
        question = (
            f'{sanitize(str(self.config_path))} sets approve = "auto": the agent wants to run code, '
            "and every tool call would run without showing it to you first. "
            "Allow that until the app exits?"
        )
        with Vertical(id="dialog"):
            yield Static(Text(question), id="question")
            yield Static(Text("y run without asking · n / Esc ask me each time"), id="auto-approve-keys")

    def on_mount(self) -> None:
        self.arming.opened()

    def on_key(self, event: events.Key) -> None:
        """Every key press restarts the arming delay (runs before the key's binding)."""
        self.arming.key_pressed()

    def action_answer(self, yes: bool) -> None:
        """Answer; a key pressed without a pause before it is ignored."""
        if self.arming.key_counts:
            self.dismiss(yes)

    def action_keep_asking(self) -> None:
        """Esc: keep asking before every tool call."""
        self.dismiss(False)
