"""Snapshot tests of the chat screen: empty, and with a finished reply (scripted backend)."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from backends.events import Done, Usage
from tests.app_helpers import scripted_app, tokens, wait_for
from tui.screens.chat import ChatScreen
from tui.widgets.prompt_input import PromptInput

REPLY = (
    "Here is a function:\n\n```python\ndef add(a: int, b: int) -> int:\n"
    "    return a + b\n```\n\nIt **adds** two numbers."
)


async def _ready(pilot: Pilot[None]) -> ChatScreen:
    screen = pilot.app.screen
    assert isinstance(screen, ChatScreen)
    await wait_for(pilot, lambda: screen.backend is not None)
    screen.query_one(PromptInput).cursor_blink = False  # a blinking cursor makes snapshots flaky
    return screen


def test_empty_screen(snap_compare: Any) -> None:
    app, _ = scripted_app()

    async def run_before(pilot: Pilot[None]) -> None:
        await _ready(pilot)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_finished_reply(snap_compare: Any) -> None:
    app, _ = scripted_app([[*tokens(REPLY), Done("stop", Usage(12, 30, 0.25, 14.2, 2.1))]])

    async def run_before(pilot: Pilot[None]) -> None:
        screen = await _ready(pilot)
        await pilot.press(*"write an add function", "enter")
        await wait_for(pilot, lambda: len(screen.conversation.messages) == 2 and not screen.busy)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
