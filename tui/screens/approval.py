"""Asks the user to approve the exact code an agent wants to run (y / n, Esc stops the turn).

Keys pressed before the prompt is armed (``ARMING_S`` after it opens) are ignored, so keys
typed ahead for the chat are never taken as consent.
"""

from __future__ import annotations

import time

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from backends.events import ApprovalRequest
from tui.sanitize import reveal, sanitize

ARMING_S = 0.5


class ApprovalScreen(ModalScreen[bool | None]):
    """Dismisses with True (run), False (deny) or None (stop the turn)."""

    BINDINGS = [
        Binding("y", "answer(True)", "Run it", id="approval.yes"),
        Binding("n", "answer(False)", "Deny", id="approval.no"),
        Binding("escape", "stop", "Stop turn", id="approval.stop"),
    ]

    def __init__(self, request: ApprovalRequest, arming_s: float = ARMING_S) -> None:
        super().__init__()
        self.request = request
        self._arming_s = arming_s
        self._armed_at = time.monotonic() + arming_s
        self.ignored_keys = 0

    def compose(self) -> ComposeResult:
        request = self.request
        with Vertical(id="approval-dialog"):
            yield Static(
                Text(f"The agent wants to run this {sanitize(request.name)} code:", style="bold"),
                classes="panel-title",
            )
            with VerticalScroll(id="approval-code"):
                yield Static(Syntax(reveal(request.code), "python", word_wrap=True, line_numbers=True))
            sandbox = "Runs in a sandbox: separate process, temp folder, no API keys, time/memory limits, "
            sandbox += (
                "no network."
                if request.network_blocked
                else "NOT ISOLATED: it can read your files and use the network."
            )
            yield Static(Text(sandbox), id="approval-note")
            yield Static(Text("wait…"), id="approval-keys")

    def on_mount(self) -> None:
        self._armed_at = time.monotonic() + self._arming_s
        self.set_timer(self._arming_s, self._show_armed)

    def _show_armed(self) -> None:
        self.query_one("#approval-keys", Static).update(Text("y run it · n deny · Esc stop the agent"))

    @property
    def armed(self) -> bool:
        return time.monotonic() >= self._armed_at

    def action_answer(self, yes: bool) -> None:
        """Approve or deny (ignored until armed)."""
        if not self.armed:
            self.ignored_keys += 1
            return
        self.dismiss(yes)

    def action_stop(self) -> None:
        """Deny and stop the agent's turn."""
        self.dismiss(None)
