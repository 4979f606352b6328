"""The Servers screen (F12 / palette "Servers"): each server's health and latency, ``r`` checks again."""

from __future__ import annotations

from textual.widgets import Label, Static

from backends.base import ChatBackend, ProgressCallback
from backends.options import BackendOptions, RemoteOptions
from backends.remote.backend import RemoteBackend
from testkit.app import scripted_app, wait_for
from testkit.fault_server import dead_url, fault_server, hello
from tui.app import InternLMApp
from tui.screens.chat import ChatScreen
from tui.screens.servers import ServersScreen
from tui.settings import AppSettings


def servers_app(*urls: str) -> InternLMApp:
    remote = RemoteOptions(base_url=urls[0], more_urls=tuple(urls[1:]), connect_timeout_s=2)
    settings = AppSettings(backend=BackendOptions(backend="remote", remote=remote))

    def factory(progress: ProgressCallback) -> ChatBackend:
        return RemoteBackend.connect(settings.backend, progress)

    return InternLMApp(settings, backend_factory=factory)


def table_text(app: InternLMApp) -> str:
    return str(app.screen.query_one("#servers-table", Static).render())


async def test_servers_screen_shows_health_and_checks_again() -> None:
    dead = dead_url()
    with fault_server(hello) as good, fault_server(hello, models=("m\x1b]0;x\x07",)) as other:
        app = servers_app(good.base_url, dead, other.base_url)
        async with app.run_test(size=(120, 30)) as pilot:
            screen = app.screen
            assert isinstance(screen, ChatScreen)
            await wait_for(pilot, lambda: screen.session.backend is not None)
            await pilot.press("f12")
            await wait_for(pilot, lambda: isinstance(app.screen, ServersScreen))
            note = app.screen.query_one("#servers-note", Label)
            await wait_for(pilot, lambda: "2 of 3 healthy" in str(note.render()))
            text = table_text(app)
            assert good.base_url in text and "ok (/health)" in text and " ms" in text
            assert "server unreachable" in text and "\x1b" not in text
            await pilot.press(*"hi", "escape")  # typing here goes nowhere; Esc closes
            await wait_for(pilot, lambda: app.screen is screen)

            other.close()  # it dies: r shows it
            await pilot.press("f12")
            await wait_for(pilot, lambda: isinstance(app.screen, ServersScreen))
            note = app.screen.query_one("#servers-note", Label)
            await wait_for(pilot, lambda: "1 of 3 healthy" in str(note.render()))
            good.close()
            await pilot.press("r")
            await wait_for(pilot, lambda: "0 of 3 healthy" in str(note.render()))
            await pilot.press("escape")


async def test_servers_key_does_nothing_without_servers() -> None:
    app, _ = scripted_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: screen.session.backend is not None)
        assert screen.check_action("servers", ()) is False
        await pilot.press("f12")
        await pilot.pause()
        assert app.screen is screen
        screen.action_servers()  # from the palette: says why, opens nothing
        await wait_for(pilot, lambda: any("No servers" in str(n.message) for n in app._notifications))
        assert app.screen is screen
