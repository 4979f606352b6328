"""Rounds of "stream a reply, then drop the terminal or SIGTERM the app", for tests and benchmarks.

Each round starts the real app on its own pty with the scripted backend streaming slowly,
sends a prompt, waits until the reply being saved in the real SQLite file has some words,
then either closes the pty's master side (the kernel sends SIGHUP, as when sshd drops an SSH
session) or sends SIGTERM. It records how long the process took to end (or that it survived
``patience_s``, after which it is killed) and whether the file holds the reply marked
``interrupted`` by the app itself, every word in order. ``busy_cores`` keeps every core busy
meanwhile, the load under which Textual's shutdown once hung.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from testkit.pty_app import PtyApp

HOW = ("hangup", "SIGTERM", "stalled")
PROMPT = "keep this"


@dataclass(frozen=True)
class RoundResult:
    """What one round saw: ``exit_s`` is None for a process that outlived ``patience_s``."""

    how: str
    exit_s: float | None
    exit_code: int | None
    saved: bool
    words: int
    problem: str = ""


def slow_script(path: Path, words: int = 5000, delay_s: float = 0.02) -> Path:
    """A scripted-backend file streaming ``word0 word1 ...`` with ``delay_s`` before each word."""
    turn = [{"type": "token", "text": f"word{i} "} for i in range(words)]
    path.write_text(json.dumps({"delay_s": delay_s, "turns": [turn]}))
    return path


def app_environment(home: Path) -> dict[str, str]:
    """The app's environment: a private state and config folder under ``home``, this checkout first."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLORTERM", "TMUX", "NO_COLOR")}
    env.update(
        TERM="xterm-256color",
        XDG_STATE_HOME=str(home / "state"),
        XDG_CONFIG_HOME=str(home / "config"),
        PYTHONPATH=str(Path(__file__).resolve().parent.parent),
    )
    return env


def saved_reply(db: Path) -> tuple[str, str] | None:
    """(status, content) of the newest assistant message in ``db``, read without changing anything."""
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
            row = conn.execute(
                "SELECT status, content FROM messages WHERE role = 'assistant' ORDER BY id DESC LIMIT 1"
            ).fetchone()
    except sqlite3.Error:
        return None
    return (str(row[0]), str(row[1])) if row else None


def _wait_for_words(db: Path, app: PtyApp, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        reply = saved_reply(db)
        if reply is not None and len(reply[1].split()) >= count:
            return
        if app.wait_exit(0) is not None:
            raise RuntimeError(f"the app exited (code {app.exit_code}) before streaming {count} words")
        if time.monotonic() >= deadline:
            raise TimeoutError(f"the saved reply did not reach {count} words within {timeout:.0f} s")
        time.sleep(0.05)


def _wait_until_stuck(db: Path, timeout: float, quiet_s: float = 2.0) -> None:
    """Wait until the saved reply stops growing: the app's event loop is blocked on its output.

    The reply is saved from the event loop every half second while it streams, so a reply that
    has not grown for ``quiet_s`` means the loop is stuck (here: writing to a full terminal).
    """
    deadline = time.monotonic() + timeout
    last, since = saved_reply(db), time.monotonic()
    while time.monotonic() - since < quiet_s:
        if time.monotonic() >= deadline:
            raise TimeoutError(f"the app kept saving its reply for {timeout:.0f} s on a stalled terminal")
        time.sleep(0.1)
        now = saved_reply(db)
        if now != last:
            last, since = now, time.monotonic()


def check_saved(db: Path) -> tuple[bool, int, str]:
    """(the reply is saved as interrupted with every word in order, its word count, what is wrong)."""
    reply = saved_reply(db)
    if reply is None:
        return False, 0, "no reply in the history file"
    status, content = reply
    words = content.split()
    if status != "interrupted":
        return False, len(words), f"reply status is {status!r}, not 'interrupted'"
    if words != [f"word{i}" for i in range(len(words))]:
        return False, len(words), "reply words are missing or out of order"
    return True, len(words), ""


def run_round(
    home: Path,
    how: str,
    *,
    min_words: int = 30,
    jitter_s: float = 0.0,
    delay_s: float = 0.02,
    patience_s: float = 15.0,
    start_timeout_s: float = 120.0,
    rng: random.Random | None = None,
) -> RoundResult:
    """One round in ``home`` (a fresh folder): start, stream, ``how`` (one of ``HOW``), check."""
    home.mkdir(parents=True, exist_ok=True)
    db = home / "history.sqlite3"
    script = slow_script(home / "slow.json", delay_s=delay_s)
    argv = [sys.executable, "-m", "tui", "--backend", "scripted", "--model", str(script), "--db", str(db)]
    app = PtyApp(argv, columns=100, rows=30, env=app_environment(home))
    try:
        app.wait_for(rb"ready", timeout=start_timeout_s)
        app.send(PROMPT.encode())
        app.send(b"\r")
        _wait_for_words(db, app, min_words, start_timeout_s)
        if jitter_s:
            time.sleep((rng or random.Random()).uniform(0.0, jitter_s))  # a random moment mid-stream
        signalled = time.monotonic()
        if how == "hangup":
            app.hang_up()
        elif how == "stalled":  # the terminal stops reading (a frozen SSH link), then SIGTERM
            app.stop_reading()
            _wait_until_stuck(db, start_timeout_s)
            signalled = time.monotonic()
            os.kill(app.pid, signal.SIGTERM)
        else:
            os.kill(app.pid, signal.SIGTERM)
        code = app.wait_exit(patience_s)
        exit_s = None if code is None else time.monotonic() - signalled
    finally:
        app.close()  # kills a survivor
    saved, words, problem = check_saved(db)
    return RoundResult(how, exit_s, code, saved, words, problem)


@contextmanager
def busy_cores(count: int | None = None) -> Iterator[list[int]]:
    """Keep ``count`` (default: every) cores busy with spinning processes; their pids while it lasts.

    Each spinner also stops by itself once its parent is gone (a killed test or benchmark).
    """
    spin = "import os\nparent = os.getppid()\nwhile os.getppid() == parent: pass"
    spinners = [
        subprocess.Popen([sys.executable, "-c", spin], stdin=subprocess.DEVNULL)
        for _ in range(count or os.cpu_count() or 1)
    ]
    try:
        yield [p.pid for p in spinners]
    finally:
        for process in spinners:
            process.kill()
            process.wait()
