"""Reopening a conversation continues it with the backend and generation settings it was saved with."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import OptionList

from backends.events import GenerationParams
from testkit.app import scripted_app, wait_for
from tui.cli import build_parser, settings_from_args
from tui.resume import apply_resume
from tui.screens.chat import ChatScreen
from tui.settings import AppSettings
from tui.store.store import HistoryStore, StoreError, open_store
from tui.widgets.assistant_message import AssistantMessage

SAVED_PARAMS = GenerationParams(temperature=0.3, top_k=7, max_new_tokens=64, seed=11).as_dict()


def saved(tmp_path: Path, script: Path) -> tuple[HistoryStore, int, int]:
    store = open_store(tmp_path / "h.sqlite3")
    older = store.create_conversation(
        "older", backend="scripted", model="echo", params=SAVED_PARAMS, options={"backend": "scripted"}
    )
    newer = store.create_conversation(
        "newer",
        backend="scripted",
        model=str(script),
        params=SAVED_PARAMS,
        options={"backend": "scripted", "model": str(script), "base_url": None},
    )
    assert older is not None and newer is not None
    store.add_message(older, "user", "hello")
    store.add_message(newer, "user", "hello again")
    return store, older, newer


def resumed(store: HistoryStore, *flags: str) -> AppSettings:
    args = build_parser().parse_args(["--resume", *flags])
    apply_resume(args, store)
    return settings_from_args(args)


def test_resume_uses_the_stored_backend_and_settings(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text("[]")
    store, older, newer = saved(tmp_path, script)
    latest = resumed(store)
    assert latest.resume == newer
    assert (latest.backend.backend, latest.backend.model) == ("scripted", str(script))
    assert latest.params == GenerationParams(temperature=0.3, top_k=7, max_new_tokens=64, seed=11)
    explicit = resumed(store, str(older), "--temperature", "0.9", "--backend", "scripted")
    assert explicit.resume == older and explicit.params.temperature == 0.9 and explicit.params.top_k == 7
    with pytest.raises(StoreError, match="no conversation with id 999"):
        resumed(store, "999")


async def test_opening_from_the_sidebar_restores_generation_settings(tmp_path: Path) -> None:
    store, older, _ = saved(tmp_path, tmp_path / "unused.json")
    store.close()
    app, backend = scripted_app(settings=AppSettings(db_path=tmp_path / "h.sqlite3"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: screen.session.backend is not None)
        assert screen.session.params == GenerationParams()
        options = screen.query_one("#history-list", OptionList)
        options.focus()
        options.highlighted = next(
            i for i in range(options.option_count) if options.get_option_at_index(i).id == f"c{older}"
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.session.conversation.conversation_id == older)
        assert screen.session.params.temperature == 0.3 and screen.session.params.max_new_tokens == 64
        await pilot.press(*"go on", "enter")
        await wait_for(pilot, lambda: len(screen.query(AssistantMessage)) == 1 and not screen.busy)
        assert [m.content for m in backend.seen[-1]] == ["hello", "go on"]
        # ctrl+n goes back to the launch settings
        await pilot.press("ctrl+n")
        assert screen.session.params == GenerationParams()
    reply = open_store(tmp_path / "h.sqlite3").get_messages(older)[-1]
    assert reply.role == "assistant" and reply.params == SAVED_PARAMS
