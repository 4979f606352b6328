"""A canary API key must not appear in any file the app writes, nor on screen when it crashes.

The real app talks to a loopback OpenAI-compatible server with the canary as its key, then hits
a (patched-in) bug whose message and local variables hold the key. Textual's crash screen would
print both; ours prints one line and writes a scrubbed report.
"""

from __future__ import annotations

import shlex
import shutil
import socket
import sys
from pathlib import Path

import pytest

from testkit.fault_server import fault_server, head, sse
from testkit.tmux import TmuxSession

pytestmark = [
    pytest.mark.skipif(
        shutil.which("tmux") is None, reason="tmux is not installed (scripts/system-deps.sh installs it)"
    ),
]

CANARY = "sk-canary-6f1e0c2d9a8b7c6d5e4f"

CRASH_PATCH = """
import os
from tui.screens import chat

def new_chat_with_a_bug(self):
    headers = {"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"]}
    raise RuntimeError(f"simulated bug while sending {headers}")

chat.ChatScreen.action_new_chat = new_chat_with_a_bug
"""


def reply(conn: socket.socket, attempt: int) -> None:
    conn.sendall(head() + sse("hello") + sse(" there") + sse(finish="stop") + b"data: [DONE]\n\n")


def files_under(*folders: Path) -> list[Path]:
    return [p for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file()]


def test_canary_key_is_never_written_nor_shown_on_a_crash(tmp_path: Path) -> None:
    (tmp_path / "patch").mkdir()
    (tmp_path / "patch" / "crashpatch.py").write_text(CRASH_PATCH)
    home = tmp_path / "home"
    raw_file = tmp_path / "pty-output.bin"
    with fault_server(reply, models=("canary-model",)) as server:
        env = {
            "TERM": "xterm-256color",
            "PYTHONPATH": f"{tmp_path / 'patch'}:{Path.cwd()}",
            "OPENAI_API_KEY": CANARY,
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_STATE_HOME": str(home / "state"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "INTERNLM_TUI_DB": str(home / "data" / "history.sqlite3"),
        }
        program = "import crashpatch, sys; from tui.cli import main; sys.exit(main())"
        command = f"{sys.executable} -c {shlex.quote(program)} --backend remote --base-url {server.base_url}"
        session = TmuxSession(command, env=env)
        try:
            session.record_output(str(raw_file))
            session.wait_for(lambda s: "ready" in s and "canary-model" in s, timeout=60, what="ready")
            session.send("hello", literal=True)
            session.send("Enter")
            session.wait_for(lambda s: "hello there" in s, timeout=60, what="reply")
            session.send("C-n")
            screen = session.wait_for(lambda s: "[exited 1]" in s, timeout=30, what="crash exit")
            scrollback = session._tmux("capture-pane", "-p", "-S", "-", "-t", session.name)
        finally:
            session.close()
        assert server.requests[-1].headers["authorization"] == f"Bearer {CANARY}"  # the key was in play
    assert "internal error" in screen and "RuntimeError" in screen
    assert "Traceback" not in scrollback
    for shown in (screen, scrollback, raw_file.read_bytes().decode("utf-8", "replace")):
        assert CANARY not in shown
    reports = list((home / "data" / "internlm-tui" / "crash").glob("crash-*.txt"))
    assert len(reports) == 1
    report = reports[0].read_text()
    assert "simulated bug" in report and "'Authorization': '***" in report
    assert oct(reports[0].stat().st_mode & 0o777) == "0o600"
    written = files_under(home)
    assert any(p.name == "history.sqlite3" for p in written)
    for path in written:
        assert CANARY.encode() not in path.read_bytes(), path
