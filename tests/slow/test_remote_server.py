"""The remote backend against a real ``transformers serve`` on the embedded model."""

from __future__ import annotations

import threading
import time

import pytest

from backends.base import BackendLoadError
from backends.events import ChatMessage, Done, GenerationParams, TokenDelta
from testkit import contract
from testkit.fault_server import connect, text_of
from testkit.serve import ServedModel


def test_discovery_streaming_params_and_usage(transformers_server: ServedModel) -> None:
    backend = connect(transformers_server.base_url)  # no --model: the server's only model
    assert backend.model == transformers_server.model
    assert backend.list_models() == [transformers_server.model]
    events = contract.check_completes(backend)
    assert isinstance(events[-1], Done) and events[-1].usage.ttft_s is not None

    params = GenerationParams(max_new_tokens=4, temperature=0, seed=3)
    messages = [ChatMessage("system", "You are terse."), ChatMessage("user", "Name a colour.")]
    events = contract.collect(backend, messages, params)
    done = events[-1]
    assert isinstance(done, Done) and done.reason == "length", done
    # usage comes from the server's final chunk (stream_options.include_usage)
    assert done.usage.completion_tokens == 4 and done.usage.prompt_tokens > 10
    assert text_of(events)
    backend.close()


def test_unknown_model_is_a_clear_error(transformers_server: ServedModel) -> None:
    with pytest.raises(BackendLoadError, match=f"no model 'nope'; it serves: {transformers_server.model}$"):
        connect(transformers_server.base_url, model="nope")


def test_complete_streams_a_raw_prompt(transformers_server: ServedModel) -> None:
    backend = connect(transformers_server.base_url, model=transformers_server.model)
    params = GenerationParams(max_new_tokens=6, temperature=0)
    events = list(backend.complete("1, 2, 3, 4, 5,", params, cancel=threading.Event()))
    contract.assert_one_terminal_event(events)
    assert isinstance(events[-1], Done) and events[-1].usage.completion_tokens > 0
    assert "6" in text_of(events)
    backend.close()


def test_cancel_stops_generation_on_the_server(transformers_server: ServedModel) -> None:
    """The server generates one request at a time: if it had not seen the hang-up it would
    still be counting for thousands of tokens (minutes on CPU) and the next request would wait."""
    backend = connect(transformers_server.base_url, model=transformers_server.model)
    cancel = threading.Event()
    events = []
    long_run = GenerationParams(max_new_tokens=4000, temperature=0)
    for event in backend.complete("1, 2, 3, 4, 5, 6, 7, 8,", long_run, cancel=cancel):
        events.append(event)
        if isinstance(event, TokenDelta):
            cancel.set()
    contract.assert_one_terminal_event(events)
    assert isinstance(events[-1], Done) and events[-1].reason == "cancelled"

    started = time.monotonic()
    after = contract.collect(backend, params=GenerationParams(max_new_tokens=2, temperature=0))
    assert isinstance(after[-1], Done) and after[-1].reason in ("length", "stop")
    assert time.monotonic() - started < 30, "the server kept generating after the client hung up"

    contract.check_cancel_midway(backend)  # chat completions too
    contract.check_cancel_before_start(backend)
    contract.check_completes(backend)  # and the next prompt still works
    backend.close()
