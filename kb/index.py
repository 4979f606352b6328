"""One folder's knowledge base: incremental indexing and hybrid (BM25 + dense) search.

``update`` brings the index in line with the folder: a file whose size and mtime are unchanged
is not read; one whose bytes hash the same is only re-stamped; a renamed file keeps its passages
and their embeddings; deleted files are dropped. ``embed_pending`` embeds passages that have no
vector yet (kept apart because the model is slow on small CPUs: search works on BM25 meanwhile).

Dense search is brute force: all vectors in one float32 matrix, one matrix-vector product per
question. At 10,000 files (about 20,000 passages x 384 dimensions, 30 MB) that takes a few
milliseconds, so an approximate-neighbour library would add a dependency for nothing.

All methods are thread-safe (one lock around the connection); ``update`` commits in batches and
releases the lock between them, so a question asked while indexing waits at most one batch.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

import numpy as np

from kb import store
from kb.chunk import Chunk, chunk
from kb.embed import Embedder, EmbeddingError, Vectors
from kb.errors import KbError
from kb.extract import Skipped, extract, read_bytes, sha256
from kb.fuse import rrf
from kb.hit import Hit, Status
from kb.scan import MAX_PDF_BYTES, MAX_TEXT_BYTES, Found, scan
from kb.terms import grams_column, mostly_cjk, phrase, query_terms

BATCH_FILES = 100
"""Files indexed per transaction (the lock is released between batches)."""
EMBED_BATCH = 16
"""Passages embedded per call (about a second on 2 CPU cores: how long a cancel may wait)."""
CANDIDATES = 50
"""How many hits each ranking contributes to the fusion."""

Mode = Literal["hybrid", "bm25", "dense"]
ProgressFn = Callable[[str, int, int], None]
"""(stage, done, total): stage is "scan", "index" or "embed"."""


@dataclass
class UpdateReport:
    """What one ``update`` did."""

    added: int = 0
    changed: int = 0
    renamed: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


def _never(stage: str, done: int, total: int) -> None:
    return None


class KnowledgeBase:
    """The index of one folder (see the module docstring)."""

    def __init__(
        self, folder: Path, *, data_dir: Path | None = None, embedder: Embedder | None = None
    ) -> None:
        try:
            resolved = folder.expanduser().resolve(strict=True)
        except (OSError, RuntimeError) as exc:
            raise KbError(f"knowledge base folder {str(folder)!r} does not exist") from exc
        if not resolved.is_dir():
            raise KbError(f"knowledge base {str(folder)!r} is not a folder")
        self.folder = resolved
        self.embedder = embedder
        self.embedding_error: str | None = None
        self.path = store.index_path(resolved, data_dir)
        try:
            self._db = store.connect(self.path)
        except Exception as exc:
            raise KbError(f"cannot open the index {self.path}: {exc}") from exc
        self._lock = threading.RLock()
        self._busy = threading.Lock()
        """Held by one update or embedding at a time."""
        self._matrix: tuple[np.ndarray, Vectors] | None = None
        self._set_meta("folder", str(resolved))

    # ----- indexing -------------------------------------------------------------------------
    def update(self, progress: ProgressFn = _never, cancel: threading.Event | None = None) -> UpdateReport:
        """Bring the index in line with the folder (see the module docstring); waits for an
        update already running in another thread."""
        with self._busy:
            return self._update(progress, cancel)

    def refresh(self, cancel: threading.Event | None = None) -> UpdateReport | None:
        """``update`` then ``embed_pending``, unless another thread is indexing this folder now
        (then None at once: a question searches what is indexed so far)."""
        if not self._busy.acquire(blocking=False):
            return None
        try:
            report = self._update(_never, cancel)
            self._embed_pending(_never, cancel)
            return report
        finally:
            self._busy.release()

    @property
    def indexing(self) -> bool:
        """True while an update or embedding runs."""
        if self._busy.acquire(blocking=False):
            self._busy.release()
            return False
        return True

    def _update(self, progress: ProgressFn, cancel: threading.Event | None) -> UpdateReport:
        started = time.perf_counter()
        report = UpdateReport()
        progress("scan", 0, 0)
        if not self.folder.is_dir():
            raise KbError(f"knowledge base folder {str(self.folder)!r} has disappeared")
        found = scan(self.folder)
        report.skipped.update(found.skipped)
        with self._lock:
            known = {
                row[1]: row
                for row in self._db.execute("SELECT id, path, size, mtime_ns, sha256 FROM files").fetchall()
            }
        present = {f.path for f in found.files}
        missing = {path: row for path, row in known.items() if path not in present}
        by_hash = {row[4]: row for row in missing.values()}
        todo = [
            f for f in found.files if not (f.path in known and known[f.path][2:4] == (f.size, f.mtime_ns))
        ]
        report.unchanged = len(found.files) - len(todo)
        total = len(todo)
        for start in range(0, total, BATCH_FILES):
            if cancel is not None and cancel.is_set():
                break
            batch = todo[start : start + BATCH_FILES]
            prepared = [self._prepare(f, known.get(f.path), by_hash, report) for f in batch]
            with self._lock:
                self._db.execute("BEGIN")
                try:
                    for item in prepared:
                        if item is not None:
                            self._write(*item, report)
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._matrix = None
            progress("index", min(start + BATCH_FILES, total), total)
        with self._lock:
            self._db.execute("BEGIN")
            for path in missing:
                row = self._db.execute("SELECT id FROM files WHERE path = ?", (path,)).fetchone()
                if row is not None:  # (a renamed file's row already carries its new path)
                    self._delete_file(row[0])
                    report.removed += 1
            if cancel is None or not cancel.is_set():
                self._db.execute("DELETE FROM skipped")
                self._db.executemany(
                    "INSERT INTO skipped(reason, count) VALUES (?, ?)", sorted(report.skipped.items())
                )
            self._db.execute("COMMIT")
            self._matrix = None
        report.seconds = time.perf_counter() - started
        return report

    def _prepare(
        self,
        found: Found,
        row: tuple[int, str, int, int, str] | None,
        by_hash: dict[str, tuple[int, str, int, int, str]],
        report: UpdateReport,
    ) -> tuple[str, Found, str, object] | None:
        """Read one file outside the lock: ("touch" | "rename" | "index", file, hash, payload)."""
        path = self.folder / found.path
        try:
            data, size, mtime_ns = read_bytes(path, MAX_PDF_BYTES if found.kind == "pdf" else MAX_TEXT_BYTES)
        except Skipped as skipped:
            report.skipped[str(skipped)] += 1
            return ("drop", found, "", None) if row is not None else None
        found = Found(found.path, found.kind, size, mtime_ns)
        digest = sha256(data)
        if row is not None and row[4] == digest:
            return ("touch", found, digest, row[0])
        if row is None and digest in by_hash:
            old = by_hash.pop(digest)
            return ("rename", found, digest, old[0])
        try:
            extracted = extract(path, found.kind, data)
        except Skipped as skipped:
            report.skipped[str(skipped)] += 1
            return ("drop", found, "", None) if row is not None else None
        return ("index", found, digest, (row[0] if row else None, chunk(extracted.text, found.kind)))

    def _write(self, action: str, found: Found, digest: str, payload: object, report: UpdateReport) -> None:
        db = self._db
        if action == "drop":
            row = db.execute("SELECT id FROM files WHERE path = ?", (found.path,)).fetchone()
            if row is not None:
                self._delete_file(row[0])
                report.removed += 1
        elif action == "touch":
            db.execute(
                "UPDATE files SET size = ?, mtime_ns = ? WHERE id = ?", (found.size, found.mtime_ns, payload)
            )
            report.unchanged += 1
        elif action == "rename":
            db.execute(
                "UPDATE files SET path = ?, size = ?, mtime_ns = ? WHERE id = ?",
                (found.path, found.size, found.mtime_ns, payload),
            )
            self._refresh_titles(int(payload), found.path)  # type: ignore[call-overload]
            report.renamed += 1
        else:
            old_id, chunks = cast("tuple[int | None, list[Chunk]]", payload)
            if old_id is not None:
                self._delete_file(old_id)
                report.changed += 1
            else:
                report.added += 1
            file_id = db.execute(
                "INSERT INTO files(path, kind, size, mtime_ns, sha256) VALUES (?, ?, ?, ?, ?)",
                (found.path, found.kind, found.size, found.mtime_ns, digest),
            ).lastrowid
            for piece in chunks:
                chunk_id = db.execute(
                    "INSERT INTO chunks(file_id, first_line, last_line, heading, text)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (file_id, piece.first, piece.last, piece.heading, piece.text),
                ).lastrowid
                db.execute(
                    "INSERT INTO chunks_fts(rowid, title, body, grams) VALUES (?, ?, ?, ?)",
                    (
                        chunk_id,
                        _title(found.path, piece.heading),
                        piece.text,
                        grams_column(piece.heading + "\n" + piece.text),
                    ),
                )

    def _refresh_titles(self, file_id: int, path: str) -> None:
        for chunk_id, heading in self._db.execute(
            "SELECT id, heading FROM chunks WHERE file_id = ?", (file_id,)
        ).fetchall():
            self._db.execute(
                "UPDATE chunks_fts SET title = ? WHERE rowid = ?", (_title(path, heading), chunk_id)
            )

    def _delete_file(self, file_id: int) -> None:
        self._db.execute(
            "DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE file_id = ?)", (file_id,)
        )
        self._db.execute("DELETE FROM files WHERE id = ?", (file_id,))

    def embed_pending(self, progress: ProgressFn = _never, cancel: threading.Event | None = None) -> int:
        """Embed every passage without a vector; the count embedded (0 without a model)."""
        with self._busy:
            return self._embed_pending(progress, cancel)

    def _embed_pending(self, progress: ProgressFn, cancel: threading.Event | None) -> int:
        embedder = self.embedder
        if embedder is None:
            return 0
        with self._lock:
            if self._get_meta("embedding_model") != embedder.name:
                self._db.execute("UPDATE chunks SET embedding = NULL")
                self._set_meta("embedding_model", embedder.name)
                self._matrix = None
            total = self._db.execute("SELECT count(*) FROM chunks WHERE embedding IS NULL").fetchone()[0]
        done = 0
        progress("embed", 0, total)
        while cancel is None or not cancel.is_set():
            with self._lock:
                rows = self._db.execute(
                    "SELECT id, heading, text FROM chunks WHERE embedding IS NULL LIMIT ?", (EMBED_BATCH,)
                ).fetchall()
            if not rows:
                break
            try:
                vectors = embedder.encode([_embed_text(heading, text) for _, heading, text in rows])
            except EmbeddingError as exc:
                self.embedding_error = str(exc)
                break
            except Exception as exc:  # a model that fails on some input must not stop indexing
                self.embedding_error = f"embedding failed: {type(exc).__name__}: {exc}"
                break
            with self._lock:
                self._db.executemany(
                    "UPDATE chunks SET embedding = ? WHERE id = ?",
                    [(vectors[i].astype(np.float32).tobytes(), row[0]) for i, row in enumerate(rows)],
                )
                self._matrix = None
            done += len(rows)
            progress("embed", done, total)
        return done

    # ----- search ---------------------------------------------------------------------------
    def search(self, question: str, top_k: int = 5, mode: Mode = "hybrid") -> list[Hit]:
        """The ``top_k`` passages that best answer ``question``, best first."""
        bm25: list[tuple[int, float]] = [] if mode == "dense" else self._bm25(question, CANDIDATES)
        english_only = self.embedder is not None and not getattr(self.embedder, "multilingual", True)
        skip_dense = mode == "bm25" or (mode == "hybrid" and english_only and mostly_cjk(question))
        dense: list[tuple[int, float]] = [] if skip_dense else self._dense(question, CANDIDATES)
        bm25_rank = {cid: i + 1 for i, (cid, _) in enumerate(bm25)}
        dense_rank = {cid: i + 1 for i, (cid, _) in enumerate(dense)}
        if mode == "bm25":
            ranked = bm25[:top_k]
        elif mode == "dense":
            ranked = dense[:top_k]
        else:
            ranked = rrf([[c for c, _ in bm25], [c for c, _ in dense]])[:top_k]
        return self._hits(ranked, bm25_rank, dense_rank)

    def _bm25(self, question: str, limit: int) -> list[tuple[int, float]]:
        words, grams = query_terms(question)
        parts = []
        if words:
            parts.append("{title body} : (" + " OR ".join(phrase(w) for w in words) + ")")
        if grams:
            parts.append("grams : (" + " OR ".join(phrase(g) for g in grams) + ")")
        if not parts:
            return []
        with self._lock:
            rows = self._db.execute(
                "SELECT rowid, bm25(chunks_fts, 0.5, 1.0, 1.0) AS rank FROM chunks_fts"
                " WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?",
                (" OR ".join(parts), limit),
            ).fetchall()
        return [(int(rowid), -float(rank)) for rowid, rank in rows]

    def _dense(self, question: str, limit: int) -> list[tuple[int, float]]:
        if self.embedder is None or not question.strip():
            return []
        ids, matrix = self._vectors()
        if not len(ids):
            return []
        try:
            query = self.embedder.encode([question])[0]
        except Exception as exc:
            self.embedding_error = str(exc)
            return []
        scores = matrix @ query
        count = min(limit, len(ids))
        best = np.argpartition(-scores, count - 1)[:count]
        best = best[np.argsort(-scores[best])]
        return [(int(ids[i]), float(scores[i])) for i in best]

    def _vectors(self) -> tuple[np.ndarray, Vectors]:
        with self._lock:
            if self._matrix is None:
                rows = self._db.execute(
                    "SELECT id, embedding FROM chunks WHERE embedding IS NOT NULL ORDER BY id"
                ).fetchall()
                ids = np.array([r[0] for r in rows], dtype=np.int64)
                if rows:
                    matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(
                        len(rows), -1
                    )
                else:
                    matrix = np.zeros((0, 1), dtype=np.float32)
                self._matrix = (ids, matrix)
            return self._matrix

    def _hits(
        self, ranked: list[tuple[int, float]], bm25_rank: dict[int, int], dense_rank: dict[int, int]
    ) -> list[Hit]:
        if not ranked:
            return []
        ids = [cid for cid, _ in ranked]
        with self._lock:
            rows = self._db.execute(
                "SELECT c.id, f.path, c.first_line, c.last_line, c.heading, c.text FROM chunks c"
                f" JOIN files f ON f.id = c.file_id WHERE c.id IN ({','.join('?' * len(ids))})",
                ids,
            ).fetchall()
        by_id = {row[0]: row for row in rows}
        hits = []
        for cid, score in ranked:
            row = by_id.get(cid)
            if row is None:
                continue
            hits.append(
                Hit(
                    row[1],
                    row[2],
                    row[3],
                    score,
                    row[5],
                    row[4],
                    bm25_rank.get(cid),
                    dense_rank.get(cid),
                    str(self.folder),
                )
            )
        return hits

    # ----- status ---------------------------------------------------------------------------
    def status(self) -> Status:
        """Counts of files, passages, embedded passages and skipped files by reason."""
        with self._lock:
            files = self._db.execute("SELECT count(*) FROM files").fetchone()[0]
            chunks, embedded = self._db.execute("SELECT count(*), count(embedding) FROM chunks").fetchone()
            skipped = dict(self._db.execute("SELECT reason, count FROM skipped ORDER BY reason").fetchall())
        model = self.embedder.name if self.embedder is not None else None
        return Status(str(self.folder), files, chunks, embedded, skipped, model, self.embedding_error)

    def close(self) -> None:
        """Close the index file."""
        with self._lock:
            self._db.close()

    def _get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))


def _title(path: str, heading: str) -> str:
    """What the ``title`` column holds: the file's name words and the heading."""
    return path.replace("/", " ").replace("_", " ").replace("-", " ").replace(".", " ") + " " + heading


def _embed_text(heading: str, text: str) -> str:
    return f"{heading}\n{text}" if heading else text
