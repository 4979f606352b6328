"""Remote backend efficiency: tokens/s seen by the app vs the plain ``openai`` streaming client.

One real ``transformers serve`` on the embedded model; both clients send the same greedy
request, interleaved (plain, app, plain, app, ...) so machine noise hits both alike. Tokens/s
is counted between the first and the last content chunk, so the figure is the streaming rate
and not the server's prompt processing.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

PROMPT = "Write a short story about a robot who learns to paint."


def _rate(stamps: list[float]) -> float:
    return (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0


def run(quick: bool = False) -> dict[str, Any]:
    import openai

    from backends.events import ChatMessage, GenerationParams, TokenDelta
    from backends.local.embedded import convert_gguf, embedded_gguf_path
    from backends.options import BackendOptions, RemoteOptions
    from backends.remote.backend import RemoteBackend
    from testkit.serve import MODEL_ID, fake_hub_cache, free_port, wait_healthy

    new_tokens = 16 if quick else 128
    rounds = 1 if quick else 3
    port = free_port()
    hub = fake_hub_cache(Path(tempfile.mkdtemp(prefix="bench-hub-")), convert_gguf(embedded_gguf_path()))
    env = dict(os.environ, HF_HUB_CACHE=str(hub), HF_HUB_OFFLINE="1", NO_PROXY="127.0.0.1,localhost")
    cli = Path(sys.executable).with_name("transformers")
    process = subprocess.Popen(
        [str(cli), "serve", MODEL_ID, "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(process, base)
        options = BackendOptions(
            backend="remote", model=MODEL_ID, remote=RemoteOptions(base_url=f"{base}/v1")
        )
        backend = RemoteBackend.connect(options, lambda stage, fraction: None)
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused")
        params = GenerationParams(max_new_tokens=new_tokens, temperature=0, seed=0)
        messages = [ChatMessage("user", PROMPT)]

        def plain() -> float:
            stamps: list[float] = []
            stream = client.chat.completions.create(
                model=MODEL_ID,
                messages=[{"role": "user", "content": PROMPT}],
                max_tokens=new_tokens,
                temperature=0,
                seed=0,
                stream=True,
            )
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    stamps.append(time.perf_counter())
            return _rate(stamps)

        def app() -> float:
            stamps = [
                time.perf_counter()
                for event in backend.stream(messages, params, cancel=threading.Event())
                if isinstance(event, TokenDelta) and event.text
            ]
            return _rate(stamps)

        plain()  # warm-up: the server loads the model on the first request
        plain_rates, app_rates = [], []
        for _ in range(rounds):
            plain_rates.append(plain())
            app_rates.append(app())
        backend.close()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    plain_median = statistics.median(plain_rates)
    app_median = statistics.median(app_rates)
    return {
        "streaming_efficiency": round(app_median / plain_median, 3) if plain_median else None,
        "streaming_efficiency_target": ">= 0.97",
        "app_tokens_per_s": [round(r, 2) for r in app_rates],
        "plain_client_tokens_per_s": [round(r, 2) for r in plain_rates],
        "max_new_tokens": new_tokens,
    }
