"""Hostile text through the real app on a real terminal (tmux): nothing injected reaches the pty.

A scripted backend streams a reply full of escape sequences, each split across tokens, plus
Textual/Rich markup. The raw bytes the app writes (tmux pipe-pane) must not contain any
injected sequence, the pane title must not change, and the screen must show the text as
written, with visible placeholders. The terminal is resized rapidly during the stream too.
"""

from __future__ import annotations

import base64
import json
import shutil
import sys
import time
from pathlib import Path

import pytest

from testkit.tmux import TmuxSession
from tui.store.store import open_store

pytestmark = [
    pytest.mark.skipif(
        shutil.which("tmux") is None, reason="tmux is not installed (scripts/system-deps.sh installs it)"
    ),
]

CLIP = base64.b64encode(b"PWNED-CLIPBOARD").decode()
# (chunks as streamed, the raw bytes that must never reach the terminal)
INJECTIONS: list[tuple[list[str], bytes]] = [
    (["\x1b", "]0;PWNED-TITLE", "\x07 "], b"\x1b]0;PWNED-TITLE"),
    (["\x1b]5", f"2;c;{CLIP}", "\x07 "], f"\x1b]52;c;{CLIP}".encode()),
    (["\x1b[2", "J", "PWNED-CLEAR "], b"\x1b[2JPWNED-CLEAR"),
    (["\x1b[6n", "PWNED-DSR "], b"\x1b[6nPWNED-DSR"),
    (["\x1bP+q", "PWNED-DCS\x1b\\ "], b"\x1bP+qPWNED-DCS"),
    (["\x9b", "31mPWNED-C1 "], "\x9b31mPWNED-C1".encode()),
    (["\x1b_PWNED-APC\x1b\\ "], b"\x1b_PWNED-APC"),
    (["\x1b[?1049l", "PWNED-ALT "], b"\x1b[?1049lPWNED-ALT"),
]
MARKUP = "[bold red]MARKUP-LITERAL[/] and [@click=app.quit]CLICK-LITERAL[/]"


def hostile_script(path: Path) -> None:
    tokens = [f" filler{i}" for i in range(150)] + ["\n\n"]
    tokens += [chunk for chunks, _ in INJECTIONS for chunk in chunks]
    tokens += ["\n\n", MARKUP, " END-OF-REPLY"]
    path.write_text(json.dumps([[{"type": "token", "text": t} for t in tokens] + [{"type": "done"}]]))


def test_hostile_reply_never_reaches_the_terminal_raw(tmp_path: Path) -> None:
    script = tmp_path / "hostile.json"
    hostile_script(script)
    db = tmp_path / "history.sqlite3"
    raw_file = tmp_path / "pty-output.bin"
    command = f"{sys.executable} -m tui --backend scripted --model {script} --db {db}"
    session = TmuxSession(command, env={"TERM": "xterm-256color", "PYTHONPATH": str(Path.cwd())})
    try:
        session.record_output(str(raw_file))
        title_before = session.title()
        session.wait_for(lambda s: "ready" in s, timeout=60, what="app ready")
        session.send("show me", literal=True)
        session.send("Enter")
        session.wait_for(lambda s: "filler" in s, timeout=60, what="streaming")
        for width, height in [(80, 24), (200, 60), (100, 30), (81, 25), (120, 40)] * 2:
            session.resize(width, height)
            time.sleep(0.05)
        screen = session.wait_for(
            lambda s: "END-OF-REPLY" in s and "ready" in s, timeout=60, what="reply finished"
        )
        assert "MARKUP-LITERAL" in screen and "[bold red]" in screen  # markup is shown, not applied
        assert "[@click=app.quit]CLICK-LITERAL[/]" in screen
        assert "␛]0;PWNED-TITLE" in screen  # the ESC is shown as a visible placeholder
        assert session.title() == title_before
        session.send("C-q")
        session.wait_for(lambda s: "[exited 0]" in s, timeout=30, what="clean exit")
    finally:
        session.close()
    raw = raw_file.read_bytes()
    assert b"PWNED-TITLE" in raw  # the recording did capture the reply
    for _, forbidden in INJECTIONS:
        assert forbidden not in raw, forbidden
    store = open_store(db)  # the database keeps the raw text; only display is sanitised
    reply = store.get_messages(store.list_conversations()[0].id)[1]
    assert "\x1b]0;PWNED-TITLE\x07" in reply.content and reply.status == "done"
