"""The chat session on a real SQLite file and the scripted backend: every rule of a chat, no UI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.events import (
    ChatMessage,
    Done,
    Error,
    GenerationParams,
    TokenDelta,
    ToolCall,
    ToolResult,
    Usage,
)
from backends.scripted import ScriptedBackend
from tui.session import ChatSession, Submitted, Version
from tui.settings import AppSettings
from tui.store.store import HistoryStore, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    opened = open_store(tmp_path / "h.sqlite3")
    yield opened
    opened.close()


def ready(store: HistoryStore, **settings: object) -> ChatSession:
    session = ChatSession(AppSettings(**settings), store)  # type: ignore[arg-type]
    session.backend_ready(ScriptedBackend())
    return session


def reply_rows(store: HistoryStore, session: ChatSession) -> list[tuple[str, str, str]]:
    assert session.conversation_id is not None
    return [(m.role, m.content, m.status) for m in store.get_messages(session.conversation_id)]


def test_a_turn_saves_the_prompt_first_then_the_reply_with_its_status(store: HistoryStore) -> None:
    session = ready(store, system="be brief")
    assert session.submit("hello") is Submitted.START
    assert reply_rows(store, session) == [("user", "hello", "done")]
    turn = session.begin_turn()
    assert turn.messages == [ChatMessage("system", "be brief"), ChatMessage("user", "hello")]
    assert reply_rows(store, session)[-1] == ("assistant", "", "streaming")
    for piece in ("Hi", " there"):
        assert session.apply(turn.turn_id, TokenDelta(piece)) is turn
    ended = session.finish(turn.turn_id, Done("stop", Usage(completion_tokens=2)))
    assert ended is not None and ended.status == "done" and ended.turn.text == "Hi there"
    assert not session.busy
    assert session.conversation.messages[-1] == ChatMessage("assistant", "Hi there")
    assert reply_rows(store, session)[-1] == ("assistant", "Hi there", "done")


def test_refusals_keep_nothing(store: HistoryStore) -> None:
    session = ready(store)
    assert session.submit("  \n ") is Submitted.EMPTY
    session.submit("one")
    session.begin_turn()
    assert session.submit("two") is Submitted.BUSY
    assert [m.content for m in session.conversation.messages] == ["one"]
    failed = ChatSession(AppSettings(), store)
    failed.backend_failed("no such model")
    assert failed.submit("three") is Submitted.UNAVAILABLE
    assert failed.conversation.messages == [] and failed.conversation_id is None


def test_a_prompt_sent_while_loading_is_saved_and_queued_until_the_backend_is_ready(
    store: HistoryStore,
) -> None:
    session = ChatSession(AppSettings(), store)
    assert session.submit("early") is Submitted.QUEUED
    assert reply_rows(store, session) == [("user", "early", "done")]
    assert session.backend_ready(ScriptedBackend()) is True
    assert session.backend_ready(ScriptedBackend()) is False  # the queue is taken once
    assert session.begin_turn().messages[-1] == ChatMessage("user", "early")


def test_events_of_a_superseded_turn_are_dropped(store: HistoryStore) -> None:
    session = ready(store)
    session.submit("first")
    old = session.begin_turn()
    session.finish(old.turn_id, Done("stop"))
    session.submit("second")
    new = session.begin_turn()
    assert session.apply(old.turn_id, TokenDelta("stale")) is None
    assert session.finish(old.turn_id, Done("stop")) is None
    assert session.busy and new.text == ""


def test_text_after_stop_is_dropped_and_the_reply_is_saved_as_cancelled(store: HistoryStore) -> None:
    session = ready(store)
    session.submit("go")
    turn = session.begin_turn()
    session.apply(turn.turn_id, TokenDelta("kept"))
    assert session.stop() is turn and turn.cancel.is_set()
    assert session.stop() is None  # a second Esc does nothing
    assert session.apply(turn.turn_id, TokenDelta(" late")) is None
    ended = session.finish(turn.turn_id, Done("stop"))
    assert ended is not None and ended.status == "cancelled" and ended.turn.text == "kept"
    assert reply_rows(store, session)[-1] == ("assistant", "kept", "cancelled")


def test_an_error_keeps_the_partial_text(store: HistoryStore) -> None:
    session = ready(store)
    session.submit("go")
    turn = session.begin_turn()
    session.apply(turn.turn_id, TokenDelta("half"))
    ended = session.finish(turn.turn_id, Error("the stream was cut off"))
    assert ended is not None and ended.status == "error"
    assert reply_rows(store, session)[-1] == ("assistant", "half", "error")


def test_tool_steps_are_saved_under_the_reply(store: HistoryStore) -> None:
    session = ready(store)
    session.submit("compute")
    turn = session.begin_turn()
    session.apply(turn.turn_id, ToolCall("c1", "python", "print(1)"))
    session.apply(turn.turn_id, ToolResult("c1", "1", ok=True, elapsed_s=0.1))
    session.finish(turn.turn_id, Done("stop"))
    assert session.conversation_id is not None
    reply = store.get_messages(session.conversation_id)[-1]
    [tool] = store.tool_events(reply.id)
    assert (tool.name, tool.arguments, tool.output, tool.ok) == ("python", "print(1)", "1", True)


def test_interrupt_saves_the_streaming_reply_and_close_releases_the_backend(store: HistoryStore) -> None:
    session = ready(store)
    backend = session.backend
    assert isinstance(backend, ScriptedBackend)
    session.submit("go")
    turn = session.begin_turn()
    session.apply(turn.turn_id, TokenDelta("partial"))
    session.close()
    assert turn.cancel.is_set() and session.turn is None and session.backend is None
    assert reply_rows(store, session)[-1] == ("assistant", "partial", "interrupted")


def test_new_and_open_switch_chats_and_never_leave_a_reply_streaming(store: HistoryStore) -> None:
    params = GenerationParams(temperature=0.3)
    session = ready(store, params=params)
    session.submit("first chat")
    first = session.conversation_id
    turn = session.begin_turn()
    session.apply(turn.turn_id, TokenDelta("cut"))
    session.new()
    assert first is not None and session.conversation_id is None and not session.busy
    assert turn.cancel.is_set()
    assert [(m.role, m.status) for m in store.get_messages(first)][-1] == ("assistant", "cancelled")
    session.params = GenerationParams(temperature=0.9)
    session.submit("second chat")
    opened = session.open(first)
    assert opened is not None and [m.content for m in opened.messages] == ["first chat", "cut"]
    assert session.conversation_id == first and session.params == params
    assert session.open(999_999) is None and session.conversation_id == first
    session.submit("more")
    assert [m.content for m in store.get_messages(first)][-1] == "more"


def test_deleting_the_current_chat_starts_a_new_one(store: HistoryStore) -> None:
    session = ready(store)
    session.submit("doomed")
    doomed = session.conversation_id
    assert doomed is not None
    session.new()
    session.submit("kept")
    kept = session.conversation_id
    assert kept is not None
    assert session.delete(doomed) is False and session.conversation_id == kept
    assert session.delete(kept) is True and session.conversation_id is None
    assert store.get_conversation(kept) is None and store.get_conversation(doomed) is None


def reply(session: ChatSession, text: str) -> None:
    turn = session.begin_turn()
    session.apply(turn.turn_id, TokenDelta(text))
    session.finish(turn.turn_id, Done("stop"))


def contents(session: ChatSession) -> list[str]:
    return [m.content for m in session.conversation.messages]


def test_regenerate_edit_and_switch_versions_keep_every_branch(store: HistoryStore) -> None:
    session = ready(store)
    session.submit("q1")
    reply(session, "a1")
    session.submit("q2")
    reply(session, "b1")
    assert session.regenerate() is Submitted.START  # the last reply again
    assert contents(session) == ["q1", "a1", "q2"]
    reply(session, "b2")
    assert contents(session) == ["q1", "a1", "q2", "b2"]
    [b2] = [m for m in session.path if m.content == "b2"]
    assert session.versions()[b2.id] == Version(2, 2)
    assert session.switch_version(b2.id, -1) is True
    assert contents(session) == ["q1", "a1", "q2", "b1"]
    assert session.switch_version(session.path[-1].id, -1) is False  # there is no version 0
    first = session.path[0]
    assert session.edit(first.id, "q1 edited") is Submitted.START
    reply(session, "c1")
    assert contents(session) == ["q1 edited", "c1"]
    edited = session.path[0]
    assert session.versions()[edited.id] == Version(2, 2)
    assert session.switch_version(edited.id, -1) is True  # back to the first branch, newest leaf
    assert contents(session) == ["q1", "a1", "q2", "b2"]
    assert session.conversation_id is not None
    assert len(store.get_messages(session.conversation_id)) == 7  # nothing was lost


def test_branch_from_a_reply_and_delete_a_branch(store: HistoryStore) -> None:
    session = ready(store)
    session.submit("q1")
    reply(session, "a1")
    session.submit("q2")
    reply(session, "b1")
    a1 = session.path[1]
    assert session.branch_from(a1.id) is True
    assert contents(session) == ["q1", "a1"]
    session.submit("other q2")
    reply(session, "other b1")
    assert contents(session) == ["q1", "a1", "other q2", "other b1"]
    other = session.path[2]
    assert session.versions()[other.id] == Version(2, 2)
    assert session.delete_branch(other.id) is True
    assert contents(session) == ["q1", "a1", "q2", "b1"]
    assert session.branch_from(session.path[0].id) is False  # only from a reply


def test_branch_operations_wait_for_the_streaming_reply(store: HistoryStore) -> None:
    session = ready(store)
    session.submit("q")
    reply(session, "a")
    session.submit("q again")
    session.begin_turn()
    assert session.regenerate() is Submitted.BUSY
    assert session.switch_version(session.path[0].id, 1) is False
    assert contents(session) == ["q", "a", "q again"]


def test_opening_a_search_hit_on_another_branch_shows_that_branch(store: HistoryStore) -> None:
    session = ready(store)
    session.submit("question")
    reply(session, "old answer")
    session.regenerate()
    reply(session, "new answer")
    cid = session.conversation_id
    assert cid is not None
    [hit] = store.search("old")
    session.new()
    opened = session.open(cid, at_message=hit.message_id)
    assert opened is not None and [m.content for m in opened.messages] == ["question", "old answer"]
    reopened = session.open(cid)
    assert reopened is not None and [m.content for m in reopened.messages][-1] == "old answer"


def test_text_waiting_in_the_inbox_is_taken_in_order_and_kept_by_stop_finish_and_hang_up(
    store: HistoryStore,
) -> None:
    session = ready(store)
    session.submit("go")
    turn = session.begin_turn()
    assert turn.inbox.put("a") is True  # the first piece wakes the screen
    assert turn.inbox.put("b") is False  # later ones ride on that wake-up
    assert session.take_text(turn.turn_id) == (turn, "ab")
    assert turn.inbox.put("c") is True  # taken: the next piece wakes again
    assert session.take_text(turn.turn_id + 1) is None  # a superseded turn takes nothing
    turn.inbox.put("d")
    assert session.stop() is turn and turn.text == "abcd"  # read before Esc: kept
    turn.inbox.put(" late")
    assert session.take_text(turn.turn_id) == (turn, "")  # after Esc: dropped
    session.finish(turn.turn_id, Done("cancelled"))
    assert reply_rows(store, session)[-1] == ("assistant", "abcd", "cancelled")

    session.submit("again")
    second = session.begin_turn()
    second.inbox.put("waiting")
    ended = session.finish(second.turn_id, Done("stop"))
    assert ended is not None and ended.turn.text == "waiting"

    session.submit("third")
    third = session.begin_turn()
    third.inbox.put("cut off")
    session.close()  # a hang-up saves what was read, shown or not
    assert reply_rows(store, session)[-1] == ("assistant", "cut off", "interrupted")
