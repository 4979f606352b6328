"""Keeps the model's KV cache between turns so a new turn processes only its new tokens.

A chat's next prompt is the previous prompt plus the reply plus the new user message, so most
of it was already processed. After each turn the cache and the token ids it covers are kept;
the next prompt is compared token by token with those ids, the cache is cut back to the common
prefix (``Cache.crop``) and only the rest is fed to the model. When the prompt is not a
continuation (an edited message, another conversation, a new system prompt) the common prefix
is short or empty and the work falls back to a full encode by itself. Memory is bounded: one
cache per backend, dropped when it would cover more than ``max_tokens`` tokens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

DEFAULT_MAX_TOKENS = 8192


def common_prefix_length(first: list[int], second: list[int]) -> int:
    """How many leading ids the two lists share."""
    length = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        length += 1
    return length


class PrefixCache:
    """One KV cache and the ids it holds; ``take`` it before generating, ``keep`` it after."""

    def __init__(self, max_tokens: int = DEFAULT_MAX_TOKENS) -> None:
        self.max_tokens = max_tokens
        self._ids: list[int] = []
        self._cache: Any = None

    @property
    def cached_tokens(self) -> int:
        """How many tokens the kept cache covers (0 when empty)."""
        return 0 if self._cache is None else int(self._cache.get_seq_length())

    def take(self, input_ids: torch.Tensor) -> tuple[Any, int]:
        """A cache cut back to the part of ``input_ids`` it already covers, and that length.

        At least one prompt token is always left to process (``generate`` needs one). Returns
        ``(None, 0)`` when nothing can be reused; the kept cache is handed over either way, so a
        failed turn can never leave a half-updated cache behind.
        """
        cache, ids, self._cache, self._ids = self._cache, self._ids, None, []
        if cache is None:
            return None, 0
        prompt = input_ids[0].tolist()
        reusable = min(common_prefix_length(ids, prompt), int(cache.get_seq_length()), len(prompt) - 1)
        if reusable <= 0:
            return None, 0
        surplus = int(cache.get_seq_length()) - reusable
        if surplus:
            cache.crop(-surplus)  # transformers 5: a negative count removes that many tokens from the end
        return cache, reusable

    def keep(self, cache: Any, sequence: torch.Tensor) -> None:
        """Keep ``cache`` after a turn; ``sequence`` is the prompt plus the generated ids."""
        if cache is None or int(cache.get_seq_length()) > self.max_tokens:
            return
        self._cache = cache
        self._ids = sequence[0].tolist()

    def clear(self) -> None:
        """Drop the cache (frees its memory)."""
        self._cache, self._ids = None, []
