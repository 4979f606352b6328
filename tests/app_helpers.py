"""Helpers for Pilot tests: build the app around a ScriptedBackend and wait for states."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from textual.pilot import Pilot

from backends.base import ChatBackend, ProgressCallback
from backends.events import BackendEvent, TokenDelta
from backends.scripted import ScriptedBackend
from tui.app import InternLMApp
from tui.screens.chat import ChatScreen
from tui.settings import AppSettings
from tui.widgets.prompt_input import PromptInput

REPLY = (
    "Here is a function:\n\n```python\ndef add(a: int, b: int) -> int:\n"
    "    return a + b\n```\n\nIt **adds** two numbers."
)
"""A reply with a code block and emphasis, for snapshots and copy tests."""


def tokens(text: str) -> list[BackendEvent]:
    """Split ``text`` into one TokenDelta per word (keeping the spaces)."""
    words = text.split(" ")
    return [TokenDelta(w if i == len(words) - 1 else w + " ") for i, w in enumerate(words)]


def scripted_app(
    turns: Sequence[Sequence[BackendEvent]] | None = None,
    *,
    delay_s: float = 0.0,
    settings: AppSettings | None = None,
) -> tuple[InternLMApp, ScriptedBackend]:
    """An app whose backend replays ``turns``."""
    backend = ScriptedBackend(turns, delay_s=delay_s)

    def factory(progress: ProgressCallback) -> ChatBackend:
        return backend

    return InternLMApp(settings or AppSettings(), backend_factory=factory), backend


async def wait_for(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the app run until ``condition()`` holds (fails the test on timeout)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)


async def ready_screen(pilot: Pilot[None]) -> ChatScreen:
    """Wait until the backend is loaded; stop the cursor blinking (blinks make snapshots flaky)."""
    screen = pilot.app.screen
    assert isinstance(screen, ChatScreen)
    await wait_for(pilot, lambda: screen.backend is not None)
    screen.query_one(PromptInput).cursor_blink = False
    return screen


async def ask(pilot: Pilot[None], prompt: str) -> ChatScreen:
    """Type ``prompt``, press Enter and wait until the reply is finished."""
    screen = await ready_screen(pilot)
    before = len(screen.conversation.messages)
    await pilot.press(*prompt, "enter")
    await wait_for(pilot, lambda: len(screen.conversation.messages) >= before + 2 and not screen.busy)
    await pilot.pause(0.2)
    return screen
