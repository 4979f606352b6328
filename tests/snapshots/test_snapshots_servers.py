"""Snapshot of the Servers screen (F12) at 80x24: healthy, dead and unchecked servers, 16 colours too."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from backends.base import ChatBackend, ProgressCallback
from backends.remote.endpoints import EndpointStatus
from backends.scripted import ScriptedBackend
from testkit.app import ready_screen, wait_for
from tui.app import InternLMApp
from tui.screens.servers import ServersScreen
from tui.settings import AppSettings

STATUSES = [
    EndpointStatus("http://gpu-a:23333/v1", True, 0.012, "ok (/health)", 1.0, lmdeploy=True),
    EndpointStatus(
        "http://gpu-b:23333/v1",
        False,
        None,
        "server unreachable at http://gpu-b:23333/v1 (ConnectError)",
        1.0,
    ),
    EndpointStatus("http://gpu-c:8000/v1", True, 0.048, "ok (/v1/models)", 1.0),
    EndpointStatus("http://gpu-d:8000/v1\x1b[2J", None),
]


class ServedBackend(ScriptedBackend):
    """A scripted backend with fixed server statuses (so the snapshot does not depend on timing)."""

    def endpoint_statuses(self) -> list[EndpointStatus]:
        return STATUSES

    def check_endpoints(self) -> list[EndpointStatus]:
        return STATUSES

    def current_endpoint(self) -> str | None:
        return "http://gpu-a:23333/v1"


def served_app(theme: str | None = None) -> InternLMApp:
    backend = ServedBackend()

    def factory(progress: ProgressCallback) -> ChatBackend:
        return backend

    return InternLMApp(AppSettings(theme=theme), backend_factory=factory)


@pytest.mark.parametrize("theme", [None, "internlm-ansi"])
def test_servers_screen_80x24(snap_compare: Any, theme: str | None) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await ready_screen(pilot)
        await pilot.press("f12")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ServersScreen))
        note = pilot.app.screen.query_one("#servers-note")
        await wait_for(pilot, lambda: "healthy" in str(note.render()))

    assert snap_compare(served_app(theme), terminal_size=(80, 24), run_before=run_before)
