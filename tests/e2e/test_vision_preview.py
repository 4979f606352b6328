"""The image preview on a real pty whose fake terminal answers textual-image's queries: Kitty
graphics, Sixel or half-blocks are chosen from what the terminal says, and nothing is asked at
all with --no-image-preview."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from testkit import images
from testkit.pty_app import PtyApp
from testkit.signal_rounds import app_environment

DA1 = b"\x1b[c"
CELL_SIZE = (b"\x1b[16t", b"\x1b[6;20;10t")
KITTY_QUERY = b"\x1b_G"
SIXEL_TERMINAL = {DA1: b"\x1b[?62;4;22c", CELL_SIZE[0]: CELL_SIZE[1]}
KITTY_TERMINAL = {DA1: b"\x1b[?62;22c", KITTY_QUERY: b"\x1b_Gi=1;OK\x1b\\", CELL_SIZE[0]: CELL_SIZE[1]}
PLAIN_TERMINAL = {DA1: b"\x1b[?62;22c", CELL_SIZE[0]: CELL_SIZE[1]}


def run_app(tmp_path: Path, answers: dict[bytes, bytes], *flags: str) -> bytes:
    picture = images.write(tmp_path / "pic.png", images.png(40, 40))
    env = app_environment(tmp_path)
    env["INTERNLM_TUI_DB"] = str(tmp_path / "h.sqlite3")
    env.pop("INTERNLM_TUI_IMAGES", None)
    argv = [sys.executable, "-m", "tui", "--backend", "scripted", "--attach", str(picture), *flags]
    app = PtyApp(argv, columns=100, rows=30, env=env, answers=answers)
    try:
        app.wait_for(rb"Attach image|attached", timeout=60)
        app.wait_for(rb"ready", timeout=30)
        since = app.bytes_written
        app.send(b"look\r")
        app.wait_for(rb"You said", since=since, timeout=30)
        app.wait_for(rb"pic\.png", since=since, timeout=30)
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
    drawn = run_app(tmp_path, answers)
    assert expected in drawn, drawn[-400:]
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
