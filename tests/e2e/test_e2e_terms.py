"""The real app in tmux under the TERM values users have: xterm-256color, screen (tmux), linux.

Uses the scripted backend (it echoes the prompt), so what is checked is the terminal handling:
the app draws, takes keys, copies the right way for the terminal, and exits cleanly.
"""

from __future__ import annotations

import base64
import shutil
import sys
from pathlib import Path

import pytest

from testkit.tmux import TmuxSession

pytestmark = [
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (scripts/system-deps.sh)"),
]
APP = str(Path(sys.executable).with_name("internlm-tui"))


@pytest.mark.parametrize("term", ["xterm-256color", "screen", "linux"])
def test_app_works_under_term(tmp_path: Path, term: str) -> None:
    env = {"TERM": term, "XDG_STATE_HOME": str(tmp_path / "state")}
    tmux = TmuxSession(f"{APP} --backend scripted", width=80, height=24, env=env)
    raw = tmp_path / "pty.bin"
    tmux.record_output(str(raw))
    try:
        tmux.wait_for(lambda s: "ready" in s and "f1 Keys" in s, timeout=60, what="ready")
        tmux.send("hello from the terminal", literal=True)
        tmux.send("Enter")
        tmux.wait_for(lambda s: s.count("hello from the terminal") >= 2, timeout=30, what="echoed reply")
        tmux.send("F4")
        tmux.wait_for(lambda s: "Last reply" in s, timeout=20, what="copy list")
        tmux.send("Enter")
        tmux.wait_for(lambda s: "Copied" in s, timeout=20, what="copied note")
        tmux.send("C-q")
        tmux.wait_for(lambda s: "[exited 0]" in s, timeout=30, what="clean exit")
    finally:
        tmux.close()
    copy_file = tmp_path / "state" / "internlm-tui" / "copied.txt"
    reply = "You said: **hello from the terminal**"  # the scripted backend's echo
    osc52 = b"\x1b]52;c;" + base64.b64encode(reply.encode()) + b"\x07"
    if term == "linux":  # the Linux console has no OSC 52: the copy goes to a file
        assert copy_file.read_text(encoding="utf-8") == reply
        assert osc52 not in raw.read_bytes()
    else:
        assert not copy_file.exists()
        assert osc52 in raw.read_bytes()
    preferences = tmp_path / "state" / "internlm-tui" / "preferences.json"
    assert not preferences.exists()  # starting in a theme is not choosing one
