"""Bad input in the app: huge and control-laden pastes, quitting mid-stream, links, notifications."""

from __future__ import annotations

from textual import events
from textual.widgets import Markdown

from backends.events import TokenDelta
from testkit.app import scripted_app, settle, tokens, wait_for
from tui.screens.chat import ChatScreen
from tui.store.store import open_store
from tui.widgets.assistant_message import AssistantMessage
from tui.widgets.prompt_input import PromptInput
from tui.widgets.user_message import DISPLAY_LIMIT, UserMessage


async def test_a_one_megabyte_paste_is_sent_and_saved_whole() -> None:
    app, _ = scripted_app([tokens("got it")])
    big = ("lorem ipsum dolor sit amet " * 40 + "\n") * 960
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: screen.session.backend is not None)
        prompt = screen.query_one(PromptInput)
        app.post_message(events.Paste(big))
        await wait_for(pilot, lambda: prompt.text == big, timeout=30)
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(screen.query(AssistantMessage)) and not screen.busy, timeout=60)
        shown = str(screen.query_one(UserMessage).render())
        assert len(shown) < DISPLAY_LIMIT + 200 and f"{len(big):,} characters" in shown
        cid = screen.session.conversation.conversation_id
        assert cid is not None
        assert app.store.get_messages(cid)[0].content == big


async def test_pasted_control_characters_become_visible_and_nothing_is_dropped() -> None:
    app, _ = scripted_app([])
    async with app.run_test() as pilot:
        prompt = app.screen.query_one(PromptInput)
        app.post_message(events.Paste("a\x1b[31mred\x00nul\r\nline2\x9b\ttab"))
        await wait_for(pilot, lambda: "line2" in prompt.text)
        assert prompt.text == "a␛[31mred␀nul\nline2\\x9b\ttab"
        assert "\x1b" not in "".join(segment.text for segment in prompt.render_line(0))


async def test_quitting_mid_stream_saves_the_partial_reply() -> None:
    app, _ = scripted_app([[TokenDelta(f"w{i} ") for i in range(500)]], delay_s=0.01)
    async with app.run_test() as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: screen.session.backend is not None)
        await pilot.press(*"hi", "enter")
        await wait_for(pilot, lambda: "w20" in "".join(r.text for r in screen.query(AssistantMessage)))
        cid = screen.session.conversation.conversation_id
        store = app.store
        await pilot.press("ctrl+q")
    assert cid is not None and store.path is not None
    reply = open_store(store.path).get_messages(cid)[1]  # the app closed its store on exit
    assert reply.status in ("cancelled", "interrupted") and reply.content.startswith("w0 w1 w2 ")


async def test_links_are_shown_not_opened_and_notifications_are_plain() -> None:
    app, _ = scripted_app([tokens("see [the docs](https://evil.example/x) now")])
    opened: list[str] = []
    async with app.run_test() as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        app.open_url = lambda url, **_: opened.append(url)  # type: ignore[method-assign]
        await wait_for(pilot, lambda: screen.session.backend is not None)
        await pilot.press(*"go", "enter")
        await wait_for(pilot, lambda: bool(screen.query(AssistantMessage)) and not screen.busy)
        markdown = screen.query_one(AssistantMessage).query_one(Markdown)
        markdown.post_message(Markdown.LinkClicked(markdown, "https://evil.example/x"))
        await wait_for(pilot, lambda: any("evil.example" in n.message for n in app._notifications))
        app.notify("\x1b]0;t\x07 [bold]b[/]", title="[i]x\x1b")
        await settle(pilot)
        last = list(app._notifications)[-1]
        assert last.message == "␛]0;t␇ [bold]b[/]" and last.title == "[i]x␛" and last.markup is False
    assert opened == []
