"""Snapshot tests of branching at 80x24: a reply with versions under the cursor, the settings screen."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from backends.events import Done, Usage
from testkit.app import ask, ready_screen, scripted_app, tokens, wait_for
from tui.screens.chat import ChatScreen
from tui.screens.chat_settings import ChatSettingsScreen
from tui.widgets.chat_pane import ChatPane


def test_version_switcher_on_a_regenerated_reply(snap_compare: Any) -> None:
    answers = ["The first answer.", "A second, better answer."]
    app, _ = scripted_app([[*tokens(a), Done("stop", Usage(5, 4, 0.2, 12.0, 0.3))] for a in answers])

    async def run_before(pilot: Pilot[None]) -> None:
        screen = await ask(pilot, "explain recursion")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not screen.busy and len(screen.session.versions()) == 1)
        await pilot.pause(0.2)
        screen.query_one(ChatPane).focus()
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_chat_settings_screen(snap_compare: Any) -> None:
    app, _ = scripted_app()

    async def run_before(pilot: Pilot[None]) -> None:
        screen = await ready_screen(pilot)
        assert isinstance(screen, ChatScreen)
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ChatSettingsScreen))
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
