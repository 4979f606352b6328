"""Turns stored messages back into chat-pane widgets when a conversation is reopened."""

from __future__ import annotations

from textual.widget import Widget

from backends.events import Attachment, Usage
from tui.session import Version
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


def version_label(version: Version | None) -> str:
    """``‹ 2/3 ›`` for a message with other versions, else nothing."""
    return f"‹ {version.index}/{version.count} ›" if version is not None else ""


def note_for(message: StoredMessage, version: Version | None = None) -> str:
    """The line under a stored reply: its version, status when not done, model, then its figures."""
    usage = Usage(
        prompt_tokens=message.prompt_tokens or 0,
        completion_tokens=message.completion_tokens or 0,
        ttft_s=message.ttft_s,
        tokens_per_s=message.tokens_per_s,
    )
    parts = [
        version_label(version),
        _STATUS_NOTES.get(message.status, ""),
        message.model,
        format_usage(usage),
    ]
    return " · ".join(part for part in parts if part)


def widget_for(
    message: StoredMessage, version: Version | None = None, files: tuple[Attachment, ...] = ()
) -> Widget:
    """A finished widget for one stored message, knowing its id, which version it is and the
    files sent with it."""
    widget: UserMessage | AssistantMessage
    if message.role == "user":
        widget = UserMessage(message.content, header=version_label(version), attachments=files)
    else:
        widget = AssistantMessage(message.content, note=note_for(message, version), attachments=files)
    widget.message_id = message.id
    return widget
