"""The conversation being shown: the messages sent to the backend on the next turn."""

from __future__ import annotations

from dataclasses import dataclass, field

from backends.events import ChatMessage


@dataclass
class Conversation:
    """Ordered messages plus the system prompt; no UI here so it is easy to test."""

    system: str | None = None
    messages: list[ChatMessage] = field(default_factory=list)
    conversation_id: int | None = None
    dropped: int = 0
    """How many of the oldest messages are left out of what is sent, because the model's context
    is full (they stay in history and on screen); the user chose this."""

    def add(self, message: ChatMessage) -> None:
        """Append one message."""
        self.messages.append(message)

    def for_backend(self) -> list[ChatMessage]:
        """What the backend sees: the system prompt (if any) then every message not dropped."""
        prefix = [ChatMessage("system", self.system)] if self.system else []
        return prefix + list(self.messages[self.dropped :])

    def clear(self) -> None:
        """Start over, keeping the system prompt."""
        self.messages.clear()
        self.conversation_id = None
        self.dropped = 0
