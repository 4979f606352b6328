"""Text a turn's worker thread has read but the UI thread has not taken yet.

Posting one message per token costs the UI thread a loop wake-up and a dispatch for every
token; at 100 tokens/s that is a tenth of its drawing budget. The worker puts each piece here
and posts a wake-up only for the first piece after the UI last took the text, so the UI handles
one message per batch. Nothing waits on the worker: a stalled backend holds no text back.
"""

from __future__ import annotations

import threading


class TokenInbox:
    """A thread-safe text buffer with a one-shot "wake the reader" flag."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pieces: list[str] = []
        self._wake_pending = False

    def put(self, text: str) -> bool:
        """Add ``text`` (worker thread); True when the reader must be woken (no wake pending)."""
        with self._lock:
            self._pieces.append(text)
            if self._wake_pending:
                return False
            self._wake_pending = True
            return True

    def take(self) -> str:
        """Everything put since the last take, in order (reader thread); the next put wakes again."""
        with self._lock:
            text = "".join(self._pieces)
            self._pieces.clear()
            self._wake_pending = False
            return text
