"""A user's prompt in the chat pane, shown exactly as typed (never parsed as markup)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from backends.events import Attachment
from tui.sanitize import sanitize

if TYPE_CHECKING:
    from tui.store.store import RowRef

# Laying out a huge paste would freeze the UI for seconds on every resize, so the pane shows
# the start of it; the whole prompt is still sent, saved and exported.
DISPLAY_LIMIT = 20_000


class UserMessage(Static):
    """One user prompt."""

    def __init__(self, text: str, *, header: str = "", attachments: tuple[Attachment, ...] = ()) -> None:
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
        """The stored message this shows (None until its row is written)."""
        self.row: RowRef | None = None
        """The row a message drawn live was queued as (its id once the history writer made it)."""
        self.border_title = "you"
        self.attachments = attachments
        """Files sent with this prompt, drawn below it (``AttachmentView``)."""

    async def on_mount(self) -> None:
        """Draw the attached files right below the prompt (pictures or lines of text)."""
        parent = self.parent
        if self.attachments and isinstance(parent, Widget):
            from tui.attachments import loaded_from
            from tui.widgets.attachment_view import AttachmentView

            views = [AttachmentView(loaded_from(a)) for a in self.attachments]
            await parent.mount_all(views, after=self)
