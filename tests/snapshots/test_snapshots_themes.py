"""Snapshots: every bundled theme, the 80x24 layout with panels over the chat, 200x60, the approval."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from textual.pilot import Pilot

from backends.events import (
    ApprovalRequest,
    BackendEvent,
    ChatMessage,
    Done,
    GenerationParams,
    ThoughtDelta,
    ToolCall,
    ToolResult,
    Usage,
    code_sha256,
)
from backends.scripted import ScriptedBackend
from testkit.app import REPLY, ask, ready_screen, scripted_app, tokens, wait_for
from themes import BUNDLED_DIR
from tui.app import InternLMApp
from tui.screens.approval import ApprovalScreen
from tui.settings import AppSettings

BUNDLED = sorted(path.stem for path in BUNDLED_DIR.glob("*.toml"))
FINISHED = [*tokens(REPLY), Done("stop", Usage(12, 30, 0.25, 14.2, 2.1))]


def test_four_themes_are_bundled() -> None:
    assert {"internlm-dark", "internlm-light", "high-contrast", "internlm-ansi"} <= set(BUNDLED)


@pytest.mark.parametrize("theme", BUNDLED)
def test_theme(snap_compare: Any, theme: str) -> None:
    app, _ = scripted_app([FINISHED], settings=AppSettings(theme=theme))

    async def run_before(pilot: Pilot[None]) -> None:
        await ask(pilot, "write an add function")
        assert pilot.app.theme == theme

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_80x24_with_a_reply(snap_compare: Any) -> None:
    app, _ = scripted_app([FINISHED])

    async def run_before(pilot: Pilot[None]) -> None:
        await ask(pilot, "write an add function")

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_80x24_trace_over_the_chat(snap_compare: Any) -> None:
    steps = [
        ThoughtDelta("I should compute it."),
        ToolCall("c1", "python", "print(6 * 7)"),
        ToolResult("c1", "42\n", True, 0.05),
        *tokens("The answer is 42."),
        Done("stop"),
    ]
    app, _ = scripted_app([steps])

    async def run_before(pilot: Pilot[None]) -> None:
        await ask(pilot, "what is 6*7")
        await pilot.press("f3")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_80x24_keys_list(snap_compare: Any) -> None:
    app, _ = scripted_app()

    async def run_before(pilot: Pilot[None]) -> None:
        await ready_screen(pilot)
        await pilot.press("f1")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_200x60_nothing_cut_off(snap_compare: Any) -> None:
    app, _ = scripted_app([FINISHED])

    async def run_before(pilot: Pilot[None]) -> None:
        await ask(pilot, "write an add function")
        await pilot.press("f3")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(200, 60), run_before=run_before)


class WaitsForApproval(ScriptedBackend):
    """Streams the steps, then holds the turn open (as the agent does while it waits)."""

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams, *, cancel: threading.Event
    ) -> Iterator[BackendEvent]:
        yield from (event for event in self._next_turn(messages) if not isinstance(event, Done))
        cancel.wait()
        yield Done("cancelled")


def test_approval_dialog(snap_compare: Any) -> None:
    code = "import math\nprint(math.sqrt(2))  # \u202eevil\nok\ufe0f = True"
    steps: list[BackendEvent] = [
        ThoughtDelta("I will compute it."),
        ToolCall("c1", "python", code),
        ApprovalRequest("c1", "python", code, True, code_sha256(code)),
    ]
    backend = WaitsForApproval([steps])
    app = InternLMApp(AppSettings(), backend_factory=lambda progress: backend)

    async def run_before(pilot: Pilot[None]) -> None:
        screen = await ready_screen(pilot)
        await pilot.press(*"sqrt 2", "enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ApprovalScreen))
        await pilot.pause(0.7)  # past the arming delay
        assert screen.busy

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
