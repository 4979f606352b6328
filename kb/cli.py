"""``internlm-tui --kb DIR --kb-query TEXT``: index, search, and return the JSON to print."""

from __future__ import annotations

from pathlib import Path

from kb.embed import EmbeddingError, SentenceTransformerEmbedder
from kb.knowledge import KnowledgeSet
from kb.output import dumps_hits


def query(folders: tuple[Path, ...], question: str, top_k: int, model: str | None) -> tuple[str, list[str]]:
    """Update the folders' indexes, search them, and return (JSON of the hits, warnings).

    If the embedding model cannot load, the search is BM25 only and a warning says why.
    """
    embedder = SentenceTransformerEmbedder(model)
    warnings: list[str] = []
    try:
        embedder.encode(["warm-up"])
    except EmbeddingError as exc:
        warnings.append(f"{exc}; searching by keywords only")
        knowledge = KnowledgeSet(None)
    else:
        knowledge = KnowledgeSet(embedder)
    try:
        for folder in folders:
            knowledge.add(folder)
        knowledge.update()
        hits = knowledge.search(question, top_k)
        warnings.extend(s.embedding_error for s in knowledge.statuses() if s.embedding_error)
    finally:
        knowledge.close()
    return dumps_hits(hits, with_folder=len(folders) > 1), warnings
