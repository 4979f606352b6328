"""``internlm-tui download`` as a real process against the loopback fake hub: killed halfway and
resumed with a Range request, offline mode, one-line failures, the token sent but never shown."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.local.hub_download import PIECE_BYTES
from testkit.fake_hub import FakeHub, fake_hub, tiny_repo

SIZE = 12_000_000
CHUNK = PIECE_BYTES * 3
"""What the part file holds before the kill: whole pieces are written as they arrive."""
TOKEN = "hf_secretTOKEN1234567890"


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with fake_hub({"org/tiny": tiny_repo(SIZE)}) as served:
        yield served


def env_for(hub: FakeHub, home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE"))}
    env.update(HF_ENDPOINT=hub.endpoint, HF_HOME=str(home), NO_PROXY="127.0.0.1", PYTHONPATH=os.getcwd())
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_killed_halfway_then_resumed_with_range(hub: FakeHub, tmp_path: Path) -> None:
    hub.stall_after["model.safetensors"] = CHUNK + 500_000
    env = env_for(hub, tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", "download", "org/tiny"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert hub.stalled.wait(60), "the download never reached the stall"
        parts = tmp_path / "hub" / "models--org--tiny" / "blobs"
        deadline = time.monotonic() + 30
        while not any(p.stat().st_size >= CHUNK for p in parts.glob("*.part")):
            assert time.monotonic() < deadline, "the part file never got the first piece"
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    hub.stall_after.clear()
    hub.release.set()

    result = run(["download", "org/tiny"], env)
    assert result.returncode == 0, result.stderr
    folder = Path(result.stdout.strip())
    data = (folder / "model.safetensors").read_bytes()
    assert (
        hashlib.sha256(data).digest() == hashlib.sha256(tiny_repo(SIZE).files["model.safetensors"]).digest()
    )
    assert "resuming: " in result.stderr
    ranges = hub.log.ranges("model.safetensors")
    assert ranges[0] is None and ranges[-1] == f"bytes={CHUNK}-"
    assert "Traceback" not in result.stderr


def test_offline_uses_the_cache_and_says_so(hub: FakeHub, tmp_path: Path) -> None:
    env = env_for(hub, tmp_path)
    assert run(["download", "org/tiny"], env).returncode == 0
    requests = len(hub.log.requests)
    offline = run(["download", "org/tiny"], {**env, "HF_HUB_OFFLINE": "1"})
    assert offline.returncode == 0, offline.stderr
    assert "HF_HUB_OFFLINE=1: using the cache" in offline.stderr
    assert len(hub.log.requests) == requests  # nothing asked of the hub
    missing = run(["download", "org/other"], {**env, "HF_HUB_OFFLINE": "1"})
    assert missing.returncode == 1
    err_lines = missing.stderr.strip().splitlines()
    assert err_lines[-1].startswith("internlm-tui: error: org/other is not in the cache ")
    assert "HF_HUB_OFFLINE=1 forbids" in err_lines[-1] and "Traceback" not in missing.stderr


def test_not_found_is_one_line_and_the_token_is_sent_never_shown(hub: FakeHub, tmp_path: Path) -> None:
    result = run(["download", "org/nope"], env_for(hub, tmp_path, HF_TOKEN=TOKEN))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("internlm-tui: error: no model org/nope on http://127.0.0.1:")
    assert TOKEN not in result.stderr + result.stdout


def test_misuse_is_one_line_exit_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tui", "download"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "the following arguments are required: ORG/NAME" in result.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "tui", "download", "org/x", "--hub", "gitlab"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "invalid choice: 'gitlab'" in bad.stderr


def test_modelscope_unreachable_is_one_line(tmp_path: Path) -> None:
    """No ModelScope server can be reached here: the prefix picks its SDK, the failure is one line."""
    env = {**os.environ, "MODELSCOPE_ENDPOINT": "http://127.0.0.1:9", "HOME": str(tmp_path)}
    env["MODELSCOPE_CACHE"] = str(tmp_path / "ms")
    result = run(["download", "modelscope:org/x"], env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "internlm-tui: error: ModelScope download of org/x failed (NetworkError; hub http://127.0.0.1:9)"
    ]
