"""SIGKILL the real app mid-stream: the prompt and the partial reply survive in SQLite."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from pathlib import Path

import pytest

from testkit.tmux import TmuxSession, app_pid
from tui.store.store import open_store

pytestmark = [
    pytest.mark.skipif(
        shutil.which("tmux") is None, reason="tmux is not installed (scripts/system-deps.sh installs it)"
    ),
]


def test_sigkill_mid_stream_keeps_prompt_and_partial_reply(tmp_path: Path) -> None:
    script = tmp_path / "slow.json"
    script.write_text(json.dumps([[{"type": "token", "text": f"word{i} "} for i in range(2000)]]))
    db = tmp_path / "history.sqlite3"
    command = f"{sys.executable} -m tui --backend scripted --model {script} --db {db}"
    session = TmuxSession(command, env={"TERM": "xterm-256color", "PYTHONPATH": str(Path.cwd())})
    try:
        session.wait_for(lambda s: "ready" in s, timeout=60, what="app ready")
        session.send("remember this prompt", literal=True)
        session.send("Enter")
        session.wait_for(lambda s: "word40" in s, timeout=60, what="streaming")
        os.kill(app_pid(str(db)), signal.SIGKILL)
        session.wait_for(lambda s: "[exited" in s, timeout=30, what="process gone")
    finally:
        session.close()
    store = open_store(db)
    assert store.integrity_ok()
    conversation = store.list_conversations()[0]
    messages = store.get_messages(conversation.id)
    assert messages[0].role == "user" and messages[0].content == "remember this prompt"
    reply = messages[1]
    assert reply.status == "interrupted"
    assert reply.content.startswith("word0 word1 ") and len(reply.content.split()) >= 10
    assert store.recovered == 1


def test_resume_after_the_kill_continues_the_same_chat(tmp_path: Path) -> None:
    """``--resume`` with no id reopens the killed chat, with its backend, and a new prompt continues it."""
    script = tmp_path / "echo.json"
    script.write_text("[]")
    db = tmp_path / "history.sqlite3"
    store = open_store(db)
    cid = store.create_conversation(
        "remember this prompt", backend="scripted", options={"backend": "scripted", "model": str(script)}
    )
    assert cid is not None
    store.add_message(cid, "user", "remember this prompt")
    store.add_message(cid, "assistant", "word0 word1", status="interrupted")
    store.close()
    command = f"{sys.executable} -m tui --resume --db {db}"
    session = TmuxSession(command, env={"TERM": "xterm-256color", "PYTHONPATH": str(Path.cwd())})
    try:
        screen = session.wait_for(lambda s: "ready" in s and "word0 word1" in s, timeout=60, what="resumed")
        assert "interrupted" in screen and "scripted" in screen
        session.send("and then?", literal=True)
        session.send("Enter")
        session.wait_for(lambda s: "You said: and then?" in s, timeout=60, what="reply")
    finally:
        session.close()
    messages = open_store(db).get_messages(cid)
    assert [m.content for m in messages][-2:] == ["and then?", "You said: **and then?**"]
