"""Pilot tests: regenerate, edit and move between versions by keyboard, on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from backends.events import Done
from testkit.app import scripted_app, settle, tokens, wait_for
from testkit.store import WriteLockHolder, full_disk
from tui.screens.chat import ChatScreen
from tui.screens.confirm import ConfirmScreen
from tui.settings import AppSettings
from tui.widgets.assistant_message import AssistantMessage
from tui.widgets.chat_pane import ChatPane
from tui.widgets.prompt_input import PromptInput
from tui.widgets.user_message import UserMessage

ANSWERS = ["first answer", "second answer", "third answer", "answer to the edit", "follow-up answer"]


def shown(screen: ChatScreen) -> list[str]:
    """The chat pane's messages as drawn, top to bottom."""
    return [w.raw_text if isinstance(w, UserMessage) else w.text for w in screen.query_one(ChatPane).messages]


def notes(screen: ChatScreen) -> list[str]:
    return [str(m.query_one(".note").render()) for m in screen.query(AssistantMessage)]


async def ready(pilot: Pilot[None]) -> ChatScreen:
    screen = pilot.app.screen
    assert isinstance(screen, ChatScreen)
    await wait_for(pilot, lambda: screen.session.backend is not None)
    return screen


async def replied(pilot: Pilot[None], screen: ChatScreen, text: str) -> None:
    await wait_for(pilot, lambda: not screen.busy and bool(shown(screen)) and shown(screen)[-1] == text)


async def test_regenerate_twice_step_through_versions_edit_and_go_back(tmp_path: Path) -> None:
    turns = [[*tokens(answer), Done("stop")] for answer in ANSWERS]
    app, backend = scripted_app(turns, settings=AppSettings(db_path=tmp_path / "h.sqlite3"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot)
        await pilot.press(*"question", "enter")
        await replied(pilot, screen, "first answer")
        await pilot.press("ctrl+r")
        await replied(pilot, screen, "second answer")
        await pilot.press("ctrl+r")
        await replied(pilot, screen, "third answer")
        assert shown(screen) == ["question", "third answer"]
        assert notes(screen)[-1].startswith("‹ 3/3 ›")
        # every regenerate sent the same conversation: the question alone
        assert [[m.content for m in sent] for sent in backend.seen] == [["question"]] * 3
        await pilot.press("f8")
        await wait_for(pilot, lambda: shown(screen) == ["question", "second answer"])
        await pilot.press("f8")
        await wait_for(pilot, lambda: shown(screen) == ["question", "first answer"])
        assert notes(screen)[-1].startswith("‹ 1/3 ›")
        await pilot.press("f8")  # there is no version 0: nothing changes
        await settle(pilot)
        assert shown(screen) == ["question", "first answer"]
        await pilot.press("f9", "f9")
        await wait_for(pilot, lambda: shown(screen) == ["question", "third answer"])
        # edit the first prompt: select it in the chat pane, e, change it, Enter
        screen.query_one(ChatPane).focus()
        await pilot.press("up", "e")
        prompt = screen.query_one(PromptInput)
        await wait_for(pilot, lambda: prompt.has_focus and prompt.text == "question")
        await pilot.press("end", *" (edited)", "enter")
        await replied(pilot, screen, "answer to the edit")
        assert shown(screen) == ["question (edited)", "answer to the edit"]
        assert str(screen.query_one(UserMessage).render()).startswith("‹ 2/2 ›")
        assert [m.content for m in backend.seen[-1]] == ["question (edited)"]
        # back to the first branch: its newest reply is shown again
        screen.query_one(ChatPane).focus()
        await pilot.press("up", "left")
        await wait_for(pilot, lambda: shown(screen) == ["question", "third answer"])
        # the next prompt continues the branch on screen
        await pilot.press("ctrl+l", *"more", "enter")
        await replied(pilot, screen, "follow-up answer")
        assert [m.content for m in backend.seen[-1]] == ["question", "third answer", "more"]


async def test_escape_leaves_editing_and_the_prompt_then_sends_normally(tmp_path: Path) -> None:
    turns = [[*tokens("one"), Done("stop")], [*tokens("two"), Done("stop")]]
    app, _ = scripted_app(turns, settings=AppSettings(db_path=tmp_path / "h.sqlite3"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot)
        await pilot.press(*"hello", "enter")
        await replied(pilot, screen, "one")
        await pilot.press("ctrl+g")
        prompt = screen.query_one(PromptInput)
        await wait_for(pilot, lambda: prompt.text == "hello" and screen.branches.editing is not None)
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen.branches.editing is None)
        prompt.clear()
        await pilot.press(*"again", "enter")
        await replied(pilot, screen, "two")
        assert shown(screen) == ["hello", "one", "again", "two"]


async def test_delete_a_branch_asks_first_and_keeps_the_other_versions(tmp_path: Path) -> None:
    turns = [[*tokens(answer), Done("stop")] for answer in ("keep me", "delete me")]
    app, _ = scripted_app(turns, settings=AppSettings(db_path=tmp_path / "h.sqlite3"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot)
        await pilot.press(*"q", "enter")
        await replied(pilot, screen, "keep me")
        await pilot.press("ctrl+r")
        await replied(pilot, screen, "delete me")
        screen.query_one(ChatPane).focus()
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # the default answer is no
        await wait_for(pilot, lambda: app.screen is screen)
        assert shown(screen) == ["q", "delete me"]
        screen.query_one(ChatPane).focus()
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: shown(screen) == ["q", "keep me"])
        assert not notes(screen)[-1].startswith("‹")  # one version is left


async def test_under_another_instances_lock_a_live_message_gets_its_own_id_never_a_neighbours(
    tmp_path: Path,
) -> None:
    """Ids come from the rows the messages were queued as: while the writer waits behind a lock a
    drawn reply has no id yet (branch actions say history is busy), and then exactly its own."""
    db = tmp_path / "h.sqlite3"
    turns = [[*tokens(a), Done("stop")] for a in ("a1", "a2", "a2 again")]
    app, backend = scripted_app(turns, settings=AppSettings(db_path=db))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot)
        await pilot.press(*"q1", "enter")
        await replied(pilot, screen, "a1")
        holder = WriteLockHolder(db)
        try:
            await pilot.press(*"q2", "enter")
            await replied(pilot, screen, "a2")
            reply = screen.query(AssistantMessage).last()
            assert screen.branches.message_id(reply) is None  # queued behind the lock: unknown
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: any("busy" in n.message for n in app._notifications))
            assert len(backend.seen) == 2  # nothing was regenerated against an old tree
        finally:
            holder.release()
        assert screen.session.synced()
        reply_id = screen.branches.message_id(reply)
        saved = screen.session.store.get_path(screen.session.conversation_id or 0)
        assert [m.content for m in saved] == ["q1", "a1", "q2", "a2"] and reply_id == saved[-1].id
        await pilot.press("ctrl+r")
        await replied(pilot, screen, "a2 again")
        assert [m.content for m in backend.seen[-1]] == ["q1", "a1", "q2"]


async def test_with_history_not_saved_branch_actions_are_refused_and_nothing_is_sent(tmp_path: Path) -> None:
    turns = [[*tokens("one"), Done("stop")], [*tokens("two"), Done("stop")]]
    app, backend = scripted_app(turns, settings=AppSettings(db_path=tmp_path / "h.sqlite3"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot)
        await pilot.press(*"hello", "enter")
        await replied(pilot, screen, "one")
        full_disk(screen.session.store)
        screen.session.store.warning = "history is not being saved: database or disk is full"
        for key in ("ctrl+r", "ctrl+g", "f8"):
            await pilot.press(key)
            await settle(pilot)
        assert len(backend.seen) == 1 and screen.branches.editing is None
        assert any("branching is off" in n.message for n in app._notifications)
        assert shown(screen) == ["hello", "one"]


async def test_editing_a_stored_prompt_shows_control_characters_as_placeholders_and_sends_it_as_it_was(
    tmp_path: Path,
) -> None:
    raw = "colour \x1b]52;c;cHduZWQ=\x07 please"
    turns = [[*tokens("one"), Done("stop")], [*tokens("two"), Done("stop")]]
    app, backend = scripted_app(turns, settings=AppSettings(db_path=tmp_path / "h.sqlite3"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot)
        prompt = screen.query_one(PromptInput)
        prompt.text = raw
        await pilot.press("enter")
        await replied(pilot, screen, "one")
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: screen.branches.editing is not None)
        assert "\x1b" not in prompt.text and "␛" in prompt.text
        await pilot.press("enter")  # unchanged: the original prompt is what is sent again
        await replied(pilot, screen, "two")
        assert backend.seen[-1][-1].content == raw
