"""Knowledge base: indexing speed, picking up one change, query latency, and retrieval quality.

Figures (real SQLite files in a temp folder, 2-CPU machine unless said otherwise):

- ``index_bm25_files_per_s``: a generated folder of 10,000 Markdown files (English with some
  Chinese) scanned, read, chunked and written with its FTS5 index, no embeddings.
- ``embed_passages_per_s``: the packaged all-MiniLM-L6-v2 model embedding a sample of those
  passages (on 2 CPUs embedding is the slow part: ``embed_10k_estimated_s`` extrapolates it to
  the whole folder; that cost is paid once, in the background, and search works by BM25 meanwhile).
- ``pickup_one_change_s``: one file rewritten in the 10,000-file folder, then ``update`` (scan
  with size/mtime, hash, re-chunk) plus embedding its passages; the goal is at most 2 s.
- ``query_p95_ms``: 50 questions at 10,000 files, BM25 alone and hybrid (BM25 + the real model
  embedding the question + brute-force cosine over every passage vector + RRF). Passages not in
  the embedded sample get random unit vectors so the matrix has its full size.
- ``recall_at_5``: the evaluation set in ``benchmarks/fixtures/kb_eval`` (Debian man pages in
  English and their Simplified Chinese translations, with paraphrased questions written for it;
  see its README): a question counts when one of the top 5 passages is from the right file and
  holds the evidence sentence. Reported for BM25 alone, dense alone and fused, per language.

``--quick`` (for the test suite: a few seconds) uses 300 files and no neural model: the
embedding figures are left out, passages get random unit vectors, and recall is BM25's only.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

FIXTURE = Path(__file__).parent / "fixtures" / "kb_eval"

WORDS = [
    "model",
    "server",
    "deploy",
    "token",
    "prompt",
    "cache",
    "tensor",
    "layer",
    "adapter",
    "quantise",
    "batch",
    "stream",
    "agent",
    "tool",
    "python",
    "sandbox",
    "history",
    "branch",
    "theme",
    "keyboard",
    "terminal",
    "export",
    "search",
    "index",
    "folder",
    "passage",
    "embedding",
    "retrieval",
    "fusion",
    "ranking",
    "chunk",
    "heading",
    "paragraph",
    "latency",
    "throughput",
    "memory",
    "device",
]
CHINESE = ["部署模型", "量化推理", "检索增强", "知识库", "微调训练", "对话历史", "工具调用", "向量索引"]


def generate_folder(root: Path, count: int, seed: int = 7) -> list[Path]:
    """``count`` Markdown files of a few headed paragraphs each, in folders of 100."""
    rng = random.Random(seed)
    paths = []
    for i in range(count):
        folder = root / f"part{i // 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        sections = []
        for s in range(rng.randint(1, 3)):
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 120)))
            chinese = rng.choice(CHINESE) + "，" + rng.choice(CHINESE) if rng.random() < 0.3 else ""
            sections.append(f"## Section {s} of note {i}\n\n{words} {chinese}\n")
        path = folder / f"note{i:05d}.md"
        path.write_text(f"# Note {i}\n\n" + "\n".join(sections), encoding="utf-8")
        paths.append(path)
    return paths


def _p95(values: list[float]) -> float:
    return round(float(np.percentile(values, 95)) * 1000, 2)


class _RandomEmbedder:
    """Random unit vectors (``--quick``: the latency of the vector search without a model)."""

    name = "random"
    multilingual = True

    def __init__(self) -> None:
        self.rng = np.random.default_rng(5)

    def encode(self, texts: list[str]) -> Any:
        vectors = self.rng.standard_normal((len(texts), 384)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def scale(quick: bool, embedder: Any) -> dict[str, Any]:
    """Index, change one file, query at the generated folder's size."""
    from kb.index import KnowledgeBase

    count = 300 if quick else 10_000
    sample = 32 if quick else 512
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "docs"
        paths = generate_folder(root, count)
        kb = KnowledgeBase(root, data_dir=Path(tmp) / "index")
        started = time.perf_counter()
        report = kb.update()
        bm25_s = time.perf_counter() - started
        status = kb.status()

        kb.embedder = embedder
        kb._set_meta("embedding_model", embedder.name)
        with kb._lock:
            rows = kb._db.execute(
                "SELECT id, heading, text FROM chunks ORDER BY id LIMIT ?", (sample,)
            ).fetchall()
        embedder.encode(["warm up"])
        started = time.perf_counter()
        vectors = embedder.encode([f"{h}\n{t}" for _, h, t in rows])
        embed_s = time.perf_counter() - started
        rng = np.random.default_rng(3)
        with kb._lock:
            kb._db.execute("BEGIN")
            kb._db.executemany(
                "UPDATE chunks SET embedding = ? WHERE id = ?",
                [(vectors[i].tobytes(), row[0]) for i, row in enumerate(rows)],
            )
            dim = vectors.shape[1]
            rest = kb._db.execute("SELECT id FROM chunks WHERE embedding IS NULL").fetchall()
            noise = rng.standard_normal((len(rest), dim)).astype(np.float32)
            noise /= np.linalg.norm(noise, axis=1, keepdims=True)
            kb._db.executemany(
                "UPDATE chunks SET embedding = ? WHERE id = ?",
                [(noise[i].tobytes(), row[0]) for i, row in enumerate(rest)],
            )
            kb._db.execute("COMMIT")
            kb._matrix = None

        changed = paths[len(paths) // 2]
        changed.write_text("# Changed\n\nThe glacier moved overnight 冰川移动.\n", encoding="utf-8")
        started = time.perf_counter()
        change = kb.update()
        update_s = time.perf_counter() - started
        embedded = kb.embed_pending()
        pickup_s = time.perf_counter() - started
        found = [h.path for h in kb.search("glacier moved", 1, "bm25")]

        questions = [" ".join(random.Random(i).sample(WORDS, 4)) for i in range(50)]
        bm25_times, hybrid_times = [], []
        kb.search(questions[0], 5)  # builds the vector matrix once
        for question in questions:
            started = time.perf_counter()
            kb.search(question, 5, "bm25")
            bm25_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            kb.search(question, 5, "hybrid")
            hybrid_times.append(time.perf_counter() - started)
        kb.close()
    per_passage = embed_s / max(1, len(rows))
    return {
        "files": count,
        "passages": status.chunks,
        "index_bm25_s": round(bm25_s, 2),
        "index_bm25_files_per_s": round(report.added / bm25_s, 1),
        "embed_sample_passages": len(rows),
        "embed_passages_per_s": round(len(rows) / embed_s, 1),
        "embed_10k_estimated_s": round(per_passage * status.chunks * (10_000 / count), 1),
        "pickup_one_change_s": round(pickup_s, 3),
        "pickup_update_only_s": round(update_s, 3),
        "pickup_changed_files": change.changed,
        "pickup_embedded_passages": embedded,
        "pickup_found": found == [str(changed.relative_to(root))],
        "query_p95_ms": {"bm25": _p95(bm25_times), "hybrid": _p95(hybrid_times)},
        "query_median_ms": {
            "bm25": round(statistics.median(bm25_times) * 1000, 2),
            "hybrid": round(statistics.median(hybrid_times) * 1000, 2),
        },
    }


def recall(embedder: Any) -> dict[str, Any]:
    """Recall@5 of BM25, dense and fused retrieval on the committed evaluation set (BM25 alone
    without an ``embedder``)."""
    from kb.index import KnowledgeBase

    questions = json.loads((FIXTURE / "questions.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        kb = KnowledgeBase(FIXTURE / "docs", data_dir=Path(tmp), embedder=embedder)
        kb.update()
        kb.embed_pending()
        results: dict[str, dict[str, list[bool]]] = {}
        for mode in ("bm25", "dense", "hybrid") if embedder is not None else ("bm25",):
            for q in questions:
                hits = kb.search(q["q"], 5, mode)
                evidence = " ".join(q["evidence"].split())
                ok = any(h.path == q["path"] and evidence in " ".join(h.text.split()) for h in hits)
                for lang in (q["lang"], "all"):
                    results.setdefault(mode, {}).setdefault(lang, []).append(ok)
        passages = kb.status().chunks
        kb.close()
    return {
        "questions": len(questions),
        "passages": passages,
        **{
            mode: {lang: round(sum(oks) / len(oks), 3) for lang, oks in sorted(by_lang.items())}
            for mode, by_lang in results.items()
        },
    }


def run(quick: bool = False) -> dict[str, Any]:
    if quick:
        figures = scale(quick, _RandomEmbedder())
        for key in ("embed_sample_passages", "embed_passages_per_s", "embed_10k_estimated_s"):
            figures.pop(key)
        return {"embedding_model": None, "scale": figures, "recall_at_5": recall(None)}
    from kb.embed import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    started = time.perf_counter()
    embedder.encode(["load"])
    load_s = time.perf_counter() - started
    return {
        "embedding_model": embedder.name,
        "model_load_s": round(load_s, 2),
        "scale": scale(quick, embedder),
        "recall_at_5": recall(embedder),
    }


if __name__ == "__main__":
    import sys

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
