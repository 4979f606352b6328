"""Knowledge base: the attached folders with their status; add, remove or re-index.

Folder paths and skip reasons are shown as sanitised plain text. The screen only reports what
the user chose (``KbChoice``); ``tui.kb_controller`` does it, in a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from kb.hit import Status
from tui.sanitize import sanitize


@dataclass(frozen=True, slots=True)
class KbChoice:
    """What the user asked for: add a folder, remove one, or re-index all."""

    action: Literal["add", "remove", "reindex"]
    folder: str = ""


def describe(status: Status) -> str:
    """One folder's status in a few lines."""
    embedded = f"{status.embedded}/{status.chunks} embedded" + (f" ({status.model})" if status.model else "")
    lines = [status.folder, f"  {status.files} files · {status.chunks} passages · {embedded}"]
    if status.skipped:
        skipped = ", ".join(f"{reason} {count}" for reason, count in sorted(status.skipped.items()))
        lines.append(f"  skipped: {skipped}")
    if status.embedding_error:
        lines.append(f"  ⚠ {status.embedding_error} (keyword search only)")
    return "\n".join(lines)


class KnowledgeBaseScreen(ModalScreen[KbChoice | None]):
    """Attached folders; type a folder and Enter to add, ctrl+d removes, ctrl+r re-indexes."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="kb.close"),
        Binding("ctrl+d", "remove", "Remove folder", priority=True, id="kb.remove"),
        Binding("ctrl+r", "reindex", "Re-index", priority=True, id="kb.reindex"),
    ]

    def __init__(self, statuses: Sequence[Status], indexing: bool = False) -> None:
        super().__init__()
        self.statuses = list(statuses)
        self.indexing = indexing

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="kb-manager"):
            state = " (indexing…)" if self.indexing else ""
            yield Static(Text(f"Knowledge base{state}"), classes="title")
            options = [Option(Text(sanitize(describe(s))), id=str(i)) for i, s in enumerate(self.statuses)]
            if not options:
                options = [Option(Text("no folder attached"), id="none", disabled=True)]
            yield OptionList(*options, id="kb-folders")
            yield Input(placeholder="folder to add, then Enter", id="kb-add")
            yield Static(
                Text("Enter adds · ctrl+d removes the highlighted folder · ctrl+r re-indexes · Esc closes"),
                classes="hint",
            )

    def on_mount(self) -> None:
        if self.statuses:  # up / down (after tab) pick the folder ctrl+d removes
            self.query_one(OptionList).highlighted = 0
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        folder = event.value.strip()
        if folder:
            self.dismiss(KbChoice("add", folder))

    def action_remove(self) -> None:
        """Detach the highlighted folder (its index file is kept for next time)."""
        index = self.query_one(OptionList).highlighted
        if index is not None and index < len(self.statuses):
            self.dismiss(KbChoice("remove", self.statuses[index].folder))

    def action_reindex(self) -> None:
        """Check every folder for changes again."""
        self.dismiss(KbChoice("reindex"))

    def action_close(self) -> None:
        """Back to the chat."""
        self.dismiss(None)
