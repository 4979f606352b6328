"""Copying: OSC 52 to the terminal (wrapped inside tmux), a 0600 file where OSC 52 cannot work."""

from __future__ import annotations

import asyncio
import base64
import stat
from pathlib import Path

import pytest

from backends.events import ChatMessage, Done
from testkit.app import REPLY, ask, scripted_app, tokens, wait_for
from tui import clipboard
from tui.copy_choices import code_blocks, copy_choices
from tui.settings import AppSettings


@pytest.mark.parametrize(
    ("mode", "term", "expected"),
    [
        ("auto", "xterm-256color", "osc52"),
        ("auto", "screen", "osc52"),
        ("auto", "linux", "file"),
        ("auto", "", "file"),
        ("file", "xterm-256color", "file"),
        ("osc52", "linux", "osc52"),
    ],
)
def test_choose_method(mode: str, term: str, expected: str) -> None:
    assert clipboard.choose_method(mode, {"TERM": term}) == expected


def test_osc52_and_tmux_passthrough() -> None:
    sequence = clipboard.osc52("héllo\n")
    assert sequence.startswith("\x1b]52;c;") and sequence.endswith("\x07")
    assert base64.b64decode(sequence[7:-1]).decode() == "héllo\n"
    wrapped = clipboard.tmux_passthrough(sequence)
    assert wrapped == "\x1bPtmux;\x1b\x1b]52;c;" + sequence[7:] + "\x1b\\"


def test_copy_file_is_private(tmp_path: Path) -> None:
    path = clipboard.write_copy_file("secret", tmp_path / "c.txt")
    assert path.read_text() == "secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_choices_last_reply_first_then_code_blocks() -> None:
    messages = [ChatMessage("user", "add?"), ChatMessage("assistant", REPLY)]
    choices = copy_choices(messages)
    assert choices[0].label.startswith("Last reply") and choices[0].text == REPLY
    assert choices[1].label == "Code python — def add(a: int, b: int) -> int:"
    assert choices[1].text == "def add(a: int, b: int) -> int:\n    return a + b\n"
    assert [c.label.split(" — ")[0] for c in choices] == ["Last reply", "Code python", "Your prompt"]
    assert code_blocks("no code here") == []


def _run_copy(settings: AppSettings, keys: list[str]) -> tuple[str | None, list[str]]:
    app, _ = scripted_app([[*tokens(REPLY), Done("stop")]], settings=settings)
    written: list[str] = []

    async def scenario() -> None:
        async with app.run_test() as pilot:
            await ask(pilot, "write an add function")
            assert app._driver is not None
            original = app._driver.write
            app._driver.write = lambda data: (written.append(data), original(data))[1]  # type: ignore[method-assign]
            await pilot.press(*keys)
            await wait_for(
                pilot, lambda: bool(app._notifications) and "Copied" in str(list(app._notifications))
            )

    asyncio.run(scenario())
    return app.clipboard, written


def test_f4_enter_sends_the_last_reply_as_osc52() -> None:
    copied, written = _run_copy(AppSettings(clipboard="osc52"), ["f4", "enter"])
    assert copied == REPLY
    assert clipboard.osc52(REPLY) in written


def test_f4_down_enter_copies_the_code_block_inside_tmux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,1,0")
    copied, written = _run_copy(AppSettings(clipboard="osc52"), ["f4", "down", "enter"])
    code = "def add(a: int, b: int) -> int:\n    return a + b\n"
    assert copied == code
    assert clipboard.osc52(code) in written
    assert clipboard.tmux_passthrough(clipboard.osc52(code)) in written


def test_file_mode_writes_the_file_and_not_the_terminal() -> None:
    copied, written = _run_copy(AppSettings(clipboard="file"), ["f4", "enter"])
    assert copied == REPLY
    assert clipboard.copy_file_path().read_text(encoding="utf-8") == REPLY
    assert not any("\x1b]52" in data for data in written)
