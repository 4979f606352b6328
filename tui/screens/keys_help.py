"""F1: every key of the app in one scrollable list, grouped by where it works, keymap applied.

Textual's own help panel shows only the focused widget's keys, in a column too narrow for
80x24; this list is the one place that shows them all.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from tui.keymap import binding_groups


def keys_table(keymap: dict[str, str]) -> Table:
    """A two-column table: keys, and what they do, under a heading per section."""
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right", style="bold", no_wrap=True)
    table.add_column()
    for title, rows in binding_groups(keymap):
        table.add_row("", Text(title, style="bold underline"))
        for keys, description in rows:
            table.add_row(Text(keys.replace(",", " / ")), Text(description))
        table.add_row("", "")
    return table


class KeysHelp(ModalScreen[None]):
    """The list of keys; F1 or Esc closes it, page up/down scroll it."""

    BINDINGS = [Binding("escape,f1", "close", "Close", id="keys_help.close")]

    def __init__(self, keymap: dict[str, str]) -> None:
        super().__init__()
        self._keymap = keymap

    def compose(self) -> ComposeResult:
        with Vertical(id="keys-dialog"):
            yield Label("Keys — every action is also in ctrl+p · Esc closes")
            with VerticalScroll(id="keys-list"):
                yield Static(keys_table(self._keymap))

    def on_mount(self) -> None:
        self.query_one("#keys-list").focus()

    def action_close(self) -> None:
        """Back to the chat."""
        self.dismiss(None)
