"""A real ``transformers serve`` on the embedded model, on a free loopback port.

The model is placed in a private Hugging Face cache as ``local/SmolLM2-135M-Instruct`` (links
to the converted files, no download) so the server's ``/v1/models`` really lists it, and the
server is pinned to it. Nothing leaves the machine: ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

MODEL_ID = "local/SmolLM2-135M-Instruct"


@dataclass(frozen=True)
class ServedModel:
    """Where the server listens and the model id it serves."""

    base_url: str
    model: str
    pid: int
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fake_hub_cache(root: Path, model_dir: Path, repo_id: str = MODEL_ID) -> Path:
    """A Hugging Face cache layout whose only snapshot links to ``model_dir``'s files."""
    revision = "0" * 40
    repo = root / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / revision
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "blobs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    for file in model_dir.iterdir():
        (snapshot / file.name).symlink_to(file.resolve())
    return root


def wait_healthy(process: subprocess.Popen[bytes], base: str, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"transformers serve exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("transformers serve did not become healthy")
        time.sleep(0.5)


@contextmanager
def serving(model_dir: Path, workdir: Path, model_id: str = MODEL_ID) -> Iterator[ServedModel]:
    """One ``transformers serve`` process on ``model_dir`` (listed as ``model_id``); stopped (its
    whole group) on exit."""
    port = free_port()
    hub_root = workdir / "hf-hub"
    hub_root.mkdir(parents=True, exist_ok=True)
    hub = fake_hub_cache(hub_root, model_dir, model_id)
    env = dict(os.environ, HF_HUB_CACHE=str(hub), HF_HUB_OFFLINE="1", NO_PROXY="127.0.0.1,localhost")
    cli = Path(sys.executable).with_name("transformers")
    log_path = workdir / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(cli), "serve", model_id, "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(process, base)
        yield ServedModel(f"{base}/v1", model_id, process.pid, log_path)
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, SIGKILL it if it lingers; fine if already gone."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=20)


@pytest.fixture(scope="session")
def transformers_server(
    embedded_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedModel]:
    """Start the server, wait for /health, yield where it is, stop it by pid."""
    with serving(embedded_model_dir, tmp_path_factory.mktemp("serve")) as served:
        yield served


VISION_MODEL_ID = "local/tiny-llava"


@pytest.fixture(scope="session")
def tiny_vision_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random LLaVA of ``testkit.vision``, written once per session."""
    from testkit.vision import write_tiny_llava

    return write_tiny_llava(tmp_path_factory.mktemp("tiny-llava"))


@pytest.fixture(scope="session")
def vision_server(tiny_vision_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedModel]:
    """``transformers serve`` on the tiny vision model (it takes ``image_url`` content parts)."""
    with serving(tiny_vision_dir, tmp_path_factory.mktemp("serve-vision"), VISION_MODEL_ID) as served:
        yield served
