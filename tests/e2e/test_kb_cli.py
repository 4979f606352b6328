"""``internlm-tui --kb DIR --kb-query TEXT``: the real command, JSON on stdout, exit codes.

The fast cases point ``--embedding-model`` at a folder that is no model, which must degrade to
keyword search with one warning line; the packaged model is exercised in ``tests/slow``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.kb import write_docs

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_DATA_HOME": str(home / "data")}
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
    )


def test_kb_query_prints_json_hits_and_exits_0(tmp_path: Path) -> None:
    docs = write_docs(tmp_path / "docs")
    no_model = tmp_path / "no-model"
    no_model.mkdir()
    result = _run(
        "--kb",
        str(docs),
        "--kb-query",
        "部署",
        "--top-k",
        "2",
        "--embedding-model",
        str(no_model),
        home=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert len(hits) == 1 and set(hits[0]) == {"path", "lines", "score", "text"}
    assert hits[0]["path"] == "guide/deploy.md"
    assert hits[0]["lines"] == [8, 8] and "部署" in hits[0]["text"]
    assert result.stderr.count("\n") == 1 and "keywords only" in result.stderr

    docs.joinpath("notes.txt").write_text("Fjords are carved by glaciers.\n")  # picked up next time
    again = _run(
        "--kb", str(docs), "--kb-query", "glaciers", "--embedding-model", str(no_model), home=tmp_path
    )
    assert [hit["path"] for hit in json.loads(again.stdout)] == ["notes.txt"]
    index = tmp_path / "data" / "internlm-tui" / "kb"
    assert [oct(p.stat().st_mode & 0o777) for p in index.glob("*.sqlite3")] == ["0o600"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kb-query", "x"], "--kb-query needs at least one --kb DIR"),
        (["--kb", "/definitely/missing", "--kb-query", "x"], "is not a folder"),
        (["--kb", ".", "--kb-query", "x", "--top-k", "0"], "must be a positive integer"),
        (["--kb", ".", "--kb-query", "x", "--top-k", "-3"], "must be a positive integer"),
        (["--kb", ".", "--kb-query", "   "], "needs some text"),
    ],
)
def test_kb_query_misuse_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = _run(*args, home=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr
