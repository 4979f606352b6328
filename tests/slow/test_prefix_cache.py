"""KV-cache reuse across turns: same text as a full re-encode, fallback on edits, bounded memory."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.events import ChatMessage, Done, GenerationParams, TokenDelta, Usage
from backends.local.backend import LocalBackend
from backends.local.prefix_cache import common_prefix_length
from backends.options import BackendOptions

GREEDY = GenerationParams(max_new_tokens=24, temperature=0)


@pytest.fixture(scope="module")
def local(embedded_model_dir: Path) -> Iterator[LocalBackend]:
    backend = LocalBackend.load(BackendOptions(device="cpu"), lambda stage, fraction: None)
    yield backend
    backend.close()


def turn(backend: LocalBackend, messages: list[ChatMessage]) -> tuple[str, Usage]:
    text, usage = "", None
    for event in backend.stream(messages, GREEDY, cancel=threading.Event()):
        if isinstance(event, TokenDelta):
            text += event.text
        elif isinstance(event, Done):
            usage = event.usage
    assert usage is not None
    return text, usage


def test_common_prefix_length() -> None:
    assert common_prefix_length([1, 2, 3], [1, 2, 4, 5]) == 2
    assert common_prefix_length([], [1]) == 0
    assert common_prefix_length([1, 2], [1, 2]) == 2


def test_reuse_gives_the_same_text_as_a_full_encode(local: LocalBackend) -> None:
    messages = [ChatMessage("user", "Name three colours.")]
    previous_prompt = 0
    for number in range(3):
        reused_text, usage = turn(local, messages)
        if number > 0:  # a later turn reuses the whole previous prompt and most of the reply
            assert usage.cached_prompt_tokens is not None
            assert usage.cached_prompt_tokens > previous_prompt
        previous_prompt = usage.prompt_tokens
        local.prefix_cache.clear()
        fresh_text, fresh_usage = turn(local, messages)
        assert fresh_usage.cached_prompt_tokens == 0
        assert reused_text == fresh_text
        messages += [ChatMessage("assistant", fresh_text), ChatMessage("user", f"Now {number + 2} animals.")]


def test_an_edited_history_falls_back_and_stays_correct(local: LocalBackend) -> None:
    first = [
        ChatMessage("user", "Say hello."),
        ChatMessage("assistant", "Hello!"),
        ChatMessage("user", "Again."),
    ]
    turn(local, first)
    edited = [ChatMessage("user", "Say goodbye."), *first[1:]]
    text, usage = turn(local, edited)
    shared = common_prefix_length(local.encode(first)[0].tolist(), local.encode(edited)[0].tolist())
    assert usage.cached_prompt_tokens == shared < usage.prompt_tokens - 5  # only up to the edit
    local.prefix_cache.clear()
    assert turn(local, edited)[0] == text


def test_the_cache_is_dropped_above_its_cap(local: LocalBackend) -> None:
    local.prefix_cache.max_tokens = 20
    try:
        turn(local, [ChatMessage("user", "Tell me about the sea.")])
        assert local.prefix_cache.cached_tokens == 0
    finally:
        local.prefix_cache.max_tokens = 8192
    turn(local, [ChatMessage("user", "Tell me about the sea.")])
    assert local.prefix_cache.cached_tokens > 20
