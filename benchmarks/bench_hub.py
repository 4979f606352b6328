"""Hub downloads and failover: what our layer costs over the plain libraries.

Download: the loopback fake hub (testkit/fake_hub.py) serves one weights file; ``download()``
(progress figures, 1 MiB pieces, resumable ``.part`` files, sha256 check) and the plain
``huggingface_hub.snapshot_download`` each fetch it into an empty cache, interleaved, and the
ratio of their wall times is reported. Failover: two loopback servers, a conversation on the
first; the first dies; the next turn's time to its end is compared with a turn on a healthy
server (what moving the turn adds).
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any


def _download_figures(quick: bool) -> dict[str, Any]:
    from huggingface_hub import constants, snapshot_download

    from backends.local.hub_download import download
    from testkit.fake_hub import fake_hub, tiny_repo

    size = 8_000_000 if quick else 64_000_000
    rounds = 1 if quick else 3
    ours: list[float] = []
    plain: list[float] = []
    with fake_hub({"org/bench": tiny_repo(size)}) as hub, tempfile.TemporaryDirectory() as tmp:
        for i in range(rounds):
            for kind in ("plain", "ours"):
                cache = Path(tmp) / f"{kind}-{i}"
                constants.HF_HUB_CACHE = str(cache)
                started = time.perf_counter()
                if kind == "ours":
                    download("org/bench", endpoint=hub.endpoint)
                    ours.append(time.perf_counter() - started)
                else:
                    snapshot_download("org/bench", endpoint=hub.endpoint, cache_dir=str(cache))
                    plain.append(time.perf_counter() - started)
    return {
        "bytes": size,
        "ours_s": [round(t, 3) for t in ours],
        "plain_s": [round(t, 3) for t in plain],
        "time_ratio_ours_to_plain": round(statistics.median(ours) / statistics.median(plain), 3),
        "ours_mb_per_s": round(size / 1e6 / statistics.median(ours), 1),
    }


def _failover_figures(quick: bool) -> dict[str, Any]:
    from backends.events import ChatMessage, GenerationParams
    from backends.options import BackendOptions, RemoteOptions
    from backends.remote.backend import RemoteBackend
    from testkit.fault_server import fault_server, hello

    rounds = 3 if quick else 15
    params = GenerationParams(max_new_tokens=8)
    healthy: list[float] = []
    moved: list[float] = []

    def timed(backend: RemoteBackend, messages: list[ChatMessage]) -> float:
        started = time.perf_counter()
        for _event in backend.stream(messages, params, cancel=threading.Event()):
            pass
        return time.perf_counter() - started

    for i in range(rounds):
        with fault_server(hello) as first, fault_server(hello, get_delay_s=0.05) as second:
            options = RemoteOptions(base_url=first.base_url, more_urls=(second.base_url,))
            backend = RemoteBackend.connect(
                BackendOptions(backend="remote", remote=options), lambda _s, _f: None
            )
            chat = [ChatMessage("user", f"chat {i}")]
            timed(backend, chat)
            healthy.append(
                timed(backend, [*chat, ChatMessage("assistant", "x"), ChatMessage("user", "again")])
            )
            first.close()
            moved.append(timed(backend, [*chat, ChatMessage("assistant", "x"), ChatMessage("user", "third")]))
            backend.close()
    return {
        "turn_on_a_healthy_server_ms": round(statistics.median(healthy) * 1000, 1),
        "turn_moved_off_a_dead_server_ms": round(statistics.median(moved) * 1000, 1),
        "rounds": rounds,
    }


def run(quick: bool = False) -> dict[str, Any]:
    return {"download": _download_figures(quick), "failover": _failover_figures(quick)}
