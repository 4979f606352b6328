"""The history store on real SQLite files: migrations, search, recovery, damage, two writers."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from backends.events import Usage
from testkit.store import full_disk
from tui.recorder import SAVE_SCALE_CHARS, ChatRecorder
from tui.store.export import export, to_openai
from tui.store.migrations import LATEST_VERSION, MIGRATIONS
from tui.store.store import StoreVersionError, open_store, title_from_prompt


def make_schema(path: Path, version: int) -> sqlite3.Connection:
    """A database at an earlier schema version, built from the released migrations."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    for number in range(1, version + 1):
        conn.executescript(f"BEGIN;\n{MIGRATIONS[number - 1]}\nPRAGMA user_version = {number};\nCOMMIT;")
    return conn


@pytest.mark.parametrize("version", range(LATEST_VERSION))
def test_migrates_every_earlier_schema_keeping_data(tmp_path: Path, version: int) -> None:
    db = tmp_path / "h.sqlite3"
    conn = make_schema(db, version)
    if version >= 1:
        conn.execute("INSERT INTO conversations(title, created_at, updated_at) VALUES ('old chat', 1, 1)")
        conn.execute(
            "INSERT INTO messages(conversation_id, role, content, created_at)"
            " VALUES (1, 'user', 'volleyball rules', 1)"
        )
    conn.close()
    store = open_store(db)
    assert store.warning is None
    assert store._conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
    if version >= 1:
        assert [c.title for c in store.list_conversations()] == ["old chat"]
        assert [hit.snippet for hit in store.search("volleyball")] == ["volleyball rules"]
        backup = db.with_name(f"{db.name}.v{version}.bak")
        assert backup.exists()
        old = sqlite3.connect(str(backup))
        assert old.execute("PRAGMA user_version").fetchone()[0] == version
        old.close()
    assert store.integrity_ok()


FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("version", [1, 2, 3])
def test_migrates_frozen_fixture_of_each_released_schema(tmp_path: Path, version: int) -> None:
    """Databases exactly as earlier versions wrote them (frozen SQL files, not today's code)."""
    db = tmp_path / "h.sqlite3"
    conn = sqlite3.connect(str(db))
    conn.executescript((FIXTURES / f"history_schema_v{version}.sql").read_text())
    conn.close()
    store = open_store(db)
    assert store.warning is None and store.integrity_ok()
    assert store._conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
    backup = sqlite3.connect(str(db.with_name(f"{db.name}.v{version}.bak")))
    assert backup.execute("PRAGMA user_version").fetchone()[0] == version
    backup.close()
    (conversation,) = store.list_conversations()
    assert (conversation.title, conversation.system) == ("volleyball rules", "be brief")
    assert conversation.params == {"temperature": 0.7, "max_new_tokens": 256} and conversation.options == {}
    messages = store.get_messages(conversation.id)
    assert [(m.role, m.status) for m in messages] == [
        ("user", "done"),
        ("assistant", "done"),
        ("assistant", "interrupted"),
    ]
    assert (messages[1].tokens_per_s, messages[1].completion_tokens) == (14.2, 9)
    assert store.recovered == 1
    assert [hit.message_id for hit in store.search("men")] == [2]
    tools = store.tool_events(2)
    assert [(t.name, t.output, t.ok) for t in tools] == ([("python", "2.43", True)] if version >= 2 else [])
    cid = store.create_conversation("new", options={"backend": "local"})
    assert cid is not None and store.get_conversation(cid).options == {"backend": "local"}  # type: ignore[union-attr]


def test_wal_and_busy_timeout(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.sqlite3")
    assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000


def test_newer_database_is_refused_and_untouched(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    conn = sqlite3.connect(str(db))
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.close()
    before = db.read_bytes()
    with pytest.raises(StoreVersionError, match="newer internlm-tui"):
        open_store(db)
    assert db.read_bytes() == before


def test_corrupt_database_is_moved_aside(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    db.write_bytes(b"this is not a database" * 100)
    store = open_store(db)
    assert store.notice is not None and "moved to" in store.notice
    moved = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert len(moved) == 1 and moved[0].read_bytes().startswith(b"this is not")
    assert store.create_conversation("fresh") is not None


READ_ONLY_PROBE = """
import json, sys
from pathlib import Path
from tui.store.store import open_store
store = open_store(Path(sys.argv[1]))
warning_at_open = store.warning
titles = [c.title for c in store.list_conversations()]
new_id = store.create_conversation("new chat")
print(json.dumps({"warning": warning_at_open, "titles": titles, "new_id": new_id, "after": store.warning}))
"""


def test_read_only_file_keeps_old_chats_readable_with_a_warning() -> None:
    """The file belongs to someone else: reading works, writing is refused, the user is told.

    Root ignores file modes, so as root the probe runs as the unprivileged user ``nobody``.
    """
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o777)
        db = Path(folder) / "h.sqlite3"
        store = open_store(db)
        cid = store.create_conversation("old chat")
        assert cid is not None
        store.close()
        db.chmod(0o444)
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
        result = subprocess.run(
            [*prefix, sys.executable, "-c", READ_ONLY_PROBE, str(db)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd="/",
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )
        assert result.returncode == 0, result.stderr
        probe = json.loads(result.stdout)
        assert probe["titles"] == ["old chat"]
        assert probe["warning"] is not None and "read-only" in probe["warning"]
        assert probe["new_id"] is None and probe["after"] is not None
        assert [c.title for c in open_store(db).list_conversations()] == ["old chat"]


def test_unwritable_location_falls_back_to_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = open_store(blocker / "sub" / "h.sqlite3")
    assert store.warning is not None and "not being saved" in store.warning
    cid = store.create_conversation("still works")
    assert cid is not None


def test_streaming_rows_of_dead_processes_become_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    store = open_store(db)
    cid = store.create_conversation("t")
    assert cid is not None
    reply = store.add_message(cid, "assistant", "half a rep", status="streaming")
    store._conn.execute("UPDATE messages SET owner = 'otherhost:1' WHERE id = ?", (reply,))
    live = store.add_message(cid, "assistant", "still going", status="streaming")  # this process: alive
    store.close()
    assert reply is not None and live is not None
    again = open_store(db)
    statuses = {m.id: (m.status, m.content) for m in again.get_messages(cid)}
    assert statuses[reply] == ("interrupted", "half a rep")
    assert statuses[live] == ("streaming", "still going")
    assert again.recovered == 1


def test_zombie_owner_and_reused_pid_count_as_dead(tmp_path: Path) -> None:
    """A killed app that is not reaped yet, or a new process with its pid, does not own the row."""
    node = os.uname().nodename
    zombie = subprocess.Popen(["true"])
    while Path(f"/proc/{zombie.pid}/stat").read_text().split(") ")[1][0] != "Z":
        pass
    store = open_store(tmp_path / "h.sqlite3")
    cid = store.create_conversation("t")
    assert cid is not None
    owners = {
        "zombie": f"{node}:{zombie.pid}:",
        "reused": f"{node}:{os.getpid()}:1",  # our pid, but a different start time
        "old-format-live": f"{node}:{os.getpid()}",
    }
    ids = {}
    for name, owner in owners.items():
        ids[name] = store.add_message(cid, "assistant", name, status="streaming")
        store._conn.execute("UPDATE messages SET owner = ? WHERE id = ?", (owner, ids[name]))
    assert store.mark_interrupted() == 2
    statuses = {m.content: m.status for m in store.get_messages(cid)}
    assert statuses == {"zombie": "interrupted", "reused": "interrupted", "old-format-live": "streaming"}
    zombie.wait()


def test_search_finds_text_in_all_conversations_and_follows_edits(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.sqlite3")
    a = store.create_conversation("first")
    b = store.create_conversation("second")
    assert a and b
    store.add_message(a, "user", "how do I serve a volleyball?")
    mid = store.add_message(b, "assistant", "line one\nthe Volleyball net is 2.43 m\nline three")
    hits = store.search("volleyball")
    assert {h.conversation_id for h in hits} == {a, b}
    assert "the Volleyball net is 2.43 m" in [h.snippet for h in hits]
    assert mid is not None
    store.update_message(mid, content="nothing here now")
    assert {h.conversation_id for h in store.search("volleyball")} == {a}
    store.delete(a)
    assert store.search("volleyball") == []
    assert store.search('"quotes" and (parens*') == []


def test_windowed_reads(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.sqlite3")
    cid = store.create_conversation("long")
    assert cid
    ids = [store.add_message(cid, "user", f"m{i}") for i in range(120)]
    last = store.get_messages(cid, limit=50)
    assert [m.content for m in last] == [f"m{i}" for i in range(70, 120)]
    older = store.get_messages(cid, limit=50, before_id=last[0].id)
    assert [m.content for m in older] == [f"m{i}" for i in range(20, 70)]
    assert store.count_messages(cid) == 120 and ids[0] is not None


def test_two_instances_write_the_same_file(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    one, two = open_store(db), open_store(db)
    c1 = one.create_conversation("from one")
    c2 = two.create_conversation("from two")
    assert c1 and c2
    for i in range(20):
        one.add_message(c1, "user", f"one {i}")
        two.add_message(c2, "user", f"two {i}")
    assert {c.title for c in one.list_conversations()} == {"from one", "from two"}
    assert two.count_messages(c1) == 20 and one.count_messages(c2) == 20


def test_recorder_saves_prompt_first_and_reply_as_it_streams(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.sqlite3")
    recorder = ChatRecorder(store, flush_interval_s=0.0)
    recorder.record_user(
        "Solve 2x+3=10\nplease", backend="local", model="m", system="be brief", params={"seed": 1}
    )
    cid = recorder.conversation_id
    assert cid is not None
    conversation = store.get_conversation(cid)
    assert conversation and conversation.title == "Solve 2x+3=10" and conversation.system == "be brief"
    recorder.begin_reply(backend="local", model="m", params={"seed": 1})
    recorder.progress("x = ")
    saved = store.get_messages(cid)[-1]
    assert (saved.status, saved.content) == ("streaming", "x = ")
    recorder.tool_call("c1", "python", "print(7/2)")
    recorder.tool_result("c1", "3.5", True, 0.12)
    recorder.finish_reply("x = 3.5", "done", Usage(10, 4, 0.2, 12.5, 0.5))
    final = store.get_messages(cid)[-1]
    assert (final.status, final.content, final.completion_tokens, final.tokens_per_s) == (
        "done",
        "x = 3.5",
        4,
        12.5,
    )
    data = to_openai(store, cid)
    roles = [m["role"] for m in data["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant"]
    assert data["messages"][2]["tool_calls"][0]["function"] == {"name": "python", "arguments": "print(7/2)"}
    assert data["messages"][3] == {
        "role": "tool",
        "tool_call_id": "c1",
        "content": "3.5",
        "x_stats": {"ok": True, "elapsed_s": 0.12},
    }
    assert data["messages"][4]["x_stats"]["ttft_s"] == 0.2
    markdown = export(store, cid, "md")
    assert "## System" in markdown and "print(7/2)" in markdown and "12.5 tok/s" in markdown


def test_title_from_prompt() -> None:
    assert title_from_prompt("\n\n  hello  \nworld") == "hello"
    assert title_from_prompt("x" * 100).endswith("…") and len(title_from_prompt("x" * 100)) == 60
    assert title_from_prompt("   ") == "New chat"


def test_full_disk_turns_writes_off_with_a_warning(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.sqlite3")
    cid = store.create_conversation("before")
    assert cid is not None
    full_disk(store)
    for i in range(200):
        store.add_message(cid, "user", "x" * 2000 + str(i))
    assert store.warning is not None and "not being saved" in store.warning
    assert store.list_conversations()[0].title == "before"


def test_linear_chats_of_schema_3_become_single_paths_with_nothing_lost(tmp_path: Path) -> None:
    """The tree migration on a frozen schema-3 file whose two chats' messages interleave by id."""
    db = tmp_path / "h.sqlite3"
    conn = sqlite3.connect(str(db))
    conn.executescript((FIXTURES / "history_schema_v3_linear.sql").read_text())
    conn.close()
    store = open_store(db)
    assert store.warning is None and store.integrity_ok()
    chat, agent = store.get_conversation(1), store.get_conversation(2)
    assert chat is not None and agent is not None
    assert (chat.leaf_id, agent.leaf_id) == (5, 6)
    path = store.get_path(1)
    assert [(m.id, m.parent_id, m.content, m.status) for m in path] == [
        (1, None, "first question", "done"),
        (2, 1, "first answer", "done"),
        (4, 2, "second question", "done"),
        (5, 4, "second answer, cut", "interrupted"),
    ]
    assert [(m.id, m.parent_id) for m in store.get_path(2)] == [(3, None), (6, 3)]
    assert [t.output for t in store.tool_events(6)] == ["3.5"]
    assert [h.message_id for h in store.search("second")] == [5, 4]
    store.close()


def test_branches_grow_from_the_leaf_and_deleting_one_shows_the_newest_left(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.sqlite3")
    cid = store.create_conversation("tree")
    assert cid is not None
    q = store.add_message(cid, "user", "q")
    a1 = store.add_message(cid, "assistant", "a1")
    assert q is not None and a1 is not None
    store.set_leaf(cid, q)  # regenerate: a second answer to q
    a2 = store.add_message(cid, "assistant", "a2")
    follow = store.add_message(cid, "user", "more")
    assert follow is not None and a2 is not None
    assert [m.content for m in store.get_path(cid)] == ["q", "a2", "more"]
    assert store.children(cid) == {None: [q], q: [a1, a2], a2: [follow]}
    assert store.newest_leaf(q) == follow and store.newest_leaf(a1) == a1
    store.set_leaf(cid, None)  # edit the first prompt: a new root
    q2 = store.add_message(cid, "user", "q edited")
    assert [m.content for m in store.get_path(cid)] == ["q edited"]
    assert store.children(cid)[None] == [q, q2]
    store.set_leaf(cid, store.newest_leaf(q))
    store.delete_branch(a2)  # its follow-up goes with it; a1 is what is left under q
    assert [m.content for m in store.get_path(cid)] == ["q", "a1"]
    assert store.search("more") == []
    store.delete_branch(q)
    assert [m.content for m in store.get_path(cid)] == ["q edited"]
    store.close()


def test_json_export_holds_every_branch_with_parent_ids_and_markdown_the_current_one(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.sqlite3")
    cid = store.create_conversation("tree", system="be brief")
    assert cid is not None
    q = store.add_message(cid, "user", "question")
    old = store.add_message(cid, "assistant", "old answer")
    store.set_leaf(cid, q)
    new = store.add_message(cid, "assistant", "new answer")
    data = to_openai(store, cid)
    assert [(m["role"], m["content"]) for m in data["messages"]] == [
        ("system", "be brief"),
        ("user", "question"),
        ("assistant", "new answer"),
    ]
    assert data["current_leaf_id"] == new
    assert [(m["id"], m["parent_id"], m["content"], m["current"]) for m in data["tree"]] == [
        (q, None, "question", True),
        (old, q, "old answer", False),
        (new, q, "new answer", True),
    ]
    markdown = export(store, cid, "md")
    assert "new answer" in markdown and "old answer" not in markdown
    store.close()


def test_a_long_streaming_reply_is_saved_less_often_in_proportion(tmp_path: Path) -> None:
    now = [100.0]
    store = open_store(tmp_path / "h.sqlite3")
    recorder = ChatRecorder(store, flush_interval_s=0.5, clock=lambda: now[0])
    recorder.record_user("write a lot", backend="local", model="m", system=None, params={})
    cid = recorder.conversation_id
    assert cid is not None
    recorder.begin_reply(backend="local", model="m", params={})

    def saved() -> str:
        store.flush()
        return store.get_messages(cid)[-1].content

    short, long = "a" * SAVE_SCALE_CHARS, "b" * (3 * SAVE_SCALE_CHARS)
    now[0] += 0.5
    recorder.progress(short)
    assert saved() == short  # up to SAVE_SCALE_CHARS: every half second
    now[0] += 1.0
    recorder.progress(long)
    assert saved() == short  # three times as long: every second and a half
    now[0] += 0.5
    recorder.progress(long)
    assert saved() == long
    recorder.finish_reply(long + "c", "done")
    assert saved() == long + "c"  # the end is always saved
