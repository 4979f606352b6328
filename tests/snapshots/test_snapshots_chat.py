"""Snapshot tests of the chat screen: empty, and with a finished reply (scripted backend)."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from backends.events import Done, Usage
from testkit.app import REPLY, ask, ready_screen, scripted_app, tokens


def test_empty_screen(snap_compare: Any) -> None:
    app, _ = scripted_app()

    async def run_before(pilot: Pilot[None]) -> None:
        await ready_screen(pilot)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_finished_reply(snap_compare: Any) -> None:
    app, _ = scripted_app([[*tokens(REPLY), Done("stop", Usage(12, 30, 0.25, 14.2, 2.1))]])

    async def run_before(pilot: Pilot[None]) -> None:
        await ask(pilot, "write an add function")

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
