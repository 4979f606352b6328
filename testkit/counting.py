"""A scripted backend that counts tokens (one per word, one per message) with a small window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from backends.events import BackendEvent, ChatMessage
from backends.scripted import ScriptedBackend


class WordCounter(ScriptedBackend):
    """Replays ``turns``; its "tokenizer" counts words, and its context holds ``window`` tokens."""

    def __init__(self, window: int | None, turns: Sequence[Sequence[BackendEvent]] | None = None) -> None:
        super().__init__(turns)
        self.info = replace(self.info, context_window=window)

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int | None:
        return sum(len(m.content.split()) + 1 for m in messages)
