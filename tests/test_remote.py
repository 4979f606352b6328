"""The remote backend against a real ``transformers serve`` and a fault-injecting server."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.events import ChatMessage, Done, Error, GenerationParams, TokenDelta
from backends.options import BackendOptions, RemoteOptions
from backends.remote import RemoteBackend
from tests import contract
from tests.fault_server import endless, fault_server, head, sse


def connect(base_url: str, model: str | None = None, **remote: object) -> RemoteBackend:
    options = BackendOptions(backend="remote", model=model, remote=RemoteOptions(base_url=base_url, **remote))  # type: ignore[arg-type]
    return RemoteBackend.connect(options, lambda stage, fraction: None)


def text_of(events: list[object]) -> str:
    return "".join(e.text for e in events if isinstance(e, TokenDelta))


@pytest.mark.slow
def test_real_server_streams_and_reports_usage(transformers_server: str, embedded_model_dir: Path) -> None:
    backend = connect(transformers_server, model=str(embedded_model_dir))
    events = contract.check_completes(backend)
    done = events[-1]
    assert isinstance(done, Done) and done.usage.completion_tokens > 0 and done.usage.ttft_s is not None
    params = GenerationParams(max_new_tokens=5, temperature=0, seed=3)
    events = contract.collect(
        backend, [ChatMessage("system", "Be brief."), ChatMessage("user", "Count.")], params
    )
    assert isinstance(events[-1], Done) and events[-1].reason == "length"
    contract.check_cancel_midway(backend)
    contract.check_cancel_before_start(backend)
    # the next prompt still works after a cancelled one
    contract.check_completes(backend)
    assert backend.list_models() == [] or isinstance(backend.list_models(), list)
    backend.close()


def test_model_discovery_and_cancel_closes_the_connection() -> None:
    with fault_server(endless) as server:
        backend = connect(server.base_url)
        assert backend.model == "fake-model" and backend.list_models() == ["fake-model"]
        events = contract.check_cancel_midway(backend)
        assert len([e for e in events if isinstance(e, TokenDelta)]) <= 3
        assert server.disconnected.wait(5), "the server never saw the client hang up"


def test_unknown_model_is_a_clear_error() -> None:
    from backends.base import BackendLoadError

    with fault_server(endless) as server, pytest.raises(BackendLoadError, match="no model 'nope'"):
        connect(server.base_url, model="nope")


def test_unreachable_server() -> None:
    from backends.base import BackendLoadError

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(BackendLoadError, match="unreachable"):
        connect(f"http://127.0.0.1:{port}/v1")


def _run(handler, **remote: object) -> list[object]:  # type: ignore[no-untyped-def]
    with fault_server(handler) as server:
        backend = connect(server.base_url, **remote)
        return contract.collect(backend, params=GenerationParams(max_new_tokens=50))


def _error(events: list[object]) -> str:
    contract.assert_one_terminal_event(events)  # type: ignore[arg-type]
    assert isinstance(events[-1], Error), events[-1]
    return events[-1].message


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, '{"error": {"message": "bad key"}}', "401 unauthorised"),
        (404, '{"detail": "model gone"}', "404 not found"),
        (400, "bad request body", "rejected (400)"),
    ],
)
def test_client_errors_are_not_retried(status: int, body: str, expected: str) -> None:
    calls: list[int] = []

    def handler(conn: socket.socket, attempt: int) -> None:
        calls.append(attempt)
        conn.sendall(head(status, f"Content-Length: {len(body)}\r\n", "application/json") + body.encode())

    message = _error(_run(handler))
    assert expected in message and len(calls) == 1 and "\n" not in message


def test_server_error_shows_its_message_after_retries() -> None:
    def handler(conn: socket.socket, attempt: int) -> None:
        body = '{"error": {"message": "CUDA out of memory"}}'
        conn.sendall(head(500, f"Content-Length: {len(body)}\r\n", "application/json") + body.encode())

    message = _error(_run(handler, max_retries=1))
    assert message == "server error 500: CUDA out of memory"


def test_429_is_retried_after_retry_after_then_succeeds() -> None:
    def handler(conn: socket.socket, attempt: int) -> None:
        if attempt == 1:
            conn.sendall(head(429, "Retry-After: 0.2\r\nContent-Length: 0\r\n", "application/json"))
            return
        conn.sendall(head() + sse("ok") + sse(finish="stop") + b"data: [DONE]\n\n")

    started = time.monotonic()
    events = _run(handler)
    assert isinstance(events[-1], Done) and text_of(events) == "ok"
    assert time.monotonic() - started >= 0.2


def test_stall_before_first_token() -> None:
    def handler(conn: socket.socket, attempt: int) -> None:
        conn.sendall(head())
        time.sleep(3)

    assert "stalled" in _error(_run(handler, first_token_timeout_s=0.5))


def test_stall_mid_stream_keeps_partial_text() -> None:
    def handler(conn: socket.socket, attempt: int) -> None:
        conn.sendall(head() + sse("part"))
        time.sleep(3)

    events = _run(handler, chunk_timeout_s=0.5)
    assert text_of(events) == "part" and "partial reply kept" in _error(events)


def test_cut_mid_event() -> None:
    def handler(conn: socket.socket, attempt: int) -> None:
        conn.sendall(head() + sse("half") + b'data: {"choices": [{"delta": {"cont')

    events = _run(handler)
    assert text_of(events) == "half" and "cut off" in _error(events)


def test_malformed_event_and_error_event_mid_stream() -> None:
    def malformed(conn: socket.socket, attempt: int) -> None:
        conn.sendall(head() + sse("a") + b"data: {not json}\n\n")

    assert "malformed" in _error(_run(malformed))

    def error_event(conn: socket.socket, attempt: int) -> None:
        conn.sendall(head() + sse("a") + b'data: {"error": {"message": "engine crashed"}}\n\n')

    assert "engine crashed" in _error(_run(error_event))


def test_overall_deadline() -> None:
    events = _run(endless, deadline_s=0.5)
    assert "deadline" in _error(events)


def test_api_key_is_sent_but_never_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "sk-canary-123")

    def handler(conn: socket.socket, attempt: int) -> None:
        conn.sendall(head(401, "Content-Length: 2\r\n", "application/json") + b"{}")

    with fault_server(handler) as server:
        backend = connect(server.base_url, api_key_env="MY_KEY")
        events = contract.collect(backend)
        assert (
            b"Authorization: Bearer sk-canary-123" in server.requests[-1]
            or b"authorization: Bearer sk-canary-123" in server.requests[-1]
        )
    message = _error(events)
    assert "sk-canary" not in message and "$MY_KEY" in message


TEXT = "héllo wörld 你好 🎉 done"


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=12))
def test_any_split_of_the_byte_stream_decodes_the_same(cuts: list[int]) -> None:
    payload = b"".join(sse(piece) for piece in ["héllo ", "wörld ", "你好 ", "🎉", " done"])
    payload += sse(finish="stop") + b"data: [DONE]\n\n"
    points = sorted({min(c, len(payload) - 1) for c in cuts})

    def handler(conn: socket.socket, attempt: int) -> None:
        conn.sendall(head())
        start = 0
        for point in [*points, len(payload)]:
            conn.sendall(payload[start:point])
            start = point
            time.sleep(0.001)

    events = _run(handler)
    assert text_of(events) == TEXT and isinstance(events[-1], Done)


def test_threads_do_not_leak_after_many_cancels() -> None:
    before = threading.active_count()
    with fault_server(endless) as server:
        backend = connect(server.base_url)
        for _ in range(5):
            contract.check_cancel_midway(backend)
    time.sleep(0.5)
    assert threading.active_count() <= before + 3
