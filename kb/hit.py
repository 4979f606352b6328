"""A passage found for a question and a folder's status (light to import: no numpy, no SQLite)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Hit:
    """A passage found for a question: ``path`` relative to the folder, file lines, fused score."""

    path: str
    first: int
    last: int
    score: float
    text: str
    heading: str = ""
    bm25_rank: int | None = None
    dense_rank: int | None = None
    folder: str = ""

    def as_json(self) -> dict[str, object]:
        """The ``--kb-query`` form of a hit."""
        return {
            "path": self.path,
            "lines": [self.first, self.last],
            "score": round(self.score, 6),
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class Status:
    """What the index holds, for the status view."""

    folder: str
    files: int
    chunks: int
    embedded: int
    skipped: dict[str, int]
    model: str | None
    embedding_error: str | None = None
