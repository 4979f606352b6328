"""Asks what model or backend to continue the chat with (Enter switches, Esc keeps the current one)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from backends.options import BackendOptions
from tui.model_spec import HINT, parse_model_spec
from tui.sanitize import sanitize


class SwitchModelScreen(ModalScreen[BackendOptions | None]):
    """Returns the options to load, or None if cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="switch_model.cancel")]

    def __init__(self, current: BackendOptions, current_label: str) -> None:
        super().__init__()
        self._current = current
        self._label = current_label

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Switch model — the chat continues on the new one")
            yield Label(Text(f"now: {sanitize(self._label)}"))
            yield Input(placeholder="embedded, ./model, org/name, http://host:23333/v1 …", id="model-spec")
            yield Static(Text(HINT), id="model-spec-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        parsed = parse_model_spec(event.value, self._current)
        if isinstance(parsed, str):
            hint = self.query_one("#model-spec-hint", Static)
            hint.update(Text(sanitize(parsed)))
            hint.add_class("error")
            return
        self.dismiss(parsed)

    def action_cancel(self) -> None:
        """Keep the current model."""
        self.dismiss(None)
