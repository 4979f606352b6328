"""The image preview on a real pty whose fake terminal answers textual-image's queries: Kitty
graphics, Sixel or half-blocks are chosen from what the terminal says, and nothing is asked at
all with --no-image-preview."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from testkit import images
from testkit.pty_app import PtyApp
from testkit.signal_rounds import app_environment

DA1 = b"\x1b[c"
CELL_SIZE = (b"\x1b[16t", b"\x1b[6;20;10t")
KITTY_QUERY = b"\x1b_G"
# Terminals answer in the order they were asked: Kitty graphics, cell size, then DA1.
SIXEL_TERMINAL = {CELL_SIZE[0]: CELL_SIZE[1], DA1: b"\x1b[?62;4;22c"}
KITTY_TERMINAL = {KITTY_QUERY: b"\x1b_Gi=31;OK\x1b\\", CELL_SIZE[0]: CELL_SIZE[1], DA1: b"\x1b[?62;22c"}
PLAIN_TERMINAL = {CELL_SIZE[0]: CELL_SIZE[1], DA1: b"\x1b[?62;22c"}


def run_app(tmp_path: Path, answers: dict[bytes, bytes], expected: bytes, delay_s: float = 0.0) -> bytes:
    """Send a prompt with an attached picture; what the app wrote until ``expected`` was drawn."""
    picture = images.write(tmp_path / "pic.png", images.png(40, 40))
    env = app_environment(tmp_path)
    env["INTERNLM_TUI_DB"] = str(tmp_path / "h.sqlite3")
    env.pop("INTERNLM_TUI_IMAGES", None)
    argv = [sys.executable, "-m", "tui", "--backend", "scripted", "--attach", str(picture)]
    app = PtyApp(argv, columns=100, rows=30, env=env, answers=answers, answer_delay_s=delay_s)
    try:
        app.wait_for(rb"Attach image|attached", timeout=60)
        app.wait_for(rb"ready", timeout=30)
        since = app.bytes_written
        app.send(b"look\r")
        app.wait_for(re.escape(expected), since=since, timeout=60)
        app.wait_for(rb"You said", since=since, timeout=30)
        return app.output()[since:]
    finally:
        app.close()


@pytest.mark.parametrize(
    ("answers", "expected", "absent"),
    [
        (SIXEL_TERMINAL, b"\x1bP0;0;0q", (b"\x1b_Ga=", "▀".encode())),
        (KITTY_TERMINAL, b"\x1b_G", (b"\x1bP0;0;0q", "▀".encode())),
        (PLAIN_TERMINAL, "▀".encode(), (b"\x1bP0;0;0q", b"\x1b_G")),
    ],
    ids=["sixel", "kitty", "half-blocks"],
)
def test_the_preview_uses_what_the_terminal_answers(
    tmp_path: Path, answers: dict[bytes, bytes], expected: bytes, absent: tuple[bytes, ...]
) -> None:
    drawn = run_app(tmp_path, answers, expected)
    assert not [other for other in absent if other in drawn]


def test_no_image_preview_asks_the_terminal_nothing(tmp_path: Path) -> None:
    picture = images.write(tmp_path / "pic.png", images.png(40, 40))
    env = app_environment(tmp_path)
    env["INTERNLM_TUI_DB"] = str(tmp_path / "h.sqlite3")
    argv = [
        sys.executable,
        "-m",
        "tui",
        "--backend",
        "scripted",
        "--attach",
        str(picture),
        "--no-image-preview",
    ]
    app = PtyApp(argv, columns=100, rows=30, env=env, answers=SIXEL_TERMINAL)
    try:
        app.wait_for(rb"ready", timeout=60)
        since = app.bytes_written
        app.send(b"look\r")
        app.wait_for(rb"You said", since=since, timeout=30)
        output = app.output()
    finally:
        app.close()
    assert DA1 not in output and KITTY_QUERY not in output and b"\x1bP0;0;0q" not in output


def test_a_slow_link_still_gets_the_right_answer(tmp_path: Path) -> None:
    """Answers 0.4 s late (an SSH round trip textual-image's own 0.1 s timeouts would miss)."""
    run_app(tmp_path, SIXEL_TERMINAL, b"\x1bP0;0;0q", delay_s=0.4)


def test_inside_tmux_the_kitty_query_is_not_sent(tmp_path: Path) -> None:
    """tmux takes the query (an APC string) as the pane title and shows it in its status line."""
    env = app_environment(tmp_path)
    env["INTERNLM_TUI_DB"] = str(tmp_path / "h.sqlite3")
    env["TMUX"] = "/tmp/tmux-0/default,1,0"
    env.pop("INTERNLM_TUI_IMAGES", None)
    app = PtyApp([sys.executable, "-m", "tui", "--backend", "scripted"], columns=100, rows=30, env=env)
    try:
        app.wait_for(rb"ready", timeout=60)
        output = app.output()
    finally:
        app.close()
    assert DA1 in output and KITTY_QUERY not in output
