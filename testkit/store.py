"""Fault injection for the history store."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from tui.store.store import HistoryStore


def full_disk(store: HistoryStore) -> None:
    """Make SQLite report SQLITE_FULL from now on, as on a full disk (on the writer's connection)."""

    def limit(conn: sqlite3.Connection) -> None:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")

    store._writer.submit(limit).result()


_HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
conn.close()
print("released", flush=True)
"""


class WriteLockHolder:
    """Another process holding ``BEGIN IMMEDIATE`` on a history file, as a second app instance
    in the middle of a write transaction would; ``release()`` commits and waits for it to end."""

    def __init__(self, path: Path) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if line.strip() != "locked":
            self._process.kill()
            raise RuntimeError(f"the lock holder did not start: {line!r}")

    def release(self) -> None:
        """Commit the other process's transaction and wait for it to exit."""
        if self._process.poll() is None:
            assert self._process.stdin is not None and self._process.stdout is not None
            self._process.stdin.write("\n")
            self._process.stdin.flush()
            self._process.stdout.readline()
            self._process.wait(timeout=30)

    def __enter__(self) -> WriteLockHolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
