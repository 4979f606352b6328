"""A hostile OpenAI-compatible server, the real app on a real terminal: no injected byte gets through.

A loopback server (``testkit.fault_server``) lists hostile model names at ``/v1/models``,
streams a hostile reply and then answers with a hostile error. The real ``internlm-tui --backend
remote`` runs in tmux; every byte it writes to the terminal is recorded (tmux pipe-pane, started
before the app may start) and must hold none of the sequences the server sent (OSC 52, OSC 0/2
titles, the CSIs, C1 ``\\x9b``), while their visible placeholders must be there. The same holds
for the loading error that quotes the model list, for ``--export ID`` printed to a terminal
(redirected to a file it stays raw). The ``user:password`` given in
``--base-url`` is in no file afterwards, ``--resume`` still reconnects, and the files written
(database, exports) are private.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.fault_server import fault_server
from testkit.hostile_text import FORBIDDEN, HOSTILE, hostile_reply
from testkit.tmux import TmuxSession

pytestmark = [
    pytest.mark.skipif(
        shutil.which("tmux") is None, reason="tmux is not installed (scripts/system-deps.sh installs it)"
    ),
]

REPO = Path(__file__).resolve().parents[2]
SHOWN = "TITLE0␇␛]2;".encode()
"""Part of the title attacks as the user should see it: visible symbols instead of BEL and ESC
(short, so that a line wrap does not split it)."""


class Run:
    """One program run in tmux from ``folder``, recorded from its first byte to ``record``."""

    def __init__(self, folder: Path, env: dict[str, str], args: str, record: Path) -> None:
        go = folder / f"go-{record.stem}"
        program = f"{shlex.quote(sys.executable)} -m tui {args}"
        gated = f"cd {shlex.quote(str(folder))} && until [ -e {go} ]; do sleep 0.05; done; exec {program}"
        self.session = TmuxSession(f"sh -c {shlex.quote(gated)}", env=env)
        self.session.record_output(str(record))
        self.title = self.session.title()
        go.touch()  # the program starts only once every byte it writes is recorded

    def __enter__(self) -> TmuxSession:
        return self.session

    def __exit__(self, *exc: object) -> None:
        assert self.session.title() == self.title  # no OSC 0/2 retitled the window
        self.session.close()


def test_a_hostile_server_never_reaches_the_terminal_raw(tmp_path: Path) -> None:
    home = tmp_path / "home"
    work = tmp_path / "work"
    work.mkdir()
    db = home / "data" / "internlm-tui" / "history.sqlite3"
    env = {
        "TERM": "xterm-256color",
        "PYTHONPATH": str(REPO),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        "INTERNLM_TUI_DB": str(db),
    }
    records = [tmp_path / f"run{i}.bin" for i in range(4)]
    with fault_server(hostile_reply, models=(HOSTILE, "plain-model")) as server:
        url = server.base_url.replace("://", "://alice:s3cret-pw@")
        with Run(work, env, f"--backend remote --base-url {url}", records[0]) as app:
            app.wait_for(lambda s: "remote · <␛]52" in s, timeout=60, what="ready, with the hostile model")
            app.send("hello", literal=True)
            app.send("Enter")
            app.wait_for(lambda s: "SURROGATE" in s and "tok/s" in s, timeout=60, what="hostile reply")
            app.send("again", literal=True)
            app.send("Enter")
            app.wait_for(lambda s: "ERRMSG" in s, timeout=60, what="hostile error")
            app.send("C-o")
            app.wait_for(lambda s: "model(s)" in s, timeout=30, what="model list")
            app.send("Escape")
            app.wait_for(lambda s: "model(s)" not in s, timeout=30, what="model list closed")
            app.send("C-s")
            app.wait_for(lambda s: "Exported to" in s, timeout=30, what="export")
            app.send("C-q")
            app.wait_for(lambda s: "[exited 0]" in s, timeout=30, what="clean exit")

        with Run(work, env, f"--backend remote --base-url {server.base_url} --model nope", records[1]) as app:
            app.wait_for(lambda s: "it serves" in s, timeout=60, what="loading error quoting the models")
            app.send("C-q")
            app.wait_for(lambda s: "[exited 0]" in s, timeout=30, what="clean exit")

        with Run(work, env, "--resume", records[2]) as app:  # reconnects without the password
            app.wait_for(lambda s: "remote · <␛]52" in s and "hello" in s, timeout=60, what="resumed")
            app.send("C-q")
            app.wait_for(lambda s: "[exited 0]" in s, timeout=30, what="clean exit")
        assert "authorization" not in server.requests[-1].headers  # no stored credential was used

    with Run(work, env, "--export 1", records[3]) as export:
        export.wait_for(lambda s: "[exited 0]" in s, timeout=60, what="export printed")

    for record in records:
        raw = record.read_bytes()
        assert b"PWNED" in raw, record  # the recording did capture the hostile text
        for forbidden in FORBIDDEN:
            assert forbidden not in raw, (record.name, forbidden)
    for record in records[:2] + records[3:4]:
        assert SHOWN in record.read_bytes(), record.name  # shown, as visible symbols
    assert "\ufffdPWNED-SURROGATE".encode() in records[3].read_bytes()  # stored and shown as U+FFFD

    redirected = subprocess.run(
        [sys.executable, "-m", "tui", "--export", "1"],
        capture_output=True,
        env={**os.environ, **env},
        timeout=60,
        cwd=work,
    )
    assert redirected.returncode == 0
    assert b"\x1b]0;PWNED-TITLE0\x07" in redirected.stdout  # to a file: exactly as stored

    written = [db, *work.glob("internlm-tui-chat-*")]
    assert len(written) == 3  # the database, the Markdown and the JSON export
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert b"s3cret-pw" not in path.read_bytes(), path
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    with sqlite3.connect(db) as conn:
        options = conn.execute("SELECT options_json FROM conversations").fetchone()[0]
    assert server.base_url in options and "alice" not in options
