"""Snapshot of the history sidebar next to a reopened conversation."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from testkit.app import scripted_app, wait_for
from tui.screens.chat import ChatScreen
from tui.settings import AppSettings
from tui.store.store import open_store
from tui.widgets.prompt_input import PromptInput


def saved_chats(db: Path) -> int:
    """Three chats from today and one from yesterday; returns the newest id."""
    store = open_store(db)
    cid = None
    for title in ("yesterday's chat", "volleyball serve", "2x+3=10", "write a haiku about GPUs"):
        cid = store.create_conversation(title)
        assert cid is not None
        store.add_message(cid, "user", title)
        store.add_message(cid, "assistant", f"An answer about **{title}**.")
    store._conn.execute("UPDATE conversations SET updated_at = ? WHERE id = 1", (time.time() - 86400,))
    store.close()
    assert cid is not None
    return cid


async def settle(pilot: Pilot[None]) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, ChatScreen)
    await wait_for(
        pilot, lambda: screen.session.backend is not None and bool(screen.session.conversation.messages)
    )
    screen.query_one(PromptInput).cursor_blink = False
    await pilot.pause(0.2)


def test_sidebar(snap_compare: Any, tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    app, _ = scripted_app(settings=AppSettings(db_path=db, resume=saved_chats(db)))
    assert snap_compare(app, terminal_size=(120, 40), run_before=settle)


def test_sidebar_over_the_chat_at_80_columns(snap_compare: Any, tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    app, _ = scripted_app(settings=AppSettings(db_path=db, resume=saved_chats(db)))

    async def open_sidebar(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f2")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_sidebar)
