"""The remote backend against a loopback server that fails on purpose (stalls, cuts, bad status)."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import pytest

from backends.base import BackendConfigError, BackendLoadError
from backends.events import BackendEvent, ChatMessage, Done, Error, GenerationParams, ThoughtDelta, TokenDelta
from backends.options import RemoteOptions
from backends.remote.http import display_url, make_client, retry_after_s
from testkit import contract
from testkit.fault_server import (
    Handler,
    connect,
    endless,
    fault_server,
    head,
    json_response,
    silent,
    sse,
    text_of,
)

FINISH = sse(finish="stop") + b"data: [DONE]\n\n"


def run_turn(handler: Handler, **remote: Any) -> list[BackendEvent]:
    with fault_server(handler) as server:
        backend = connect(server.base_url, **remote)
        try:
            return contract.collect(backend, params=GenerationParams(max_new_tokens=50))
        finally:
            backend.close()


def error_of(events: list[BackendEvent]) -> str:
    contract.assert_one_terminal_event(events)
    last = events[-1]
    assert isinstance(last, Error), last
    assert "\n" not in last.message and len(last.message) < 400
    return last.message


# ----- discovery -------------------------------------------------------------------------------
def test_discovery_takes_the_first_model_and_model_flag_chooses() -> None:
    with fault_server(endless, models=("alpha", "beta")) as server:
        assert connect(server.base_url).model == "alpha"
        backend = connect(server.base_url, model="beta")
        assert backend.model == "beta" and backend.info.model == "beta"
        assert backend.list_models() == ["alpha", "beta"]
        with pytest.raises(BackendLoadError, match="no model 'gamma'; it serves: alpha, beta"):
            connect(server.base_url, model="gamma")


def test_a_server_listing_no_models_needs_the_model_flag() -> None:
    with fault_server(endless, models=()) as server, pytest.raises(BackendLoadError, match="--model"):
        connect(server.base_url)


def test_unreachable_server_is_one_line_at_connect() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(BackendLoadError, match=r"^server unreachable at http://127\.0\.0\.1:\d+/v1 \("):
        connect(f"http://127.0.0.1:{port}/v1")


def test_server_gone_after_connect_is_retried_then_one_line() -> None:
    with fault_server(endless) as server:
        backend = connect(server.base_url, max_retries=1)
    events = contract.collect(backend)
    message = error_of(events)
    assert message.startswith("server unreachable") and message.endswith("(after 1 retry)")


def test_bad_base_url_is_a_config_error() -> None:
    with pytest.raises(BackendConfigError, match="http:// or https://"):
        make_client(RemoteOptions(base_url="ftp://host/v1"))
    with pytest.raises(BackendConfigError, match="--base-url"):
        make_client(RemoteOptions(base_url=None))


def test_display_url_drops_credentials() -> None:
    assert display_url("https://user:secret@host:8443/v1?key=abc") == "https://host:8443/v1"
    assert display_url("http://[::1]:23333/v1") == "http://[::1]:23333/v1"


# ----- what is sent ----------------------------------------------------------------------------
def test_system_prompt_and_generation_params_are_sent() -> None:
    def handler(conn: socket.socket, attempt: int) -> None:
        conn.sendall(head() + sse("ok") + FINISH)

    with fault_server(handler) as server:
        backend = connect(server.base_url)
        params = GenerationParams(temperature=0.3, top_p=0.9, max_new_tokens=7, seed=42, stop=("END",))
        messages = [ChatMessage("system", "Be brief."), ChatMessage("user", "Hi")]
        events = contract.collect(backend, messages, params)
        body = server.posts[-1].body
    assert text_of(events) == "ok" and isinstance(events[-1], Done)
    assert server.posts[-1].path == "/v1/chat/completions"
    assert body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert body["model"] == "fake-model" and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert (body["temperature"], body["top_p"], body["max_tokens"], body["seed"]) == (0.3, 0.9, 7, 42)
    assert body["stop"] == ["END"]


def test_usage_from_the_server_is_read() -> None:
    def handler(conn: socket.socket, attempt: int) -> None:
        usage = {"prompt_tokens": 11, "completion_tokens": 2, "total_tokens": 13}
        conn.sendall(head() + sse("a") + sse("b", finish="length", usage=usage))

    events = run_turn(handler)
    done = events[-1]
    assert isinstance(done, Done) and done.reason == "length"
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (11, 2)
    assert done.usage.ttft_s is not None and done.usage.tokens_per_s is not None


def test_reasoning_deltas_become_thoughts() -> None:
    def handler(conn: socket.socket, attempt: int) -> None:
        thinking = b'data: {"choices": [{"index": 0, "delta": {"reasoning_content": "hmm"}}]}\n\n'
        conn.sendall(head() + thinking + sse("answer") + FINISH)

    events = run_turn(handler)
    assert ThoughtDelta("hmm") in events and text_of(events) == "answer"


def test_complete_streams_a_raw_prompt_with_extra_stops() -> None:
    def handler(conn: socket.socket, attempt: int) -> None:
        chunk = b'data: {"choices": [{"index": 0, "text": "%s"}]}\n\n'
        end = b'data: {"choices": [{"index": 0, "text": "", "finish_reason": "stop"}]}\n\n'
        conn.sendall(head() + chunk % b"Thought:" + chunk % b" go" + end + b"data: [DONE]\n\n")

    with fault_server(handler) as server:
        backend = connect(server.base_url)
        params = GenerationParams(max_new_tokens=9, stop=("a",))
        events = list(backend.complete("<prompt>", params, cancel=threading.Event(), stop=("b", "a")))
        request = server.posts[-1]
    assert request.path == "/v1/completions"
    assert request.body["prompt"] == "<prompt>" and request.body["stop"] == ["a", "b"]
    assert "messages" not in request.body and request.body["max_tokens"] == 9
    assert text_of(events) == "Thought: go" and isinstance(events[-1], Done)


def test_api_key_is_sent_but_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "sk-canary-123")

    def handler(conn: socket.socket, attempt: int) -> None:
        conn.sendall(json_response(401, '{"error": {"message": "Incorrect API key sk-canary-123"}}'))

    with fault_server(handler) as server:
        backend = connect(server.base_url, api_key_env="MY_KEY")
        events = contract.collect(backend)
        sent = server.posts[-1].headers
    assert sent["authorization"] == "Bearer sk-canary-123"
    message = error_of(events)
    assert message.startswith("401 unauthorised") and "$MY_KEY" in message
    assert "sk-canary" not in message and "sk-canary" not in repr(backend.info)


def test_no_key_no_authorization_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    def handler(conn: socket.socket, attempt: int) -> None:
        conn.sendall(head() + sse("ok") + FINISH)

    with fault_server(handler) as server:
        contract.collect(connect(server.base_url))
        assert "authorization" not in server.posts[-1].headers


# ----- HTTP errors -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, '{"error": {"message": "bad key"}}', "401 unauthorised: the server rejected the API key"),
        (404, '{"detail": "model gone"}', "404 not found: the server has no model 'fake-model'"),
        (400, "bad request body", "request rejected (400): bad request body"),
    ],
)
def test_client_errors_are_not_retried(status: int, body: str, expected: str) -> None:
    calls: list[int] = []

    def handler(conn: socket.socket, attempt: int) -> None:
        calls.append(attempt)
        conn.sendall(json_response(status, body))

    assert expected in error_of(run_turn(handler)) and calls == [1]


def test_server_error_is_retried_then_shows_the_sanitised_message() -> None:
    calls: list[int] = []

    def handler(conn: socket.socket, attempt: int) -> None:
        calls.append(attempt)
        message = "CUDA out of memory.\n\tTried to allocate " + "x" * 1000
        conn.sendall(json_response(500, json.dumps({"error": {"message": message}})))

    message = error_of(run_turn(handler, max_retries=1))
    assert message.startswith("server error 500: CUDA out of memory. Tried to allocate xxx")
    assert message.endswith("… (after 1 retry)") and len(calls) == 2


def test_429_is_retried_after_retry_after_then_succeeds() -> None:
    def handler(conn: socket.socket, attempt: int) -> None:
        if attempt == 1:
            conn.sendall(json_response(429, '{"error": "slow down"}', "Retry-After: 0.4\r\n"))
            return
        conn.sendall(head() + sse("ok") + FINISH)

    started = time.monotonic()
    events = run_turn(handler)
    assert isinstance(events[-1], Done) and text_of(events) == "ok"
    assert time.monotonic() - started >= 0.4


def test_429_until_retries_run_out() -> None:
    calls: list[int] = []

    def handler(conn: socket.socket, attempt: int) -> None:
        calls.append(attempt)
        conn.sendall(json_response(429, '{"error": "slow down"}', "Retry-After: 0\r\n"))

    message = error_of(run_turn(handler, max_retries=2))
    assert message.startswith("429 rate limited") and "slow down" in message and "after 2 retries" in message
    assert calls == [1, 2, 3]


def test_retry_after_accepts_an_http_date() -> None:
    import email.utils

    import httpx

    later = email.utils.formatdate(time.time() + 5, usegmt=True)
    wait = retry_after_s(httpx.Response(429, headers={"Retry-After": later}))
    assert wait is not None and 3 < wait <= 6
    assert retry_after_s(httpx.Response(429, headers={"Retry-After": "soon"})) is None


# ----- stalls, cuts, bad events ---------------------------------------------------------------
def test_stall_before_first_token() -> None:
    def handler(conn: socket.socket, attempt: int) -> None:
        conn.sendall(head() + b'data: {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}\n\n')
        time.sleep(3)

    started = time.monotonic()
    message = error_of(run_turn(handler, first_token_timeout_s=0.5))
    assert message == "the server stalled: no first token within 0.5 s"
    assert time.monotonic() - started < 2.5


def test_stall_before_headers_is_caught_and_the_server_sees_the_hang_up() -> None:
    with fault_server(silent) as server:
        backend = connect(server.base_url, first_token_timeout_s=0.5)
        message = error_of(contract.collect(backend))
        assert "no first token" in message
        assert server.disconnected.wait(2), "the server never saw the client hang up"


def test_stall_mid_stream_keeps_partial_text() -> None:
    def handler(conn: socket.socket, attempt: int) -> None:
        conn.sendall(head() + sse("part"))
        time.sleep(3)

    events = run_turn(handler, chunk_timeout_s=0.5)
    assert text_of(events) == "part"
    assert error_of(events) == "the server stalled: nothing for 0.5 s mid-reply"


def test_cut_mid_event_keeps_partial_text() -> None:
    def handler(conn: socket.socket, attempt: int) -> None:
        conn.sendall(head() + sse("half") + b'data: {"choices": [{"delta": {"cont')

    events = run_turn(handler)
    assert text_of(events) == "half"
    assert error_of(events) == "the stream was cut off before the server finished"


def test_cut_of_a_chunked_body_is_a_cut() -> None:
    def handler(conn: socket.socket, attempt: int) -> None:
        piece = sse("half")
        chunked = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" + b"ff\r\ndata: {"
        conn.sendall(head(200, "Transfer-Encoding: chunked\r\n") + chunked)

    events = run_turn(handler)
    assert text_of(events) == "half" and "cut off" in error_of(events)


def test_malformed_event() -> None:
    def handler(conn: socket.socket, attempt: int) -> None:
        conn.sendall(head() + sse("a") + b"data: {not json}\n\n" + sse("never"))

    events = run_turn(handler)
    assert text_of(events) == "a"
    assert error_of(events) == "the server sent a malformed event"


def test_error_event_mid_stream() -> None:
    def handler(conn: socket.socket, attempt: int) -> None:
        error = b'data: {"error": {"message": "engine crashed\\nat line 3", "code": 500}}\n\n'
        conn.sendall(head() + sse("a") + error)

    events = run_turn(handler)
    assert text_of(events) == "a"
    assert error_of(events) == "server error: engine crashed at line 3"


def test_overall_deadline() -> None:
    events = run_turn(endless, deadline_s=0.5)
    assert text_of(events) and "0.5 s deadline" in error_of(events)


def test_ending_after_finish_without_done_marker_is_fine() -> None:
    def handler(conn: socket.socket, attempt: int) -> None:
        conn.sendall(head() + sse("fine") + sse(finish="stop"))

    events = run_turn(handler)
    assert isinstance(events[-1], Done) and events[-1].reason == "stop" and text_of(events) == "fine"


# ----- cancellation ----------------------------------------------------------------------------
def test_cancel_midway_closes_the_connection() -> None:
    with fault_server(endless) as server:
        backend = connect(server.base_url)
        events = contract.check_cancel_midway(backend)
        assert len([e for e in events if isinstance(e, TokenDelta)]) <= 3
        assert server.disconnected.wait(2), "the server never saw the client hang up"


def test_cancel_before_headers_closes_the_connection() -> None:
    with fault_server(silent) as server:
        backend = connect(server.base_url)
        cancel = threading.Event()
        threading.Timer(0.3, cancel.set).start()
        started = time.monotonic()
        events = contract.collect(backend, cancel=cancel)
        last = events[-1]
        assert len(events) == 1 and isinstance(last, Done) and last.reason == "cancelled"
        assert time.monotonic() - started < 1.5
        assert server.disconnected.wait(2), "the server never saw the client hang up"


def test_cancel_during_retry_wait() -> None:
    def handler(conn: socket.socket, attempt: int) -> None:
        conn.sendall(json_response(429, "{}", "Retry-After: 20\r\n"))

    with fault_server(handler) as server:
        backend = connect(server.base_url)
        cancel = threading.Event()
        threading.Timer(0.3, cancel.set).start()
        started = time.monotonic()
        events = contract.collect(backend, cancel=cancel)
    assert isinstance(events[-1], Done) and events[-1].reason == "cancelled"
    assert time.monotonic() - started < 2


def test_contract_and_the_next_prompt_works_after_an_error() -> None:
    def handler(conn: socket.socket, attempt: int) -> None:
        if attempt == 1:
            conn.sendall(head() + sse("partial"))  # cut off
            return
        conn.sendall(head() + sse("hello") + FINISH)

    with fault_server(handler) as server:
        backend = connect(server.base_url)
        first = contract.collect(backend)
        assert "cut off" in error_of(first)
        contract.check_completes(backend)
        contract.check_cancel_before_start(backend)


def test_threads_do_not_leak_after_many_cancels() -> None:
    before = threading.active_count()
    with fault_server(endless) as server:
        backend = connect(server.base_url)
        for _ in range(5):
            contract.check_cancel_midway(backend)
    deadline = time.monotonic() + 3
    while threading.active_count() > before + 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= before + 2
