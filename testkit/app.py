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


async def settle(pilot: Pilot[None], rounds: int = 3) -> None:
    """Wait until every message already queued in the app and the current screen is handled,
    ``rounds`` times over, so that messages those handlers posted are handled too.

    A negative check ("this key did nothing") waits on this, never on a pause: on a slow machine
    a pause can end before the key was processed, and the check would pass without testing.
    """
    app = pilot.app
    for _ in range(rounds):
        waits = []
        for node in (app, *app.screen.walk_children(with_self=True)):
            handled = asyncio.Event()
            if node.call_later(handled.set):
                waits.append(handled.wait())
        await asyncio.gather(*waits)


async def ready_screen(pilot: Pilot[None]) -> ChatScreen:
    """Wait until the backend is loaded; stop the cursor blinking (blinks make snapshots flaky)."""
    screen = pilot.app.screen
    assert isinstance(screen, ChatScreen)
    await wait_for(pilot, lambda: screen.session.backend is not None)
    screen.query_one(PromptInput).cursor_blink = False
    return screen


async def ask(pilot: Pilot[None], prompt: str) -> ChatScreen:
    """Type ``prompt``, press Enter and wait until the reply is finished."""
    screen = await ready_screen(pilot)
    before = len(screen.session.conversation.messages)
    await pilot.press(*prompt, "enter")
    await wait_for(pilot, lambda: len(screen.session.conversation.messages) >= before + 2 and not screen.busy)
    await pilot.pause(0.2)
    return screen


def reply_tokens(count: int) -> list[str]:
    """A long Markdown reply of about ``count`` tokens; paragraph words are numbered markers.

    Each marker is ``w`` and its own token's index in the reply, so seeing it on the terminal
    says how far the stream has been drawn.
    """
    tokens: list[str] = []
    section = 0
    while len(tokens) < count:
        section += 1
        tokens += [f"## Section {section}", "\n\n"]
        for word in range(60):
            tokens.append(f"{' ' if word else ''}w{len(tokens):05d}")
        tokens.append("\n\n")
        for item in range(3):
            tokens += [f"- item {item}:", " a", " short", " point", " about", " it", "\n"]
        tokens += [
            "\n```python\n",
            f"def step_{section}(x):",
            "\n    ",
            "return",
            " x *",
            f" {section}",
            "\n```\n\n",
        ]
    tokens.append(f"w{len(tokens):05d}")
    return tokens
