"""Where a folder's index lives: one private SQLite file per folder under the user data dir.

The file is named by a hash of the folder's resolved path, created 0600 in a 0700 folder before
SQLite opens it (SQLite gives its ``-wal`` and ``-shm`` files the database file's mode), as
security rule 4 asks of every file holding the user's text. The schema is created on open; a
file from an older schema version is rebuilt (it is only a cache of the folder).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from contextlib import suppress
from pathlib import Path

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    first_line INTEGER NOT NULL,
    last_line INTEGER NOT NULL,
    heading TEXT NOT NULL,
    text TEXT NOT NULL,
    embedding BLOB
);
CREATE INDEX IF NOT EXISTS chunks_file ON chunks(file_id);
CREATE INDEX IF NOT EXISTS chunks_pending ON chunks(id) WHERE embedding IS NULL;
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    title, body, grams, tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS skipped (reason TEXT PRIMARY KEY, count INTEGER NOT NULL);
"""
"""``chunks_fts`` rowids are chunk ids; ``grams`` holds CJK bigrams (see ``kb.terms``)."""


def default_data_dir() -> Path:
    """``<user data dir>/internlm-tui/kb`` (platformdirs), or ``$INTERNLM_TUI_KB_DIR``."""
    override = os.environ.get("INTERNLM_TUI_KB_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_path

    return user_data_path("internlm-tui") / "kb"


def private_folder(folder: Path) -> Path:
    """Create ``folder`` (and missing parents) 0700; an existing one is left as it is."""
    missing = []
    current = folder
    while not current.exists() and current.parent != current:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        with suppress(FileExistsError):
            path.mkdir(mode=0o700)
            os.chmod(path, 0o700)
    return folder


def index_path(folder: Path, data_dir: Path | None = None) -> Path:
    """The index file of ``folder`` (resolved) under ``data_dir``."""
    digest = hashlib.sha256(str(folder).encode("utf-8", "surrogateescape")).hexdigest()[:20]
    return (data_dir or default_data_dir()) / f"{digest}.sqlite3"


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating privately) the index at ``path`` with the current schema."""
    private_folder(path.parent)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA busy_timeout=5000")
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version not in (0, SCHEMA_VERSION):
        for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table')"
        ).fetchall():
            if not name.startswith("sqlite_") and "_fts_" not in name:
                connection.execute(f'DROP TABLE IF EXISTS "{name}"')
    connection.executescript(SCHEMA)
    connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    return connection
