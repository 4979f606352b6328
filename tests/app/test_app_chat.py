"""Pilot tests of the chat flow with a scripted backend: send, stream, cancel, quit."""

from __future__ import annotations

from backends.events import Done, Error, TokenDelta, Usage
from testkit.app import scripted_app, settle, tokens, wait_for
from tui.screens.chat import ChatScreen
from tui.widgets.assistant_message import AssistantMessage
from tui.widgets.prompt_input import PromptInput
from tui.widgets.status_line import StatusLine
from tui.widgets.user_message import UserMessage


async def test_type_send_and_stream_a_reply() -> None:
    reply = [
        *tokens("Hello **there**, here is code:\n\n```python\nprint(1)\n```"),
        Done("stop", Usage(5, 9, 0.1, 42.0, 0.3)),
    ]
    app, backend = scripted_app([reply])
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: screen.session.backend is not None)
        await pilot.press(*"hi there")
        await pilot.press("ctrl+j")
        await pilot.press(*"second line")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not screen.busy and bool(screen.query(AssistantMessage)))
        user = screen.query_one(UserMessage)
        assert user.raw_text == "hi there\nsecond line"
        view = screen.query_one(AssistantMessage)
        assert view.text == "Hello **there**, here is code:\n\n```python\nprint(1)\n```"
        assert screen.query_one(PromptInput).text == ""
        assert backend.seen[-1][-1].content == "hi there\nsecond line"
        status = str(screen.query_one(StatusLine).render())
        assert "42.0 tok/s" in status and "TTFT 0.10 s" in status


async def test_escape_cancels_and_no_token_appears_after() -> None:
    long_reply = [TokenDelta(f"word{i} ") for i in range(400)]
    app, _ = scripted_app([long_reply], delay_s=0.01)
    async with app.run_test() as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: screen.session.backend is not None)
        await pilot.press(*"go", "enter")
        await wait_for(
            pilot,
            lambda: (
                bool(screen.query(AssistantMessage)) and len(screen.query_one(AssistantMessage).text) > 20
            ),
        )
        await pilot.press("escape")
        view = screen.query_one(AssistantMessage)
        text_at_cancel = view.text
        await wait_for(pilot, lambda: not screen.busy)
        await app.workers.wait_for_complete()  # the backend has stopped: nothing more can arrive
        await settle(pilot)
        assert view.text == text_at_cancel
        assert 0 < len(text_at_cancel) < len("".join(t.text for t in long_reply))
        assert screen.session.conversation.messages[-1].content == text_at_cancel
        assert "stopped" in view.query_one(".note").render().plain  # type: ignore[attr-defined]
        # the user can ask again
        await pilot.press(*"again", "enter")
        await wait_for(pilot, lambda: len(screen.query(AssistantMessage)) == 2 and not screen.busy)
        assert "again" in screen.query(AssistantMessage).last().text


async def test_error_keeps_partial_reply_and_next_prompt_works() -> None:
    app, _ = scripted_app([[TokenDelta("partial "), Error("server unreachable")]])
    async with app.run_test() as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: screen.session.backend is not None)
        await pilot.press(*"q", "enter")
        await wait_for(pilot, lambda: bool(screen.query(AssistantMessage)) and not screen.busy)
        view = screen.query_one(AssistantMessage)
        assert view.text == "partial "
        note = view.query_one(".note").render().plain  # type: ignore[attr-defined]
        assert "server unreachable" in note and "partial" in note
        await pilot.press(*"next", "enter")
        await wait_for(pilot, lambda: len(screen.query(AssistantMessage)) == 2 and not screen.busy)


async def test_quit_mid_stream() -> None:
    app, _ = scripted_app([[TokenDelta(f"t{i} ") for i in range(10_000)]], delay_s=0.01)
    async with app.run_test() as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: screen.session.backend is not None)
        await pilot.press(*"go", "enter")
        await wait_for(pilot, lambda: screen.busy and bool(screen.query_one(AssistantMessage).text))
        await pilot.press("ctrl+q")
    assert app.return_code == 0


async def test_prompt_typed_while_loading_is_sent_when_ready() -> None:
    import threading

    from backends.scripted import ScriptedBackend
    from tui.app import InternLMApp
    from tui.settings import AppSettings

    release = threading.Event()

    def slow_factory(progress):  # type: ignore[no-untyped-def]
        progress("loading weights", 0.5)
        release.wait(10)
        return ScriptedBackend()

    app = InternLMApp(AppSettings(), backend_factory=slow_factory)
    async with app.run_test() as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await pilot.press(*"early", "enter")
        await settle(pilot)
        assert screen.session.backend is None and screen.query_one(UserMessage).raw_text == "early"
        release.set()
        await wait_for(pilot, lambda: bool(screen.query(AssistantMessage)) and not screen.busy)
        assert "early" in screen.query_one(AssistantMessage).text


async def test_every_binding_is_in_the_command_palette() -> None:
    app, _ = scripted_app()
    async with app.run_test() as pilot:
        screen = app.screen
        await pilot.pause()
        titles = {command.title for command in app.get_system_commands(screen)}
        for binding in screen.BINDINGS:
            assert binding.description in titles  # type: ignore[union-attr]
