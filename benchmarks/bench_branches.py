"""Time to first token of a regenerated reply ÷ of the original reply, local backend (KV reuse).

A conversation of several turns is built on the embedded model; then the last reply is
regenerated (the same history up to its prompt, as the app sends it) and the chat moves back to
the first branch and continues. The KV cache (``backends.local.prefix_cache``) holds the
common token prefix, so a regenerate only processes what differs. A second backend sharing the
model keeps no cache, for the full-encode figure.
"""

from __future__ import annotations

from typing import Any


def run(quick: bool = False) -> dict[str, Any]:
    from backends.events import ChatMessage, Done, GenerationParams, TokenDelta
    from backends.local.backend import LocalBackend
    from backends.local.prefix_cache import PrefixCache
    from backends.options import BackendOptions
    from testkit.contract import collect

    turns = 3 if quick else 8
    params = GenerationParams(max_new_tokens=12 if quick else 40, temperature=0)
    sampled = GenerationParams(max_new_tokens=params.max_new_tokens, temperature=0.9, seed=7)
    reusing = LocalBackend.load(BackendOptions(), lambda stage, fraction: None)
    fresh = LocalBackend(reusing._loaded)
    fresh.prefix_cache = PrefixCache(max_tokens=0)

    def turn(backend: LocalBackend, history: list[ChatMessage], how: GenerationParams) -> tuple[str, Done]:
        events = collect(backend, history, how)
        done = events[-1]
        assert isinstance(done, Done) and done.usage.ttft_s is not None, "the turn did not finish"
        return "".join(e.text for e in events if isinstance(e, TokenDelta)), done

    turn(reusing, [ChatMessage("user", "Say hello.")], params)  # warm up
    reusing.prefix_cache.clear()
    history: list[ChatMessage] = []
    original: Done | None = None
    for number in range(turns):
        history.append(ChatMessage("user", f"Tell me one fact about the number {number + 7}."))
        reply, original = turn(reusing, history, params)
        history.append(ChatMessage("assistant", reply))
    assert original is not None
    prompt = history[:-1]  # regenerate: the same prompt, with the same settings as the original
    regenerated_reply, regenerated = turn(reusing, prompt, params)
    _, full = turn(fresh, prompt, params)
    _, resampled = turn(reusing, prompt, sampled)  # as a user retrying for another answer would
    back = [*history, ChatMessage("user", "And one more fact, please.")]  # back on the first branch
    _, back_on_branch = turn(reusing, back, params)
    _, back_full = turn(fresh, back, params)
    reusing.close()
    ttft = {
        "original_reply_s": round(original.usage.ttft_s or 0.0, 4),
        "regenerate_s": round(regenerated.usage.ttft_s or 0.0, 4),
        "regenerate_sampled_s": round(resampled.usage.ttft_s or 0.0, 4),
        "regenerate_full_encode_s": round(full.usage.ttft_s or 0.0, 4),
        "back_on_first_branch_s": round(back_on_branch.usage.ttft_s or 0.0, 4),
        "back_on_first_branch_full_encode_s": round(back_full.usage.ttft_s or 0.0, 4),
    }
    return {
        "regenerate_ttft_ratio": round(ttft["regenerate_s"] / ttft["original_reply_s"], 3),
        "regenerate_ttft_ratio_full_encode": round(
            ttft["regenerate_full_encode_s"] / ttft["original_reply_s"], 3
        ),
        "regenerate_cached_prompt_tokens": regenerated.usage.cached_prompt_tokens,
        "regenerate_prompt_tokens": regenerated.usage.prompt_tokens,
        "back_on_branch_cached_prompt_tokens": back_on_branch.usage.cached_prompt_tokens,
        "regenerated_greedy_reply_identical": regenerated_reply == history[-1].content,
        "turns": turns,
        "ttft": ttft,
    }
