"""End to end at 80x24 on the embedded model: regenerate, versions, edit, back, quit, --resume, export.

What a new user would try: ask, regenerate twice, step through the three versions, edit the
first prompt, go back to the first branch, quit, reopen with ``--resume`` (the same branch is
shown), and export the chat as JSON (both branches, with parent ids).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.tmux import TmuxSession
from tui.store.store import open_store

pytestmark = [
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (scripts/system-deps.sh)"),
]

APP = str(Path(sys.executable).with_name("internlm-tui"))
FLAGS = "--temperature 1.0 --max-new-tokens 10"
ORIGINAL, EDIT = "Name a fruit.", " Only one word."


def environment() -> dict[str, str]:
    keys = ("INTERNLM_TUI_CACHE_DIR", "INTERNLM_TUI_DB", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")
    env = {key: os.environ[key] for key in keys if key in os.environ}
    env["TERM"] = "xterm-256color"
    return env


def ready(tmux: TmuxSession) -> None:
    tmux.wait_for(lambda s: "SmolLM2-135M-Instruct" in s and "ready" in s, timeout=180, what="model ready")


def reply_done(screen: str, label: str) -> bool:
    return label in screen and "tok/s" in screen and "ready" in screen


def test_regenerate_versions_edit_and_resume_at_80x24(embedded_model_dir: Path) -> None:
    env = environment()
    tmux = TmuxSession(f"{APP} {FLAGS}", width=80, height=24, env=env)
    try:
        ready(tmux)
        tmux.send(ORIGINAL, literal=True)
        tmux.send("Enter")
        tmux.wait_for(lambda s: "tok/s" in s and "ready" in s, timeout=120, what="first reply")
        tmux.send("C-r")
        tmux.wait_for(lambda s: reply_done(s, "‹ 2/2 ›"), timeout=120, what="second version")
        tmux.send("C-r")
        tmux.wait_for(lambda s: reply_done(s, "‹ 3/3 ›"), timeout=120, what="third version")
        for key, label in (("F8", "‹ 2/3 ›"), ("F8", "‹ 1/3 ›"), ("F9", "‹ 2/3 ›"), ("F9", "‹ 3/3 ›")):
            tmux.send(key)
            tmux.wait_for(lambda s, label=label: label in s, timeout=30, what=f"version {label}")
        tmux.send("C-g")  # edit the (first) prompt
        tmux.wait_for(lambda s: "editing a prompt" in s, timeout=30, what="editing mode")
        tmux.send("End")
        tmux.send(EDIT, literal=True)
        tmux.send("Enter")
        screen = tmux.wait_for(
            lambda s: ORIGINAL + EDIT in s and "‹ 2/2 ›" in s and "tok/s" in s and "ready" in s,
            timeout=120,
            what="reply to the edited prompt",
        )
        assert "‹ 3/3 ›" not in screen
        tmux.send("F8")  # back to the first branch: the original prompt and its third reply
        screen = tmux.wait_for(
            lambda s: "‹ 1/2 ›" in s and "‹ 3/3 ›" in s and EDIT.strip() not in s,
            timeout=30,
            what="first branch",
        )
        tmux.send("C-q")
        tmux.wait_for(lambda s: "[exited 0]" in s, timeout=30, what="clean exit")
    finally:
        tmux.close()
    resumed = TmuxSession(f"{APP} --resume", width=80, height=24, env=env)
    try:
        ready(resumed)
        screen = resumed.wait_for(lambda s: ORIGINAL in s and "‹ 3/3 ›" in s, timeout=60, what="same branch")
        assert EDIT.strip() not in screen
        resumed.send("C-q")
        resumed.wait_for(lambda s: "[exited 0]" in s, timeout=30, what="clean exit")
    finally:
        resumed.close()
    store = open_store(Path(env["INTERNLM_TUI_DB"]))
    cid = store.latest_conversation_id()
    store.close()
    assert cid is not None
    exported = subprocess.run(
        [APP, "--export", str(cid), "--format", "json"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    assert exported.returncode == 0, exported.stderr
    data = json.loads(exported.stdout)
    tree = data["tree"]
    prompts = [m for m in tree if m["role"] == "user"]
    assert [p["content"] for p in prompts] == [ORIGINAL, ORIGINAL + EDIT]
    assert all(p["parent_id"] is None for p in prompts)
    replies = [m for m in tree if m["role"] == "assistant"]
    assert [r["parent_id"] for r in replies] == [prompts[0]["id"]] * 3 + [prompts[1]["id"]]
    assert [m["id"] for m in tree if m["current"]] == [prompts[0]["id"], replies[2]["id"]]
    assert data["current_leaf_id"] == replies[2]["id"]
