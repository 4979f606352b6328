"""The folders attached to a chat, searched as one: what the CLI, the chat and the agent tool use.

Each folder has its own index (``kb.index.KnowledgeBase``); they share one embedding model,
loaded once on first use. Hits from several folders are merged by their fused score (every
folder's hybrid score is the same reciprocal-rank formula, so they compare).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from kb.embed import Embedder
from kb.hit import Hit, Status
from kb.index import KnowledgeBase, Mode, ProgressFn, UpdateReport

EmbedderFactory = Callable[[], Embedder | None]


class KnowledgeSet:
    """Attached folders (thread-safe: the UI adds and removes while a worker indexes)."""

    def __init__(self, embedder: Embedder | None = None, *, data_dir: Path | None = None) -> None:
        self.embedder = embedder
        self.data_dir = data_dir
        self._bases: dict[Path, KnowledgeBase] = {}
        self._lock = threading.Lock()

    @property
    def bases(self) -> list[KnowledgeBase]:
        """The attached folders' indexes, in the order they were added."""
        with self._lock:
            return list(self._bases.values())

    def __bool__(self) -> bool:
        return bool(self.bases)

    def add(self, folder: Path) -> KnowledgeBase:
        """Attach ``folder`` (raises ``KbError`` if it is not a folder); attaching twice is one."""
        base = KnowledgeBase(folder, data_dir=self.data_dir, embedder=self.embedder)
        with self._lock:
            existing = self._bases.get(base.folder)
            if existing is not None:
                base.close()
                return existing
            self._bases[base.folder] = base
        return base

    def remove(self, folder: Path) -> bool:
        """Detach ``folder`` (its index file stays, for next time); False if it was not attached."""
        with self._lock:
            base = self._bases.pop(folder.expanduser().resolve(), None)
        if base is None:
            return False
        base.close()
        return True

    def update(
        self, progress: ProgressFn | None = None, cancel: threading.Event | None = None, *, embed: bool = True
    ) -> list[UpdateReport]:
        """Bring every folder's index up to date, then embed new passages (``embed``)."""
        reports = []
        for base in self.bases:
            reports.append(base.update(progress or _quiet, cancel))
            if embed:
                base.embed_pending(progress or _quiet, cancel)
        return reports

    def refresh(self, cancel: threading.Event | None = None) -> None:
        """Pick up changed files in every folder not being indexed right now (before a question)."""
        for base in self.bases:
            base.refresh(cancel)

    @property
    def indexing(self) -> bool:
        """True while some folder is being indexed."""
        return any(base.indexing for base in self.bases)

    def search(self, question: str, top_k: int = 5, mode: Mode = "hybrid") -> list[Hit]:
        """The best ``top_k`` passages over all folders."""
        hits: list[Hit] = []
        for base in self.bases:
            hits.extend(base.search(question, top_k, mode))
        hits.sort(key=lambda hit: -hit.score)
        return hits[:top_k]

    def statuses(self) -> list[Status]:
        """Each folder's status."""
        return [base.status() for base in self.bases]

    def close(self) -> None:
        """Close every index."""
        for base in self.bases:
            base.close()


def _quiet(stage: str, done: int, total: int) -> None:
    return None
