"""The scrolling conversation: user prompts and streamed replies, following the newest text."""

from __future__ import annotations

from collections.abc import Iterator

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget

from backends.events import Attachment
from tui.widgets.assistant_message import AssistantMessage
from tui.widgets.laid_out_once import LaidOutOnce
from tui.widgets.reply_segment import ReplySegment
from tui.widgets.user_message import UserMessage


class ChatPane(VerticalScroll, LaidOutOnce, can_focus=True):
    """Follows the stream while anchored; scrolling up releases the anchor until the user returns."""

    BINDINGS = [
        Binding("pageup", "page_up", "Page up", show=False, id="chat.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="chat.page_down"),
        Binding("home", "scroll_home", "Top", show=False, id="chat.top"),
        Binding("end", "scroll_end", "Bottom", show=False, id="chat.bottom"),
        Binding("up", "select(-1)", "Previous message", show=False, id="chat.select_previous"),
        Binding("down", "select(1)", "Next message", show=False, id="chat.select_next"),
        Binding("left", "act('previous_version')", "‹ Version", id="chat.message_previous_version"),
        Binding("right", "act('next_version')", "Version ›", id="chat.message_next_version"),
        Binding("e", "act('edit')", "Edit", id="chat.message_edit"),
        Binding("r", "act('regenerate')", "Regenerate", id="chat.message_regenerate"),
        Binding("b", "act('branch')", "Branch here", id="chat.message_branch"),
        Binding("d", "act('delete')", "Delete branch", id="chat.message_delete"),
        Binding("c", "act('copy')", "Copy", id="chat.message_copy"),
    ]

    _width = 0  # the width replies were last laid out at

    class NearTop(Message):
        """The user scrolled to the top: older messages may be loaded above."""

    class Act(Message):
        """The user asked for ``action`` on the selected ``message`` (edit, regenerate, …)."""

        def __init__(self, action: str, message: Widget) -> None:
            super().__init__()
            self.action = action
            self.message = message

    @property
    def messages(self) -> list[UserMessage | AssistantMessage]:
        """The message widgets, top to bottom."""
        return [child for child in self.children if isinstance(child, UserMessage | AssistantMessage)]

    @property
    def selected(self) -> UserMessage | AssistantMessage | None:
        """The message the cursor is on (None when nothing is selected)."""
        return next((m for m in self.messages if m.has_class("selected")), None)

    def select(self, message: Widget | None) -> None:
        """Put the cursor on ``message`` (None: no cursor) and bring it into view."""
        for other in self.messages:
            other.set_class(other is message, "selected")
        if message is not None:
            self.anchor(False)
            self.scroll_to_widget(message, animate=False)

    def on_focus(self) -> None:
        """Focusing the pane puts the cursor on the newest message, ready for an action."""
        if self.selected is None and self.messages:
            self.select(self.messages[-1])

    def on_blur(self) -> None:
        self.select(None)

    def action_select(self, step: int) -> None:
        """Move the cursor to the previous (-1) or next (+1) message."""
        messages = self.messages
        if not messages:
            return
        current = self.selected
        index = messages.index(current) + step if current is not None else len(messages) - 1
        self.select(messages[max(0, min(len(messages) - 1, index))])

    def action_act(self, action: str) -> None:
        """Ask the screen to do ``action`` on the selected message."""
        if self.selected is not None:
            self.post_message(self.Act(action, self.selected))

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
        """Fold reply pieces more than a screen away from the view; unfold those near it, and
        give a finished reply's plain pieces near it their Markdown.

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
                for box in message.boxes:
                    height = box.outer_size.height
                    near = not (piece_top + height < near_top or piece_top > near_bottom)
                    segment = next(iter(box.query_children(ReplySegment)), None)
                    if segment is None:
                        if near:
                            message.show_markdown(box)
                    elif near:
                        segment.unfold()
                    else:
                        segment.fold()
                    piece_top += height
            top += message.outer_size.height

    async def add_user(self, text: str, attachments: tuple[Attachment, ...] = ()) -> UserMessage:
        """Append a user prompt (with the files sent with it) and scroll to it."""
        message = UserMessage(text, attachments=attachments)
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
