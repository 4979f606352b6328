"""The chat's tools as a checklist (space toggles, Enter or ctrl+s saves, Esc cancels): Python,
knowledge-base search when attached, each MCP tool under its server with the server's status,
and the tools this chat approved "always", which can be revoked here (untick them)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, SelectionList, Static
from textual.widgets.selection_list import Selection

from tui.sanitize import sanitize

ToolsChoice = tuple[tuple[str, ...], frozenset[str]]
"""The tools ticked, and the remembered "always" approvals kept."""


@dataclass(frozen=True, slots=True)
class ToolRow:
    """One tool in the checklist."""

    name: str
    label: str
    server: str = ""
    on: bool = True
    status: str = ""
    """The server's status (ready, failed: reason, died: reason)."""

    def with_status(self, status: str) -> ToolRow:
        return replace(self, status=status)


class ToolsScreen(ModalScreen[ToolsChoice | None]):
    """Returns the ticked tool names and the "always" approvals kept, or None when cancelled."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="tools.cancel"),
        Binding("enter,ctrl+s", "save", "Save", priority=True, id="tools.save"),
    ]

    def __init__(self, rows: list[ToolRow], always: frozenset[str], servers: list[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = rows
        self.always = always
        self.servers = servers
        """(server name, status label) of every configured MCP server."""

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="tools"):
            yield Label("Tools for this chat — space toggles · Enter saves · Esc cancels")
            yield SelectionList[str](
                *(
                    Selection(self._label(row), row.name, row.on, id=f"tool-{index}")
                    for index, row in enumerate(self.rows)
                ),
                id="tools-list",
            )
            if self.servers:
                lines = [f"MCP {sanitize(name)}: {sanitize(label)}" for name, label in self.servers]
                yield Static(Text("\n".join(lines)), id="tools-servers")
            if self.always:
                yield Label("Approved always in this chat (untick to ask again):")
                yield SelectionList[str](
                    *(Selection(Text(sanitize(name)), name, True) for name in sorted(self.always)),
                    id="tools-always",
                )

    @staticmethod
    def _label(row: ToolRow) -> Text:
        text = sanitize(row.label)
        if row.server:
            text = f"{sanitize(row.server)} · {text}"
        return Text(text)

    def on_mount(self) -> None:
        self.query_one("#tools-list", SelectionList).focus()

    def action_save(self) -> None:
        """Keep the ticked tools and the approvals still ticked."""
        chosen = tuple(self.query_one("#tools-list", SelectionList).selected)
        always = frozenset(self.always)
        for kept in self.query("#tools-always").results(SelectionList):
            always = frozenset(kept.selected)
        self.dismiss((tuple(str(n) for n in chosen), frozenset(str(n) for n in always)))

    def action_cancel(self) -> None:
        """Close, changing nothing."""
        self.dismiss(None)
