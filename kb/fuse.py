"""Reciprocal rank fusion: one ranking from several, without comparing their scores.

BM25 scores and cosine similarities are on different scales; RRF (Cormack et al., 2009) adds
``1 / (k + rank)`` per list, so a passage ranked well by both wins. ``k = 60`` is the paper's.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

K = 60

T = TypeVar("T", bound=Hashable)


def rrf(rankings: Sequence[Sequence[T]], k: int = K) -> list[tuple[T, float]]:
    """Items of all ``rankings`` (best first each) with their fused score, best first."""
    scores: dict[T, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])
