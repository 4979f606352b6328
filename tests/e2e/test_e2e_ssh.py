"""End to end over a real SSH login: keyboard only, at 80x24 and 200x60, on the embedded model.

The way users meet the app: tmux on their laptop, ``ssh -tt`` into the machine, ``internlm-tui``.
Every step is a key sent with ``tmux send-keys`` and checked on ``capture-pane``; the copy is
checked on the raw bytes the app wrote to the SSH pty (``tmux pipe-pane``).
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.sshd import SshServer, missing_tools, run_sshd
from testkit.tmux import TmuxSession

APP = str(Path(sys.executable).with_name("internlm-tui"))


@pytest.fixture(scope="module")
def ssh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    reason = missing_tools()
    if reason:
        pytest.skip(reason)
    yield from run_sshd(tmp_path_factory.mktemp("sshd"))


def _remote_env(home: Path) -> dict[str, str]:
    """What the login shell would have: the user's dirs (isolated here) and the model cache."""
    env = {
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "INTERNLM_TUI_DB": str(home / "history.sqlite3"),
    }
    if "INTERNLM_TUI_CACHE_DIR" in os.environ:
        env["INTERNLM_TUI_CACHE_DIR"] = os.environ["INTERNLM_TUI_CACHE_DIR"]
    return env


def _reply_words(screen: str) -> int:
    """Words shown between the prompt and the input box: the streamed reply so far."""
    after = screen.split("Tell me a long story about a cat.", 1)[-1].split("╭", 1)[0]
    return len(re.findall(r"[A-Za-z]{2,}", after))


@pytest.mark.parametrize(("width", "height"), [(80, 24), (200, 60)])
def test_keyboard_only_session_over_ssh(
    ssh_server: SshServer, embedded_model_dir: Path, tmp_path: Path, width: int, height: int
) -> None:
    home = tmp_path / "home"
    command = ssh_server.command(f"{APP} --temperature 0 --max-new-tokens 400", _remote_env(home))
    tmux = TmuxSession(command, width=width, height=height, env={"TERM": "xterm-256color"})
    raw = tmp_path / "pty.bin"
    tmux.record_output(str(raw))
    try:
        tmux.wait_for(lambda s: "SmolLM2-135M-Instruct" in s and "ready" in s, timeout=180, what="ready")

        # 1. A prompt streams, and Esc stops it part-way.
        tmux.send("Tell me a long story about a cat.", literal=True)
        tmux.send("Enter")
        tmux.wait_for(lambda s: "Esc stops" in s and _reply_words(s) >= 8, timeout=90, what="streaming")
        tmux.send("Escape")
        stopped = tmux.wait_for(lambda s: "stopped" in s, timeout=60, what="stopped")
        assert "Tell me a long story about a cat." in stopped

        # 2. Copy the (partial) reply: F4 then Enter sends OSC 52 through SSH to this terminal.
        tmux.send("F4")
        tmux.wait_for(lambda s: "Last reply" in s, timeout=20, what="copy list")
        tmux.send("Enter")
        tmux.wait_for(lambda s: "Copied" in s, timeout=20, what="copied note")

        # 3. New chat, then back to the first one from the history sidebar.
        shown = "█ Tell me a long story about a cat."
        tmux.send("C-n")
        tmux.wait_for(lambda s: shown not in s, timeout=20, what="empty chat")
        tmux.send("F2")
        tmux.wait_for(lambda s: "Today" in s and "Rename" in s, timeout=20, what="cursor in the history list")
        tmux.send("Enter")
        tmux.wait_for(lambda s: shown in s, timeout=20, what="the first chat reopened")

        # 4. Switch theme from the command palette.
        tmux.send("C-p")
        tmux.wait_for(lambda s: "Search for commands" in s, timeout=20, what="palette")
        tmux.send("theme", literal=True)
        tmux.wait_for(lambda s: "Change the current theme" in s, timeout=20, what="theme command")
        tmux.send("Enter")
        tmux.wait_for(lambda s: "Search for themes" in s, timeout=20, what="theme list")
        tmux.wait_for(lambda s: "ansi-dark" in s, timeout=20, what="the whole theme list")
        tmux.send("high-contrast", literal=True)
        tmux.wait_for(lambda s: "high-contrast" in s and "ansi-dark" not in s, timeout=20, what="filtered")
        tmux.send("Enter")

        # 5. Quit: the SSH session ends cleanly.
        tmux.wait_for(lambda s: "Search for themes" not in s, timeout=20, what="palette closed")
        tmux.send("C-q")
        tmux.wait_for(lambda s: "[exited 0]" in s, timeout=30, what="clean exit")
    finally:
        tmux.close()

    preferences = json.loads((home / "state" / "internlm-tui" / "preferences.json").read_text())
    assert preferences == {"theme": "high-contrast"}
    copies = re.findall(rb"\x1b\]52;c;([A-Za-z0-9+/=]+)\x07", raw.read_bytes())
    assert copies, "no OSC 52 sequence reached the terminal"
    copied = base64.b64decode(copies[-1]).decode("utf-8")
    assert len(copied) > 10
    assert not copied.startswith("Tell me")  # the reply was copied, not the prompt
