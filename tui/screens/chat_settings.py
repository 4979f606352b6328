"""The chat settings screen: system prompt and sampling values of this chat's next replies."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static, TextArea

from backends.events import GenerationParams
from tui.chat_settings import FIELDS, ChatSettings, form_from, parse_form
from tui.sanitize import sanitize


class ChatSettingsScreen(ModalScreen[ChatSettings | None]):
    """Returns the new settings (ctrl+s or Enter in a field), or None (Esc) to keep the old ones."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="chat_settings.save"),
        Binding("escape", "cancel", "Cancel", id="chat_settings.cancel"),
    ]

    def __init__(self, current: ChatSettings, base: GenerationParams) -> None:
        super().__init__()
        self._form = form_from(current)
        self._base = base

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog", classes="settings"):
            yield Label("Chat settings — used by this chat's next replies, saved with it")
            yield Label("System prompt (empty: the model's default)")
            yield TextArea(sanitize(self._form["system"]), id="system", soft_wrap=True, compact=True)
            for name, label in FIELDS:
                with Horizontal(classes="setting"):
                    yield Label(label, classes="setting-label")
                    yield Input(self._form[name], placeholder="model default", id=name, compact=True)
            yield Static("", id="settings-error")
            yield Label("ctrl+s or Enter saves · Esc cancels · Tab moves")

    def on_mount(self) -> None:
        self.query_one("#temperature", Input).focus()

    def _read(self) -> dict[str, str]:
        form = {name: self.query_one(f"#{name}", Input).value for name, _label in FIELDS}
        typed = self.query_one("#system", TextArea).text
        # The box shows control characters as placeholders; left untouched, the original is kept.
        form["system"] = self._form["system"] if typed == sanitize(self._form["system"]) else typed
        return form

    def action_save(self) -> None:
        """Check every field; save, or say in one line what is wrong and stay."""
        parsed = parse_form(self._read(), self._base)
        if isinstance(parsed, str):
            self.query_one("#settings-error", Static).update(Text(sanitize(parsed)))
            return
        self.dismiss(parsed)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_cancel(self) -> None:
        """Keep the settings as they were."""
        self.dismiss(None)
