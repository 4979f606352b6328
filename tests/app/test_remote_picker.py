"""The model picker: a key opens the server's model list; the pick is used for the next reply."""

from __future__ import annotations

import socket

from textual.widgets import Label, OptionList, Static

from backends.base import ChatBackend, ProgressCallback
from backends.options import BackendOptions, RemoteOptions
from backends.remote.backend import RemoteBackend
from testkit.app import scripted_app, settle, wait_for
from testkit.fault_server import fault_server, head, sse
from tui.app import InternLMApp
from tui.screens.chat import ChatScreen
from tui.settings import AppSettings
from tui.widgets.assistant_message import AssistantMessage
from tui.widgets.model_picker import ModelPicker
from tui.widgets.status_line import StatusLine


def reply(conn: socket.socket, attempt: int) -> None:
    conn.sendall(head() + sse("hi") + sse(finish="stop") + b"data: [DONE]\n\n")


def remote_app(base_url: str) -> tuple[InternLMApp, AppSettings]:
    settings = AppSettings(backend=BackendOptions(backend="remote", remote=RemoteOptions(base_url=base_url)))

    def factory(progress: ProgressCallback) -> ChatBackend:
        return RemoteBackend.connect(settings.backend, progress)

    return InternLMApp(settings, backend_factory=factory), settings


async def test_pick_a_model_with_a_key_and_the_next_reply_uses_it() -> None:
    with fault_server(reply, models=("alpha", "beta", "gam\x1b[31mma")) as server:
        app, _ = remote_app(server.base_url)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = app.screen
            assert isinstance(screen, ChatScreen)
            # the status line is set after the loading panel is removed: wait for it, not the backend
            await wait_for(pilot, lambda: "remote · alpha" in str(screen.query_one(StatusLine).render()))
            await pilot.press("ctrl+o")
            await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker))
            options = app.screen.query_one(OptionList)
            await wait_for(pilot, lambda: options.option_count == 3)
            assert options.highlighted == 0  # the current model
            assert "\x1b" not in str(options.get_option_at_index(2).prompt)  # server text is sanitised
            await pilot.press("down", "enter")
            await wait_for(pilot, lambda: app.screen is screen)
            backend = screen.session.backend
            assert isinstance(backend, RemoteBackend) and backend.model == "beta"
            assert "remote · beta" in str(screen.query_one(StatusLine).render())

            await pilot.press(*"hello", "enter")
            await wait_for(pilot, lambda: not screen.busy and bool(screen.query(AssistantMessage)))
            assert screen.query_one(AssistantMessage).text == "hi"
            assert server.posts[-1].body["model"] == "beta"

            await pilot.press("ctrl+o")  # Esc keeps the model
            await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker))
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is screen)
            assert backend.model == "beta"


async def test_picker_says_in_one_line_when_the_server_is_gone() -> None:
    with fault_server(reply, models=("alpha",)) as server:
        app, _ = remote_app(server.base_url)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = app.screen
            assert isinstance(screen, ChatScreen)
            await wait_for(pilot, lambda: screen.session.backend is not None)
            server.close()
            await pilot.press("ctrl+o")
            await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker))
            note = app.screen.query_one("#model-picker-note", Label)
            await wait_for(pilot, lambda: "unreachable" in str(note.render()))
            assert app.screen.query_one(OptionList).option_count == 0
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is screen)
            assert (
                isinstance(screen.session.backend, RemoteBackend) and screen.session.backend.model == "alpha"
            )


async def test_no_picker_for_a_single_model_backend() -> None:
    app, _ = scripted_app([])
    async with app.run_test() as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: screen.session.backend is not None)
        assert screen.check_action("pick_model", ()) is False
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert app.screen is screen


def cut_mid_reply(conn: socket.socket, attempt: int) -> None:
    conn.sendall(head() + sse("half a reply") + b'data: {"choices": [{"delta": {"cont')


async def test_a_stream_cut_by_the_server_says_once_that_the_partial_reply_is_kept() -> None:
    with fault_server(cut_mid_reply) as server:
        app, _ = remote_app(server.base_url)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = app.screen
            assert isinstance(screen, ChatScreen)
            await wait_for(pilot, lambda: screen.session.backend is not None)
            await pilot.press(*"go", "enter")
            await wait_for(pilot, lambda: bool(screen.query(AssistantMessage)) and not screen.busy)
            view = screen.query_one(AssistantMessage)
            note = str(view.query_one(".note", Static).render())
            assert view.text == "half a reply"
            assert note.count("partial reply kept") == 1, note
            assert "cut off" in note
