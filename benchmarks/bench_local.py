"""Local backend efficiency: tokens/s the app reports vs a plain ``model.generate``.

Both run in this process on the embedded model with the same prompt and greedy settings,
interleaved (plain, app, plain, app, …) so machine noise hits both sides alike. The plain call
runs in a fresh thread, as the app's does: torch's OpenMP thread pools belong to the thread that
calls in, and a baseline on the main thread leaves its pool spinning while the other thread's
pool works, which alone made the threaded side about 4% slower here (with
``OMP_WAIT_POLICY=PASSIVE`` the gap disappears, which confirms the cause).
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

PROMPT = "Write a short story about a robot who learns to paint."


def run(quick: bool = False) -> dict[str, Any]:
    from backends.events import ChatMessage, Done, GenerationParams
    from backends.local.backend import LocalBackend
    from backends.options import BackendOptions

    new_tokens = 16 if quick else 128
    rounds = 1 if quick else 5
    backend = LocalBackend.load(BackendOptions(), lambda stage, fraction: None)
    messages = [ChatMessage("user", PROMPT)]
    params = GenerationParams(max_new_tokens=new_tokens, temperature=0)
    model = backend._loaded.model
    input_ids = backend.encode(messages)

    def plain() -> float:
        result: dict[str, Any] = {}

        def generate() -> None:
            result["ids"] = model.generate(
                input_ids=input_ids,
                attention_mask=input_ids.new_ones(input_ids.shape),
                max_new_tokens=new_tokens,
                do_sample=False,
                pad_token_id=backend.tokenizer.eos_token_id,
            )

        started = time.perf_counter()
        worker = threading.Thread(target=generate)
        worker.start()
        worker.join()
        produced = int(result["ids"].shape[1] - input_ids.shape[1])
        return produced / (time.perf_counter() - started)

    def app() -> tuple[float, float]:
        done = None
        for event in backend.stream(messages, params, cancel=threading.Event()):
            if isinstance(event, Done):
                done = event
        assert done is not None and done.usage.tokens_per_s is not None and done.usage.ttft_s is not None
        return done.usage.tokens_per_s, done.usage.ttft_s

    plain()  # warm-up
    plain_rates: list[float] = []
    app_rates: list[float] = []
    ttfts: list[float] = []
    for _ in range(rounds):
        plain_rates.append(plain())
        rate, ttft = app()
        app_rates.append(rate)
        ttfts.append(ttft)
    plain_median = statistics.median(plain_rates)
    app_median = statistics.median(app_rates)
    backend.close()
    return {
        "streaming_efficiency": round(app_median / plain_median, 3),
        "streaming_efficiency_target": ">= 0.97",
        "app_tokens_per_s": round(app_median, 2),
        "plain_generate_tokens_per_s": round(plain_median, 2),
        "app_ttft_s": round(statistics.median(ttfts), 3),
        "new_tokens": new_tokens,
        "rounds": rounds,
    }
