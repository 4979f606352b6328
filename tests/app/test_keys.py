"""Keyboard: the keymap remaps bindings by id, F1 lists every key, every action is in the palette."""

from __future__ import annotations

import asyncio
import io

from rich.console import Console
from textual.widgets import Static

from backends.events import Done
from testkit.app import ask, ready_screen, scripted_app, settle, tokens, wait_for
from tui.keymap import binding_groups, binding_ids
from tui.screens.chat import ChatScreen
from tui.screens.keys_help import KeysHelp
from tui.settings import AppSettings
from tui.widgets.chat_pane import ChatPane
from tui.widgets.prompt_input import PromptInput


def test_remapped_keys_work_and_the_old_ones_do_not() -> None:
    keymap = {"chat.new": "ctrl+b", "prompt.send": "ctrl+t"}
    app, _ = scripted_app([[*tokens("one"), Done("stop")]], settings=AppSettings(keymap=keymap))

    async def scenario() -> None:
        async with app.run_test() as pilot:
            screen = await ready_screen(pilot)
            await pilot.press(*"hi", "enter")  # enter no longer sends: it is a newline now
            prompt = screen.query_one(PromptInput)
            await wait_for(pilot, lambda: prompt.text == "hi\n")
            await settle(pilot)
            assert screen.session.conversation.messages == []
            await pilot.press("ctrl+t")
            await wait_for(pilot, lambda: len(screen.session.conversation.messages) == 2 and not screen.busy)
            await pilot.press("ctrl+n")  # the old key of "new chat" does nothing now
            await settle(pilot)
            assert len(screen.session.conversation.messages) == 2
            await pilot.press("ctrl+b")
            await wait_for(pilot, lambda: screen.session.conversation.messages == [])

    asyncio.run(scenario())


def test_f1_lists_every_binding_with_the_keymap_applied() -> None:
    app, _ = scripted_app(settings=AppSettings(keymap={"chat.export": "f9"}))

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await ready_screen(pilot)
            await pilot.press("f1")
            await wait_for(pilot, lambda: isinstance(app.screen, KeysHelp))
            console = Console(width=80, record=True, file=io.StringIO())
            console.print(app.screen.query_one("#keys-list Static", Static).content)
            text = console.export_text()
            assert "f9" in text and "Export" in text
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))

    asyncio.run(scenario())
    listed = {description for _, rows in binding_groups({}) for _, description in rows}
    assert {"Stop", "New chat", "History", "Trace", "Copy", "Model", "Send", "Rename", "Quit"} <= listed
    assert {"chat.copy", "chat.keys", "prompt.send", "history.delete", "trace.toggle"} <= binding_ids()


def test_copy_keys_and_themes_are_in_the_palette() -> None:
    app, _ = scripted_app()

    async def scenario() -> None:
        async with app.run_test() as pilot:
            screen = await ready_screen(pilot)
            titles = {command.title for command in app.get_system_commands(screen)}
            assert {"Copy last reply", "Theme", "Quit"} <= titles

    asyncio.run(scenario())


def test_page_keys_scroll_the_chat_and_it_stops_following() -> None:
    long_reply = [*tokens(" ".join(f"line{i}\n\n" for i in range(80))), Done("stop")]
    app, _ = scripted_app([long_reply])

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await ask(pilot, "long")
            pane = app.screen.query_one(ChatPane)
            assert pane.scroll_y == pane.max_scroll_y > 0
            pane.focus()
            await pilot.press("pageup", "pageup")
            await pilot.pause(0.1)
            assert pane.scroll_y < pane.max_scroll_y
            await pilot.press("home")
            await pilot.pause(0.1)
            assert pane.scroll_y == 0
            await pilot.press("end")
            await pilot.pause(0.2)
            assert pane.scroll_y == pane.max_scroll_y

    asyncio.run(scenario())
