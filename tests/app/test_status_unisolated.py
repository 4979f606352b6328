"""The status line keeps a marker while tools run unisolated (the user's opt-in)."""

from __future__ import annotations

from textual.app import App, ComposeResult

from backends.events import BackendInfo
from tui.widgets.status_line import StatusLine


class StatusApp(App[None]):
    def compose(self) -> ComposeResult:
        yield StatusLine()


async def test_marker_shown_only_while_tools_are_unisolated() -> None:
    app = StatusApp()
    async with app.run_test() as pilot:
        status = app.query_one(StatusLine)
        status.set_backend(BackendInfo("agent", "m", "cpu", frozenset({"tools", "tools-unisolated"})))
        await pilot.pause()
        assert str(status.render()).startswith("⚠ tools unisolated │ agent · m")
        status.set_backend(BackendInfo("agent", "m", "cpu", frozenset({"tools"})))
        await pilot.pause()
        assert "unisolated" not in str(status.render())
