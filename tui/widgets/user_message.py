"""A user's prompt in the chat pane, shown exactly as typed (never parsed as markup)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.sanitize import sanitize

# Laying out a huge paste would freeze the UI for seconds on every resize, so the pane shows
# the start of it; the whole prompt is still sent, saved and exported.
DISPLAY_LIMIT = 20_000


class UserMessage(Static):
    """One user prompt."""

    def __init__(self, text: str, *, header: str = "") -> None:
        shown = sanitize(text[:DISPLAY_LIMIT])
        if len(text) > DISPLAY_LIMIT:
            shown += f"\n… ({len(text):,} characters in all; the whole prompt is sent and saved)"
        content = Text()
        if header:  # "‹ 2/3 ›": this prompt has other versions (edits)
            content.append(header + "\n", style="dim")
        content.append(shown)
        super().__init__(content, classes="message user")
        self.raw_text = text
        self.message_id: int | None = None
        """The stored message this shows (None until it is read back from history)."""
        self.border_title = "you"
