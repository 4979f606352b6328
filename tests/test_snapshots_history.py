"""Snapshot of the history sidebar next to a reopened conversation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tests.app_helpers import scripted_app, wait_for
from tui.screens.chat import ChatScreen
from tui.settings import AppSettings
from tui.store.store import open_store
from tui.widgets.prompt_input import PromptInput


def test_sidebar(snap_compare: Any, tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    store = open_store(db)
    for title in ("volleyball serve", "2x+3=10", "write a haiku about GPUs"):
        cid = store.create_conversation(title)
        assert cid is not None
        store.add_message(cid, "user", title)
        store.add_message(cid, "assistant", f"An answer about **{title}**.")
    store.close()
    app, _ = scripted_app(settings=AppSettings(db_path=db, resume=cid))

    async def run_before(pilot: Pilot[None]) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: screen.backend is not None and bool(screen.conversation.messages))
        screen.query_one(PromptInput).cursor_blink = False
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(120, 30), run_before=run_before)
