"""The files attached to the next prompt, listed above it: one line each, removable by keyboard."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.attachments import Loaded
from tui.widgets.attachment_view import caption


class AttachmentList(OptionList):
    """Hidden while nothing is attached; Delete or Backspace takes the highlighted file off."""

    BINDINGS = [
        Binding("delete", "remove", "Remove file", id="attachments.remove"),
        Binding("backspace", "remove", show=False, id="attachments.remove_back"),
        Binding("escape", "leave", "Back to prompt", show=False, id="attachments.leave"),
    ]

    class Remove(Message):
        """The user took the ``index``-th file off the list."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    class Leave(Message):
        """Back to the prompt."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "attached (Tab here, Delete removes)"

    def show(self, items: list[Loaded]) -> None:
        """Draw ``items`` (hidden when there are none), keeping the highlight where it was."""
        highlighted = self.highlighted
        self.clear_options()
        self.add_options([Option(caption(item)) for item in items])
        self.display = bool(items)
        if items:
            self.highlighted = min(highlighted or 0, len(items) - 1)

    def action_remove(self) -> None:
        """Take the highlighted file off the list."""
        if self.highlighted is not None:
            self.post_message(self.Remove(self.highlighted))

    def action_leave(self) -> None:
        """Put the cursor back in the prompt."""
        self.post_message(self.Leave())
