"""Turns stored messages back into chat-pane widgets when a conversation is reopened."""

from __future__ import annotations

from textual.widget import Widget

from backends.events import Usage
from tui.store.store import StoredMessage
from tui.widgets.assistant_message import AssistantMessage
from tui.widgets.status_line import format_usage
from tui.widgets.user_message import UserMessage

_STATUS_NOTES = {
    "cancelled": "stopped",
    "error": "⚠ ended with an error",
    "interrupted": "⚠ interrupted (the app stopped while this reply was streaming)",
    "streaming": "streaming in another window",
}


def note_for(message: StoredMessage) -> str:
    """The line under a stored reply: its status when not done, then its figures."""
    usage = Usage(
        prompt_tokens=message.prompt_tokens or 0,
        completion_tokens=message.completion_tokens or 0,
        ttft_s=message.ttft_s,
        tokens_per_s=message.tokens_per_s,
    )
    parts = [_STATUS_NOTES.get(message.status, ""), format_usage(usage)]
    return " · ".join(part for part in parts if part)


def widget_for(message: StoredMessage) -> Widget:
    """A finished widget for one stored message."""
    if message.role == "user":
        return UserMessage(message.content)
    return AssistantMessage(message.content, note=note_for(message))
