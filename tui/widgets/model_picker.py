"""A small modal that lists the server's models and returns the one picked (Esc keeps the current one).

The list is fetched in a thread worker (a slow server never freezes the UI); the worker only
posts a message, and the handler fills the OptionList. Model names come from a server, so
they are sanitised and shown as plain text.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from tui.sanitize import one_line, sanitize


@runtime_checkable
class SwitchesModels(Protocol):
    """A backend that can list a server's models and switch between them (the remote backend)."""

    def list_models(self) -> list[str]: ...

    def use_model(self, model: str) -> None: ...


class ModelPicker(ModalScreen[str | None]):
    """Returns the chosen model name, or None if cancelled or nothing could be listed."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="model_picker.cancel")]

    class Listed(Message):
        """The worker fetched the list (or failed, with a one-line reason)."""

        def __init__(self, models: list[str], error: str | None = None) -> None:
            super().__init__()
            self.models = models
            self.error = error

    def __init__(self, backend: SwitchesModels, current: str) -> None:
        super().__init__()
        self._backend = backend
        self._current = current
        self._models: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Model for the next reply")
            yield Label(Text("Asking the server for its models…"), id="model-picker-note")
            yield OptionList(id="models")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self._fetch()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _fetch(self) -> None:
        try:
            models = self._backend.list_models()
        except Exception as exc:  # the server went away: say so in one line, keep the model
            self.post_message(self.Listed([], one_line(str(exc)) or "error"))
            return
        self.post_message(self.Listed(models))

    def on_model_picker_listed(self, message: Listed) -> None:
        note = self.query_one("#model-picker-note", Label)
        options = self.query_one(OptionList)
        if message.error is not None or not message.models:
            note.update(Text(sanitize(message.error or "The server lists no models.")))
            return
        current = sanitize(self._current)
        note.update(Text(f"{len(message.models)} model(s) · Enter picks · Esc keeps {current}"))
        options.add_options(Option(Text(sanitize(name)), id=str(i)) for i, name in enumerate(message.models))
        self._models = message.models
        if self._current in message.models:
            options.highlighted = message.models.index(self._current)
        else:
            options.highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._models[event.option_index])

    def action_cancel(self) -> None:
        """Keep the current model."""
        self.dismiss(None)
