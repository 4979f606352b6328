"""Choose a file on this machine to attach: a path with completion and a filtered folder list.

Type a path (``~`` works); the list below shows the folder it is in, narrowed to names that
start with what follows the last ``/`` (type-ahead), folders first. Only image files are listed
unless the backend's tools take any file. Right arrow takes the grey completion; Enter opens a
folder or attaches a file; Down moves into the list, where Enter does the same. Returns the path
chosen (checked by ``tui.attachments`` afterwards), or None.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from tui.attachments import IMAGE_SUFFIXES
from tui.sanitize import sanitize

MAX_ENTRIES = 500
"""A folder with more matching entries shows the first ones (type more to narrow it)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One name in a folder, and whether it is a folder itself."""

    name: str
    is_dir: bool


def split(value: str) -> tuple[Path, str]:
    """The folder a typed path points into and the start of a name in it (``~`` expanded)."""
    expanded = os.path.expanduser(value) if value else "./"
    folder, _, prefix = expanded.rpartition("/")
    if not expanded.count("/"):
        return Path("."), expanded
    return Path(folder or "/"), prefix


def entries(folder: Path, prefix: str, *, any_file: bool) -> list[Entry]:
    """Folders and (image) files in ``folder`` starting with ``prefix`` (case-insensitive); hidden
    ones only when the prefix starts with a dot. Never opens a file (a fifo cannot block it)."""
    found: list[Entry] = []
    lowered = prefix.lower()
    try:
        with os.scandir(folder) as scan:
            for item in scan:
                name = item.name
                if name.startswith(".") and not prefix.startswith("."):
                    continue
                if not name.lower().startswith(lowered):
                    continue
                try:
                    is_dir = item.is_dir()
                    is_file = item.is_file()
                except OSError:
                    continue
                if is_dir or (is_file and (any_file or Path(name).suffix.lower() in IMAGE_SUFFIXES)):
                    found.append(Entry(name, is_dir))
                if len(found) >= MAX_ENTRIES:
                    break
    except OSError:
        return []
    return sorted(found, key=lambda e: (not e.is_dir, e.name.lower()))


def drawable(text: str) -> bool:
    """Whether ``text`` may go into the path field, which draws its text as it is (a name with
    an escape sequence in it would reach the terminal raw); the list draws names sanitised."""
    return sanitize(text) == text


class PathSuggester(Suggester):
    """Completes the last part of a path to the first matching entry."""

    def __init__(self, any_file: bool) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.any_file = any_file

    async def get_suggestion(self, value: str) -> str | None:
        folder, prefix = split(value)
        if not prefix:
            return None
        found = [e for e in entries(folder, prefix, any_file=self.any_file) if drawable(e.name)]
        if not found:
            return None
        first = found[0]
        return value[: len(value) - len(prefix)] + first.name + ("/" if first.is_dir else "")


class AttachPicker(ModalScreen[str | None]):
    """Returns the path of the file to attach, or None when cancelled."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="attach_picker.cancel"),
        Binding("down", "into_list", "Files", show=False, id="attach_picker.list"),
    ]

    def __init__(self, start: str | None = None, *, any_file: bool = False) -> None:
        super().__init__()
        self.any_file = any_file
        start = start if start is not None else _with_slash(os.getcwd())
        self._start = start if drawable(start) else ""
        self._shown: list[Entry] = []

    def compose(self) -> ComposeResult:
        what = "a file" if self.any_file else "an image (PNG, JPEG, WebP, GIF, BMP)"
        with Vertical(id="dialog", classes="attach-dialog"):
            yield Label(f"Attach {what}\nEnter opens or attaches · → completes · ↓ list · Esc cancels")
            yield Input(
                value=self._start,
                placeholder="path, e.g. ~/Pictures/cat.png",
                suggester=PathSuggester(self.any_file),
                select_on_focus=False,
                id="attach-path",
            )
            yield OptionList(id="attach-files")

    def on_mount(self) -> None:
        path_input = self.query_one(Input)
        path_input.focus()
        path_input.cursor_position = len(path_input.value)
        self._refresh_list(self._start)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._refresh_list(event.value)

    def _refresh_list(self, value: str) -> None:
        folder, prefix = split(value)
        self._shown = entries(folder, prefix, any_file=self.any_file)
        options = self.query_one("#attach-files", OptionList)
        options.clear_options()
        options.add_options(
            [Option(Text(sanitize(e.name) + ("/" if e.is_dir else ""), no_wrap=True)) for e in self._shown]
        )
        if self._shown:
            options.highlighted = 0

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        if not value:
            return
        expanded = os.path.expanduser(value)
        if os.path.isdir(expanded):
            self._open(value)
            return
        options = self.query_one("#attach-files", OptionList)
        if not os.path.lexists(expanded) and self._shown and options.highlighted is not None:
            self._choose(self._shown[options.highlighted])  # type-ahead: the first match
            return
        self.dismiss(expanded)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._choose(self._shown[event.option_index])

    def _choose(self, entry: Entry) -> None:
        path_input = self.query_one(Input)
        folder_part = path_input.value[: len(path_input.value) - len(split(path_input.value)[1])]
        chosen = folder_part + entry.name
        if entry.is_dir and not drawable(entry.name):
            self.notify(
                "This folder's name has control characters: it cannot be opened here.",
                severity="warning",
                markup=False,
            )
            return
        if entry.is_dir:
            self._open(chosen)  # the focus stays where it was: Enter again goes on down
            return
        self.dismiss(os.path.expanduser(chosen))

    def _open(self, folder: str) -> None:
        path_input = self.query_one(Input)
        path_input.value = _with_slash(folder)
        path_input.cursor_position = len(path_input.value)

    def action_into_list(self) -> None:
        """Move from the path into the list of files."""
        options = self.query_one("#attach-files", OptionList)
        if self._shown and not options.has_focus:
            options.focus()

    def action_cancel(self) -> None:
        """Close without attaching."""
        self.dismiss(None)


def _with_slash(folder: str) -> str:
    return folder if folder.endswith("/") else folder + "/"
