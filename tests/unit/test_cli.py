"""The command line: one-line errors with exit code 2, and the history commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tui.cli import main
from tui.store.store import open_store

APP = [sys.executable, "-m", "tui"]


def run_cli(*args: str, env_db: Path | None = None) -> subprocess.CompletedProcess[str]:
    import os

    env = dict(os.environ)
    if env_db is not None:
        env["INTERNLM_TUI_DB"] = str(env_db)
    return subprocess.run(
        [*APP, *args], capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--backend", "nope"], "unknown backend 'nope'"),
        (["--model", "/does/not/exist"], "does not exist"),
        (["--temperature", "hot"], "--temperature"),
        (["--frobnicate"], "unrecognized arguments"),
        (["--max-new-tokens", "0"], "positive integer"),
        (["--export", "999"], "no conversation with id 999"),
        (["--resume", "999"], "no conversation with id 999"),
    ],
)
def test_misuse_is_one_line_and_exit_code_2(args: list[str], expected: str, tmp_path: Path) -> None:
    result = run_cli(*args, env_db=tmp_path / "h.sqlite3")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("internlm-tui: error:") and expected in lines[0]
    assert "Traceback" not in result.stderr


def test_folder_that_is_not_a_model(tmp_path: Path) -> None:
    assert main(["--model", str(tmp_path)]) == 2


def test_unreadable_gguf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"NOPE" + b"\0" * 64)
    assert main(["--model", str(bad)]) == 2
    assert "not a GGUF file" in capsys.readouterr().err


def test_newer_database_is_refused_at_start(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "h.sqlite3"
    conn = sqlite3.connect(str(db))
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    result = run_cli("--backend", "scripted", "--db", str(db))
    assert result.returncode == 2 and "newer internlm-tui" in result.stderr


def test_list_and_export_from_the_shell(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    store = open_store(db)
    cid = store.create_conversation("solve 2x+3=10", backend="local", model="m", system="sys")
    assert cid is not None
    store.add_message(cid, "user", "solve 2x+3=10")
    store.add_message(cid, "assistant", "x = 3.5")
    store.close()
    listed = run_cli("--list", "--db", str(db))
    assert listed.returncode == 0 and "solve 2x+3=10" in listed.stdout and "2 msgs" in listed.stdout
    exported = run_cli("--export", str(cid), "--format", "json", "--db", str(db))
    data = json.loads(exported.stdout)
    assert [m["role"] for m in data["messages"]] == ["system", "user", "assistant"]
    out = tmp_path / "chat.md"
    assert run_cli("--export", str(cid), "-o", str(out), "--db", str(db)).returncode == 0
    assert "x = 3.5" in out.read_text()
