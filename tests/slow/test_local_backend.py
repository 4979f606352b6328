"""The local backend on the real embedded model (SmolLM2-135M-Instruct, CPU)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.events import ChatMessage, Done, GenerationParams, TokenDelta
from backends.local.backend import LocalBackend
from backends.options import BackendOptions
from testkit.contract import collect


@pytest.fixture(scope="module")
def local(embedded_model_dir: Path) -> Iterator[LocalBackend]:
    backend = LocalBackend.load(BackendOptions(), lambda stage, fraction: None)
    yield backend
    backend.close()


def reply_text(backend: LocalBackend, messages: list[ChatMessage], params: GenerationParams) -> str:
    return "".join(e.text for e in collect(backend, messages, params) if isinstance(e, TokenDelta))


def test_greedy_reply_is_non_empty_and_deterministic(local: LocalBackend) -> None:
    params = GenerationParams(max_new_tokens=24, temperature=0)
    messages = [ChatMessage("user", "What is the capital of France?")]
    first = reply_text(local, messages, params)
    assert first.strip()
    assert reply_text(local, messages, params) == first


def test_seeded_sampling_is_reproducible(local: LocalBackend) -> None:
    messages = [ChatMessage("user", "Tell me a word.")]
    sampled = GenerationParams(max_new_tokens=16, temperature=1.0, top_p=0.95, seed=1234)
    assert reply_text(local, messages, sampled) == reply_text(local, messages, sampled)


def test_max_new_tokens_ends_with_length(local: LocalBackend) -> None:
    events = collect(
        local,
        [ChatMessage("user", "Count from 1 to 100.")],
        GenerationParams(max_new_tokens=5, temperature=0),
    )
    done = events[-1]
    assert isinstance(done, Done)
    assert done.reason == "length"
    assert done.usage.completion_tokens == 5
    assert done.usage.ttft_s is not None and done.usage.tokens_per_s is not None


def test_history_goes_through_the_chat_template(local: LocalBackend) -> None:
    messages = [
        ChatMessage("system", "You are terse."),
        ChatMessage("user", "My name is Ada."),
        ChatMessage("assistant", "Hello Ada."),
        ChatMessage("user", "What is my name?"),
    ]
    ids = local.encode(messages)
    rendered = local.tokenizer.decode(ids[0])
    for message in messages:
        assert f"<|im_start|>{message.role}\n{message.content}<|im_end|>" in rendered
    assert rendered.endswith("<|im_start|>assistant\n")
    greedy = GenerationParams(max_new_tokens=12, temperature=0)
    with_history = reply_text(local, messages, greedy)
    without_history = reply_text(local, messages[-1:], greedy)
    assert with_history.strip() and with_history != without_history


def test_no_stream_yields_one_delta(local: LocalBackend) -> None:
    events = collect(local, params=GenerationParams(max_new_tokens=12, temperature=0, stream=False))
    deltas = [e for e in events if isinstance(e, TokenDelta)]
    assert len(deltas) == 1 and deltas[0].text.strip()


def test_counts_prompt_tokens_with_its_template_and_knows_its_window(local: LocalBackend) -> None:
    messages = [ChatMessage("system", "Be brief."), ChatMessage("user", "What is the capital of France?")]
    assert local.count_tokens(messages) == local.encode(messages).shape[-1]
    assert local.info.context_window == local._loaded.model.config.max_position_embeddings
    assert "count-tokens" in local.info.capabilities
    assert local.count_tokens([]) == 0  # an empty chat (the meter asks before the first prompt)
