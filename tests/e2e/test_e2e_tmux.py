"""End to end: the real ``internlm-tui`` on the embedded model in tmux, driven by keys."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.tmux import TmuxSession

pytestmark = [
    pytest.mark.skipif(
        shutil.which("tmux") is None, reason="tmux is not installed (scripts/system-deps.sh installs it)"
    ),
]

APP = str(Path(sys.executable).with_name("internlm-tui"))


@pytest.fixture
def app_in_tmux(embedded_model_dir: Path, tmp_path: Path) -> Iterator[TmuxSession]:
    import os

    env = {
        key: os.environ[key]
        for key in ("INTERNLM_TUI_CACHE_DIR", "INTERNLM_TUI_DB", "XDG_CONFIG_HOME", "XDG_DATA_HOME")
        if key in os.environ
    }
    env["TERM"] = "xterm-256color"
    session = TmuxSession(f"{APP} --temperature 0 --max-new-tokens 40", env=env)
    yield session
    session.close()


def test_prompt_streams_a_reply_on_the_real_model(app_in_tmux: TmuxSession) -> None:
    tmux = app_in_tmux
    tmux.wait_for(lambda s: "SmolLM2-135M-Instruct" in s and "ready" in s, timeout=120, what="model ready")
    tmux.send("What is the capital of France?", literal=True)
    tmux.send("Enter")
    screen = tmux.wait_for(lambda s: "tok/s" in s and "TTFT" in s, timeout=120, what="reply finished")
    assert "What is the capital of France?" in screen
    assert "Paris" in screen
    tmux.send("C-q")
    tmux.wait_for(lambda s: "[exited 0]" in s, timeout=30, what="clean exit")
