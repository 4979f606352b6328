"""Fault injection for the history store."""

from __future__ import annotations

import sqlite3

from tui.store.store import HistoryStore


def full_disk(store: HistoryStore) -> None:
    """Make SQLite report SQLITE_FULL from now on, as on a full disk (on the writer's connection)."""

    def limit(conn: sqlite3.Connection) -> None:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")

    store._writer.submit(limit).result()
