"""History writes on the writer thread: queued in order, kept while another process holds the
write lock, written once it lets go; flush, close and failing disks."""

from __future__ import annotations

import threading
from pathlib import Path

from backends.events import Usage
from testkit.store import WriteLockHolder, full_disk
from tui.recorder import ChatRecorder
from tui.store.store import open_store


def test_recorder_never_waits_for_a_locked_database_and_nothing_is_lost(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    store = open_store(db)
    store.read_wait_s = 0.0  # as in the app: reads never wait for the lock
    changed = threading.Event()
    store.on_change = changed.set
    recorder = ChatRecorder(store, flush_interval_s=0.0)
    with WriteLockHolder(db) as holder:
        # Every call returns while the other process still holds the lock: none of them waits.
        created = recorder.record_user("部署 please", backend="b", model="m", system=None, params={})
        recorder.begin_reply(backend="b", model="m", params={"seed": 1})
        for text in ("x", "x =", "x = 3"):
            recorder.progress(text)
        recorder.tool_call("c1", "python", "print(7/2)")
        recorder.tool_result("c1", "3.5", True, 0.1)
        recorder.finish_reply("x = 3.5", "done", Usage(3, 4, 0.2, 12.5, 0.3))
        recorder.record_user("second", backend="b", model="m", system=None, params={})
        assert created and recorder.conversation_id is None  # not written yet
        # 3 progress saves of the same reply waiting in a row count as one: 10 calls, 8 writes.
        assert store.pending_writes == 8
        assert not store.flush(0.2)
        assert store.list_conversations() == []  # a read goes ahead with what is saved
        holder.release()
        assert store.flush(30)
    assert changed.wait(30)  # the stale read is followed by a change notice
    cid = recorder.conversation_id
    assert cid is not None and store.warning is None
    messages = store.get_messages(cid)
    assert [(m.role, m.content, m.status) for m in messages] == [
        ("user", "部署 please", "done"),
        ("assistant", "x = 3.5", "done"),
        ("user", "second", "done"),
    ]
    assert messages[1].tokens_per_s == 12.5
    assert [(t.call_id, t.output, t.ok) for t in store.tool_events(messages[1].id)] == [("c1", "3.5", True)]
    assert [h.message_id for h in store.search("部署")] == [messages[0].id]


def test_writes_keep_their_order_across_threads_of_callers(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.sqlite3")
    cid = store.submit_conversation("order")
    futures = [store.submit_message(cid, "user", f"m{i}") for i in range(200)]
    assert store.flush(30)
    ids = [f.result() for f in futures]
    assert ids == sorted(ids) and None not in ids
    conversation_id = cid.result()
    assert conversation_id is not None
    assert [m.content for m in store.get_messages(conversation_id)] == [f"m{i}" for i in range(200)]


def test_close_flushes_and_reports_writes_it_could_not_make(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    store = open_store(db)
    cid = store.create_conversation("kept")
    assert cid is not None
    store.submit_message(cid, "user", "queued before close")
    assert store.close(10)  # nothing locked: close waits for the write
    assert [m.content for m in open_store(db).get_messages(cid)] == ["queued before close"]

    store = open_store(db)
    with WriteLockHolder(db):
        lost = store.submit_message(cid, "user", "cannot be written in time")
        assert store.close(0.2) is False
        assert store.warning is not None and "locked" in store.warning
        assert lost.result(10) is None  # resolved, so nobody waits for it for ever
    assert store.submit_message(cid, "user", "after close").result(10) is None


def test_a_failed_write_skips_the_writes_that_need_its_id(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.sqlite3")
    cid = store.create_conversation("before")
    assert cid is not None
    full_disk(store)
    conversation = store.submit_conversation("x" * 200_000)
    reply = store.submit_message(conversation, "assistant", "", status="streaming")
    update = store.submit_update(reply, content="text")
    tool = store.submit_tool_call(reply, "c1", "python", "1")
    assert store.flush(30)
    assert (conversation.result(), reply.result(), update.result(), tool.result()) == (None, None, None, None)
    assert store.warning is not None and "not being saved" in store.warning
    assert [c.title for c in store.list_conversations()] == ["before"]


def test_in_memory_fallback_reads_what_the_writer_wrote(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = open_store(blocker / "h.sqlite3")
    cid = store.submit_conversation("memory")
    store.submit_message(cid, "user", "kept in memory")
    assert [c.title for c in store.list_conversations()] == ["memory"]
    conversation_id = cid.result()
    assert conversation_id is not None
    assert [m.content for m in store.get_messages(conversation_id)] == ["kept in memory"]


def test_saves_of_a_streaming_reply_do_not_pile_up_while_locked(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    store = open_store(db)
    cid = store.create_conversation("long lock")
    assert cid is not None
    recorder = ChatRecorder(store, cid, flush_interval_s=0.0)
    with WriteLockHolder(db) as holder:
        recorder.record_user("go", backend="b", model="m", system=None, params={})
        recorder.begin_reply(backend="b", model="m", params={})
        text = ""
        for i in range(500):
            text += f"token{i} "
            recorder.progress(text)
        assert store.pending_writes == 3  # the prompt, the reply row, its latest text
        recorder.tool_call("c1", "python", "1")
        recorder.progress(text + "after the tool")  # not merged across the tool call
        assert store.pending_writes == 5
        holder.release()
        assert store.flush(30)
    (user, reply) = store.get_messages(cid)
    assert (user.content, reply.content, reply.status) == ("go", text + "after the tool", "streaming")


def test_reads_do_not_wait_while_the_writer_is_held_up_by_another_instance(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    store = open_store(db)
    store.read_wait_s = 60.0  # far longer than the test may take: a read that waited would hang
    with WriteLockHolder(db):
        pending = store.submit_conversation("queued")
        seen = threading.Event()
        while not store._writer.blocked:  # the writer has met the lock
            seen.wait(0.01)
        result: list[object] = []
        reader = threading.Thread(target=lambda: result.append(store.list_conversations()))
        reader.start()
        reader.join(30)
        assert result == [[]] and not pending.done()
    assert pending.result(30) is not None
    assert [c.title for c in store.list_conversations()] == ["queued"]
