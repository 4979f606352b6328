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
    """A rough token count of ``messages`` without a tokenizer: a CJK character is about a
    token, other text about ``CHARS_PER_TOKEN`` characters a token."""
    total = 0
    for message in messages:
        wide = sum(1 for ch in message.content if _is_cjk(ch))
        total += wide + (len(message.content) - wide) // CHARS_PER_TOKEN + PER_MESSAGE_TOKENS
    return total


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return 0x3040 <= code <= 0x9FFF or 0xAC00 <= code <= 0xD7AF or 0xF900 <= code <= 0xFAFF


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
    # Whole turns only: the kept part starts with a prompt. Leaving more out never makes the
    # prompt longer, so the fewest to leave out is found by halving (a few counts, not one per turn).
    starts = [0, *(i for i in range(1, len(messages)) if messages[i].role == "user")]

    def fits(dropped: int) -> bool:
        use = measure(backend, [*system, *messages[dropped:]], measured if not dropped else None)
        return use is None or use.tokens + reply_tokens <= window

    if not fits(starts[-1]):
        return None
    low, high = 0, len(starts) - 1
    while low < high:
        middle = (low + high) // 2
        if fits(starts[middle]):
            high = middle
        else:
            low = middle + 1
    return starts[low]
