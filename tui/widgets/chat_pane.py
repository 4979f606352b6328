"""The scrolling conversation: user prompts and streamed replies, following the newest text."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message

from tui.widgets.assistant_message import AssistantMessage
from tui.widgets.user_message import UserMessage


class ChatPane(VerticalScroll, can_focus=True):
    """Follows the stream while anchored; scrolling up releases the anchor until the user returns."""

    BINDINGS = [
        Binding("pageup", "page_up", "Page up", show=False, id="chat.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="chat.page_down"),
        Binding("home", "scroll_home", "Top", show=False, id="chat.top"),
        Binding("end", "scroll_end", "Bottom", show=False, id="chat.bottom"),
    ]

    class NearTop(Message):
        """The user scrolled to the top: older messages may be loaded above."""

    def on_mount(self) -> None:
        self.anchor()
        self.watch(self, "scroll_y", self._scrolled, init=False)

    def _scrolled(self, value: float) -> None:
        if value <= 0 and self.max_scroll_y > 0:
            self.post_message(self.NearTop())

    async def add_user(self, text: str) -> UserMessage:
        """Append a user prompt and scroll to it."""
        message = UserMessage(text)
        await self.mount(message)
        self.anchor()
        return message

    async def add_assistant(self, text: str = "", *, note: str = "") -> AssistantMessage:
        """Append an assistant reply (empty for one about to stream)."""
        message = AssistantMessage(text, note=note)
        await self.mount(message)
        return message

    async def clear_messages(self) -> None:
        """Remove every message (new chat)."""
        await self.remove_children()
        self.anchor()
