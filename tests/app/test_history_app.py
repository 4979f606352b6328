"""Pilot tests: every history action by keyboard, on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, OptionList

from backends.events import ChatMessage, Error, TokenDelta
from testkit.app import scripted_app, wait_for
from testkit.store import full_disk
from tui.history_controller import WINDOW
from tui.screens.chat import ChatScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.rename import RenameScreen
from tui.settings import AppSettings
from tui.store.store import open_store
from tui.widgets.assistant_message import AssistantMessage
from tui.widgets.history_sidebar import HistorySidebar
from tui.widgets.status_line import StatusLine
from tui.widgets.user_message import UserMessage


async def _ready(pilot) -> ChatScreen:  # type: ignore[no-untyped-def]
    screen = pilot.app.screen
    assert isinstance(screen, ChatScreen)
    await wait_for(pilot, lambda: screen.session.backend is not None)
    return screen


async def _send(pilot, screen: ChatScreen, text: str) -> None:  # type: ignore[no-untyped-def]
    before = len(screen.query(AssistantMessage))
    await pilot.press(*text, "enter")
    await wait_for(pilot, lambda: len(screen.query(AssistantMessage)) == before + 1 and not screen.busy)


def _rows(screen: ChatScreen) -> list[str]:
    options = screen.query_one("#history-list", OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def test_chats_are_saved_listed_and_reopened(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    app, backend = scripted_app(settings=AppSettings(db_path=db, system="be brief"))
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await _ready(pilot)
        assert screen.query_one(HistorySidebar).has_class("visible")
        await _send(pilot, screen, "first chat")
        await pilot.press("ctrl+n")
        await _send(pilot, screen, "second chat")
        assert _rows(screen)[:3] == ["Today", "second chat", "first chat"]
        # open the older chat from the sidebar by keyboard
        screen.query_one("#history-list", OptionList).focus()
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: screen.session.conversation.messages[0].content == "first chat")
        assert [w.raw_text for w in screen.query(UserMessage)] == ["first chat"]
        # the next prompt continues it, with its history and system prompt
        await _send(pilot, screen, "follow up")
        sent = backend.seen[-1]
        assert [m.content for m in sent] == [
            "be brief",
            "first chat",
            "You said: **first chat**",
            "follow up",
        ]
    store = open_store(db)
    first = store.list_conversations()[0]
    assert first.title == "first chat"
    assert [m.content for m in store.get_messages(first.id)][-1] == "You said: **follow up**"


async def test_rename_delete_and_search_by_keyboard(tmp_path: Path) -> None:
    app, _ = scripted_app(settings=AppSettings(db_path=tmp_path / "h.sqlite3"))
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await _ready(pilot)
        await _send(pilot, screen, "volleyball rules")
        await pilot.press("ctrl+n")
        await _send(pilot, screen, "chess openings")
        options = screen.query_one("#history-list", OptionList)
        options.focus()
        assert options.highlighted == _rows(screen).index("chess openings")  # the open chat
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RenameScreen))
        title_input = app.screen.query_one(Input)
        title_input.value = ""
        await pilot.press(*"Chess", "enter")
        await wait_for(pilot, lambda: "Chess" in _rows(screen))
        # delete asks first, and Enter on the dialog means No
        options.focus()
        options.highlighted = _rows(screen).index("Chess")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen)
        assert "Chess" in _rows(screen)
        options.highlighted = _rows(screen).index("Chess")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: "Chess" not in _rows(screen))
        # search all chats; choosing a hit opens the chat at that message
        await pilot.press("ctrl+f")
        await pilot.press(*"volley")
        await wait_for(pilot, lambda: any("volleyball rules" in row for row in _rows(screen)))
        await pilot.press("enter", "enter")
        await wait_for(
            pilot,
            lambda: (
                bool(screen.session.conversation.messages)
                and screen.session.conversation.messages[0].content == "volleyball rules"
            ),
        )
        assert screen.query(".found")


async def test_long_conversation_mounts_a_window_and_loads_older_on_scroll(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    store = open_store(db)
    cid = store.create_conversation("long one")
    assert cid
    for i in range(300):
        store.add_message(cid, "user" if i % 2 == 0 else "assistant", f"message {i}")
    store.close()
    app, backend = scripted_app(settings=AppSettings(db_path=db, resume=cid))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _ready(pilot)
        await wait_for(pilot, lambda: len(screen.session.conversation.messages) == 300)
        mounted = len(screen.query(UserMessage)) + len(screen.query(AssistantMessage))
        assert mounted == WINDOW
        screen.chat_pane.scroll_home(animate=False)
        await wait_for(
            pilot, lambda: len(screen.query(UserMessage)) + len(screen.query(AssistantMessage)) == 2 * WINDOW
        )
        await _send(pilot, screen, "next")
        assert [m.content for m in backend.seen[-1]][:2] == ["message 0", "message 1"]
        assert len(backend.seen[-1]) == 301


async def test_export_writes_markdown_and_json(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    app, _ = scripted_app(settings=AppSettings(db_path=tmp_path / "h.sqlite3"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _ready(pilot)
        await _send(pilot, screen, "export me")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(list(tmp_path.glob("internlm-tui-chat-*"))) == 2)
    written = sorted(p.suffix for p in tmp_path.glob("internlm-tui-chat-*"))
    assert written == [".json", ".md"]
    assert "export me" in next(tmp_path.glob("*.md")).read_text()


async def test_full_disk_keeps_the_chat_working_with_a_visible_warning(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.sqlite3")
    full_disk(store)
    filler = store.create_conversation("filler")
    assert filler is not None
    while store.warning is None:  # use up the last free pages
        store.add_message(filler, "user", "z" * 4000)
    store.warning = None
    app, _ = scripted_app(settings=AppSettings(db_path=tmp_path / "h.sqlite3"))
    app.store = store
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _ready(pilot)
        assert screen.session.store is store
        for i in range(3):
            await _send(pilot, screen, f"prompt {i}")
        assert "history not saved" in str(screen.query_one(StatusLine).render())
        assert screen.session.conversation.messages[-1] == ChatMessage(
            "assistant", screen.query(AssistantMessage).last().text
        )


async def test_sidebar_hides_when_narrow_and_opens_over_the_chat(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    store = open_store(db)
    cid = store.create_conversation("saved earlier")
    assert cid is not None
    store.add_message(cid, "user", "saved earlier")
    store.close()
    app, _ = scripted_app(settings=AppSettings(db_path=db))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _ready(pilot)
        sidebar = screen.query_one(HistorySidebar)
        main = screen.query_one("#main")
        assert not sidebar.shown and main.region.width == 80
        await pilot.press("f2")
        await wait_for(pilot, lambda: sidebar.shown and sidebar.region.width > 0)
        assert sidebar.overlay and main.region.width == 80  # over the chat, not beside it
        assert sidebar.region.x == main.region.x
        assert isinstance(app.focused, OptionList)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not sidebar.shown)
        assert app.focused is screen.query_one("#prompt")
        await pilot.press("f2", "down", "enter")
        await wait_for(pilot, lambda: screen.session.conversation.conversation_id == cid)
        assert not sidebar.shown and app.focused is screen.query_one("#prompt")
        await pilot.resize_terminal(130, 30)
        await wait_for(pilot, lambda: sidebar.shown and not sidebar.overlay)
        assert main.region.x == sidebar.region.right  # beside the chat again
        await pilot.resize_terminal(90, 30)
        await wait_for(pilot, lambda: not sidebar.shown and sidebar.overlay)


async def test_prompt_is_saved_even_when_the_backend_fails(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    app, _ = scripted_app(
        [[TokenDelta("half "), Error("server went away")]], settings=AppSettings(db_path=db)
    )
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _ready(pilot)
        await _send(pilot, screen, "keep me")
    store = open_store(db)
    (conversation,) = store.list_conversations()
    messages = store.get_messages(conversation.id)
    assert [(m.role, m.content, m.status) for m in messages] == [
        ("user", "keep me", "done"),
        ("assistant", "half ", "error"),
    ]


async def test_damaged_database_is_replaced_and_the_user_told_where_it_went(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    db.write_bytes(b"not sqlite at all " * 200)
    app, _ = scripted_app(settings=AppSettings(db_path=db))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _ready(pilot)
        moved = next(tmp_path.glob("h.sqlite3.corrupt-*"))
        assert any(str(moved) in note.message for note in app._notifications)
        await _send(pilot, screen, "fresh start")
    assert [c.title for c in open_store(db).list_conversations()] == ["fresh start"]
