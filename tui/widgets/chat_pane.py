"""The scrolling conversation: user prompts and streamed replies, following the newest text."""

from __future__ import annotations

from collections.abc import Iterator

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message

from tui.widgets.assistant_message import AssistantMessage
from tui.widgets.reply_segment import ReplySegment
from tui.widgets.user_message import UserMessage


class ChatPane(VerticalScroll, can_focus=True):
    """Follows the stream while anchored; scrolling up releases the anchor until the user returns."""

    BINDINGS = [
        Binding("pageup", "page_up", "Page up", show=False, id="chat.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="chat.page_down"),
        Binding("home", "scroll_home", "Top", show=False, id="chat.top"),
        Binding("end", "scroll_end", "Bottom", show=False, id="chat.bottom"),
    ]

    _width = 0  # the width replies were last laid out at

    class NearTop(Message):
        """The user scrolled to the top: older messages may be loaded above."""

    def on_mount(self) -> None:
        self.anchor()
        self.watch(self, "scroll_y", self._scrolled, init=False)

    def _scrolled(self, value: float) -> None:
        if value <= 0 and self.max_scroll_y > 0:
            self.post_message(self.NearTop())
        self.fold_offscreen()

    def on_resize(self) -> None:
        """A new width re-wraps every reply: unfold everything, fold again once laid out."""
        width = self.size.width
        if width != self._width:
            self._width = width
            for segment in self._segments():
                segment.unfold()
            self.call_after_refresh(self.fold_offscreen)

    def on_assistant_message_moved(self, event: AssistantMessage.Moved) -> None:
        """A reply changed height and the view moved: fold what it left behind, once laid out."""
        event.stop()
        self.call_after_refresh(self.fold_offscreen)

    def _segments(self) -> Iterator[ReplySegment]:
        for message in self.children:
            if isinstance(message, AssistantMessage):
                yield from message.segments

    def fold_offscreen(self) -> None:
        """Fold reply pieces more than a screen away from the view; unfold those near it.

        Positions are summed from the heights of the last layout (each message has a one-line
        top margin), which is cheap and exact enough with a screen to spare on either side.
        """
        screen = self.scrollable_content_region.height
        near_top, near_bottom = self.scroll_y - screen, self.scroll_y + 2 * screen
        top = 0
        for message in self.children:
            top += 1
            if isinstance(message, AssistantMessage):
                piece_top = top
                for segment in message.segments:
                    height = segment.box_height
                    if piece_top + height < near_top or piece_top > near_bottom:
                        segment.fold()
                    else:
                        segment.unfold()
                    piece_top += height
            top += message.outer_size.height

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
