"""Asks why a tool call is denied (Enter sends the reason to the model, Esc goes back)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

MAX_REASON = 2000


class DenyReasonScreen(ModalScreen[str | None]):
    """Returns the typed reason ("" is a plain denial), or None to go back to the dialog."""

    BINDINGS = [Binding("escape", "cancel", "Back", id="deny_reason.cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Why not? (sent to the model; Enter denies, Esc goes back)")
            yield Input(
                placeholder="e.g. use the file in the working folder instead",
                id="reason",
                max_length=MAX_REASON,
            )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        """Back to the approval dialog, nothing answered."""
        self.dismiss(None)
