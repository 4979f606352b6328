"""A modal list of what can be copied (last reply first); Enter copies, Esc closes."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from tui.copy_choices import CopyChoice
from tui.sanitize import sanitize


class CopyPicker(ModalScreen[CopyChoice | None]):
    """Returns the chosen item, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="copy_picker.cancel")]

    def __init__(self, choices: list[CopyChoice]) -> None:
        super().__init__()
        self._choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Copy — Enter copies · Esc closes")
            yield OptionList(
                *(Option(Text(sanitize(choice.label)), id=str(i)) for i, choice in enumerate(self._choices)),
                id="copy-choices",
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._choices[event.option_index])

    def action_cancel(self) -> None:
        """Close without copying."""
        self.dismiss(None)
