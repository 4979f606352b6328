"""Pilot test: the chat settings screen changes the next reply's settings and saves them."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Static, TextArea

from backends.events import Done, GenerationParams
from testkit.app import scripted_app, settle, tokens, wait_for
from tui.screens.chat import ChatScreen
from tui.screens.chat_settings import ChatSettingsScreen
from tui.settings import AppSettings
from tui.store.export import to_openai
from tui.store.store import open_store


async def test_settings_are_used_by_the_next_reply_saved_and_exported(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    turns = [[*tokens("one"), Done("stop")], [*tokens("two"), Done("stop")]]
    app, backend = scripted_app(turns, settings=AppSettings(db_path=db, params=GenerationParams()))
    async with app.run_test(size=(100, 36)) as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: screen.session.backend is not None)
        await pilot.press(*"hi", "enter")
        await wait_for(pilot, lambda: not screen.busy and len(backend.seen) == 1)
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatSettingsScreen))
        dialog = app.screen
        dialog.query_one("#system", TextArea).text = "answer in French"
        dialog.query_one("#temperature", Input).value = "warm"
        await pilot.press("ctrl+s")  # refused: one line names the field, the dialog stays
        await settle(pilot)
        assert app.screen is dialog
        assert "Temperature" in str(dialog.query_one("#settings-error", Static).render())
        dialog.query_one("#temperature", Input).value = "0.2"
        dialog.query_one("#seed", Input).value = "7"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.press(*"again", "enter")
        await wait_for(pilot, lambda: not screen.busy and len(backend.seen) == 2)
        sent = backend.seen[-1]
        assert sent[0].role == "system" and sent[0].content == "answer in French"
        assert backend.params_seen[-1].temperature == 0.2 and backend.params_seen[-1].seed == 7
        cid = screen.session.conversation_id
    assert cid is not None
    store = open_store(db)
    saved = store.get_conversation(cid)
    assert saved is not None and saved.system == "answer in French"
    assert saved.params["temperature"] == 0.2 and saved.params["seed"] == 7
    assert to_openai(store, cid)["params"]["seed"] == 7
    store.close()
