"""A user's prompt in the chat pane, shown exactly as typed (never parsed as markup)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.sanitize import sanitize


class UserMessage(Static):
    """One user prompt."""

    def __init__(self, text: str) -> None:
        super().__init__(Text(sanitize(text)), classes="message user")
        self.raw_text = text
        self.border_title = "you"
