"""Review: terminal answers that arrive after the start-up query gave up never become keys."""

from __future__ import annotations

import sys
from pathlib import Path

from testkit.pty_app import PtyApp
from testkit.signal_rounds import app_environment

KITTY_TERMINAL = {
    b"\x1b_G": b"\x1b_Gi=31;OK\x1b\\",
    b"\x1b[16t": b"\x1b[6;20;10t",
    b"\x1b[c": b"\x1b[?62;4;22c",
}


def test_answers_later_than_the_wait_are_not_typed_into_the_prompt(tmp_path: Path) -> None:
    env = app_environment(tmp_path)
    env["INTERNLM_TUI_DB"] = str(tmp_path / "h.sqlite3")
    env.pop("INTERNLM_TUI_IMAGES", None)
    argv = [sys.executable, "-m", "tui", "--backend", "scripted"]
    app = PtyApp(argv, columns=100, rows=30, env=env, answers=KITTY_TERMINAL, answer_delay_s=1.6)
    try:
        app.wait_for(rb"ready", timeout=60)
        since = app.bytes_written
        app.send(b"look\r")
        app.wait_for(rb"You said", since=since, timeout=30)
        shown = app.output()[since:].decode("utf-8", "replace")
    finally:
        app.close()
    for leak in ("62;4;22c", "6;20;10t", "i=31;OK", "OK\\"):
        assert leak not in shown, shown[-2000:]
