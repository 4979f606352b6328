"""Fault injection for the history store."""

from __future__ import annotations


def full_disk(store: object) -> None:
    """Make SQLite report SQLITE_FULL from now on, as on a full disk."""
    conn = store._conn  # type: ignore[attr-defined]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
