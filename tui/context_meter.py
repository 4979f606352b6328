"""How full the model's context is, and what to leave out when a prompt would overflow it (no UI).

Exact where the backend counts tokens with its own tokenizer (local models); else measured from
the server's usage figures of the last reply plus an estimate for the text added since (about
four characters a token), marked as an estimate. Nothing is ever cut silently: ``plan`` says how
many of the oldest messages must be left out, and the user chooses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from backends.base import ChatBackend, CountsTokens
from backends.events import ChatMessage

CHARS_PER_TOKEN = 4
"""A rough average for English text and code; Chinese text is nearer one or two characters a token,
which is why an estimate is always marked as one."""
PER_MESSAGE_TOKENS = 4
"""What a chat template adds around each message (role markers), roughly."""


@dataclass(frozen=True, slots=True)
class ContextUse:
    """Tokens the next prompt takes, the model's window (None: unknown), whether it is estimated."""

    tokens: int
    window: int | None
    estimated: bool

    def label(self, dropped: int = 0) -> str:
        """``ctx 1.2k/8.2k`` (``~`` when estimated), with how many oldest messages are not sent."""
        tilde = "~" if self.estimated else ""
        text = f"ctx {tilde}{_short(self.tokens)}" + (f"/{_short(self.window)}" if self.window else "")
        return text + (f" ({dropped} oldest not sent)" if dropped else "")


def _short(tokens: int) -> str:
    return f"{tokens / 1000:.1f}k" if tokens >= 1000 else str(tokens)


def estimate(messages: Sequence[ChatMessage]) -> int:
    """A rough token count of ``messages`` without a tokenizer."""
    return sum(len(m.content) // CHARS_PER_TOKEN + PER_MESSAGE_TOKENS for m in messages)


@dataclass
class Measured:
    """The server's own count after a reply: ``tokens`` for the first ``messages`` messages."""

    messages: int
    tokens: int


def measure(
    backend: ChatBackend | None, messages: Sequence[ChatMessage], measured: Measured | None
) -> ContextUse | None:
    """How many tokens ``messages`` take on ``backend`` (None before a backend is loaded)."""
    if backend is None:
        return None
    window = backend.info.context_window
    if not messages:
        return ContextUse(0, window, estimated=False)
    if isinstance(backend, CountsTokens):
        try:
            counted = backend.count_tokens(messages)
        except Exception:  # a template that rejects this conversation: the meter estimates instead
            counted = None
        if counted is not None:
            return ContextUse(counted, window, estimated=False)
    if measured is not None and measured.messages <= len(messages):
        return ContextUse(measured.tokens + estimate(messages[measured.messages :]), window, estimated=True)
    return ContextUse(estimate(messages), window, estimated=True)


def oldest_to_drop(
    backend: ChatBackend | None,
    system: list[ChatMessage],
    messages: Sequence[ChatMessage],
    reply_tokens: int,
    measured: Measured | None,
) -> int | None:
    """How many of the oldest messages must be left out so the prompt and a reply of
    ``reply_tokens`` fit: 0 when it fits, None when even the last message alone does not fit."""
    if backend is None or backend.info.context_window is None:
        return 0
    window = backend.info.context_window
    for dropped in range(len(messages)):
        if dropped and messages[dropped].role != "user":
            continue  # leave out whole turns: the kept part starts with a prompt
        use = measure(backend, [*system, *messages[dropped:]], measured if not dropped else None)
        if use is None or use.tokens + reply_tokens <= window:
            return dropped
    return None
