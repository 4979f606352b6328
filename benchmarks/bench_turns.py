"""Time to first token over a 20-turn conversation, local backend, with and without KV reuse.

Two ``LocalBackend`` objects share one loaded embedded model: one keeps its KV cache between
turns (the app's default, ``backends.local.prefix_cache``), the other never does (every turn encodes
the whole history again). Each turn is run on both, one after the other, with the same history,
so machine noise hits both alike. Greedy decoding, so both produce the same replies.
"""

from __future__ import annotations

import statistics
from typing import Any

PROMPTS = [
    "Name a colour.",
    "Why is the sky blue?",
    "Give me a word that rhymes with cat.",
    "What is 7 times 8?",
    "Suggest a name for a dog.",
]


def run(quick: bool = False) -> dict[str, Any]:
    from backends.events import ChatMessage, Done, GenerationParams, TokenDelta
    from backends.local.backend import LocalBackend
    from backends.local.prefix_cache import PrefixCache
    from backends.options import BackendOptions
    from testkit.contract import collect

    turns = 4 if quick else 20
    params = GenerationParams(max_new_tokens=12 if quick else 40, temperature=0)
    reusing = LocalBackend.load(BackendOptions(), lambda stage, fraction: None)
    fresh = LocalBackend(reusing._loaded)
    fresh.prefix_cache = PrefixCache(max_tokens=0)  # keeps nothing: a full encode every turn

    def turn(backend: LocalBackend, history: list[ChatMessage]) -> tuple[str, Done]:
        events = collect(backend, history, params)
        done = events[-1]
        assert isinstance(done, Done) and done.usage.ttft_s is not None, "the turn did not finish"
        return "".join(event.text for event in events if isinstance(event, TokenDelta)), done

    warm_up = [ChatMessage("user", "Say hello.")]
    turn(reusing, warm_up)
    turn(fresh, warm_up)
    reusing.prefix_cache.clear()
    history: list[ChatMessage] = []
    rows: list[dict[str, Any]] = []
    for number in range(turns):
        history.append(ChatMessage("user", f"{PROMPTS[number % len(PROMPTS)]} (question {number + 1})"))
        reply, reused = turn(reusing, history)
        fresh_reply, full = turn(fresh, history)
        rows.append(
            {
                "turn": number + 1,
                "prompt_tokens": reused.usage.prompt_tokens,
                "cached_prompt_tokens": reused.usage.cached_prompt_tokens,
                "ttft_reuse_s": round(reused.usage.ttft_s or 0.0, 4),
                "ttft_full_encode_s": round(full.usage.ttft_s or 0.0, 4),
                "same_reply": reply == fresh_reply,
            }
        )
        history.append(ChatMessage("assistant", reply))
    kept_tokens = reusing.prefix_cache.cached_tokens
    reusing.close()

    def ratio(key: str) -> float:
        return round(float(rows[-1][key]) / float(rows[0][key]), 3)

    def median_ratio(key: str) -> float:
        late = statistics.median(float(row[key]) for row in rows[-3:])
        early = statistics.median(float(row[key]) for row in rows[:3])
        return round(late / early, 3)

    return {
        "turn_n_ttft_ratio": ratio("ttft_reuse_s"),
        "turn_n_ttft_ratio_target": "<= 1.3",
        "turn_n_ttft_ratio_median3": median_ratio("ttft_reuse_s"),
        "turn_n_ttft_ratio_without_reuse": ratio("ttft_full_encode_s"),
        "turns": turns,
        "replies_identical_with_and_without_reuse": all(row["same_reply"] for row in rows),
        "kv_cache_tokens_kept_after_last_turn": kept_tokens,
        "kv_cache_cap_tokens": PrefixCache().max_tokens,
        "per_turn": rows,
    }
