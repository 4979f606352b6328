"""Several servers behind one remote backend: health, latency, stickiness, failover before the
first token only, the session id; on loopback servers that misbehave on purpose."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from backends.base import BackendLoadError
from backends.events import ChatMessage, Done, Error, GenerationParams
from backends.options import BackendOptions, RemoteOptions
from backends.remote.backend import SESSION_HEADER, RemoteBackend
from backends.remote.endpoints import EndpointPool
from testkit import contract
from testkit.fault_server import FaultServer, dead_url, fault_server, head, hello, sse, text_of

PARAMS = GenerationParams(max_new_tokens=20)


def connect_many(*urls: str, **remote: Any) -> RemoteBackend:
    options = RemoteOptions(base_url=urls[0], more_urls=tuple(urls[1:]), **remote)
    return RemoteBackend.connect(BackendOptions(backend="remote", remote=options), lambda _s, _f: None)


def chat(first: str, *more: str) -> list[ChatMessage]:
    """A conversation whose first user message is ``first`` (what keeps it on one server)."""
    messages = [ChatMessage("user", first)]
    for text in more:
        messages += [ChatMessage("assistant", "ok"), ChatMessage("user", text)]
    return messages


def turn(backend: RemoteBackend, messages: list[ChatMessage]) -> list[Any]:
    events = contract.collect(backend, messages, PARAMS)
    contract.assert_one_terminal_event(events)
    return events


def test_pool_checks_health_and_latency_and_names_the_dead() -> None:
    dead = dead_url()
    with fault_server(hello, get_delay_s=0.3) as slow, fault_server(hello) as fast:
        pool = EndpointPool.from_options(
            RemoteOptions(base_url=slow.base_url, more_urls=(dead, fast.base_url))
        )
        try:
            statuses = pool.check_all()
            assert [s.healthy for s in statuses] == [True, False, True]
            assert statuses[0].latency_s is not None and statuses[2].latency_s is not None
            assert statuses[0].latency_s > statuses[2].latency_s
            assert statuses[0].detail == "ok (/health)"
            assert (
                statuses[1].detail == "server unreachable (ConnectError)" and "\n" not in statuses[1].detail
            )
            picked = pool.pick()
            assert picked is not None and picked.url == fast.base_url
            assert any(r.path == "/health" for r in fast.requests)  # at the root, not under /v1
        finally:
            pool.close()


def test_health_falls_back_to_models_when_there_is_no_health_endpoint() -> None:
    with fault_server(hello, health_status=404, owned_by="lmdeploy") as server:
        pool = EndpointPool.from_options(RemoteOptions(base_url=server.base_url))
        try:
            status = pool.check_all()[0]
            assert status.healthy and status.detail == "ok (/v1/models)" and status.lmdeploy
            assert [r.path for r in server.requests] == ["/health", "/v1/models"]
        finally:
            pool.close()


def test_new_chats_avoid_a_dead_server_and_go_to_the_fastest() -> None:
    dead = dead_url()
    with fault_server(hello, get_delay_s=0.3) as slow, fault_server(hello) as fast:
        backend = connect_many(dead, slow.base_url, fast.base_url)
        try:
            assert backend.info.device.endswith("+2")
            events = turn(backend, chat("first chat"))
            assert text_of(events) == "hello" and isinstance(events[-1], Done)
            assert len(fast.posts) == 1 and not slow.posts
            assert backend.current_endpoint() == fast.base_url
            statuses = backend.endpoint_statuses()
            assert [s.healthy for s in statuses] == [False, True, True]
        finally:
            backend.close()


def test_all_servers_down_at_start_is_one_line_naming_each() -> None:
    one, two = dead_url(), dead_url()
    with pytest.raises(BackendLoadError) as caught:
        connect_many(one, two)
    message = str(caught.value)
    assert message.startswith("no server is reachable: ") and "\n" not in message
    assert one.removesuffix("/v1") in message and two.removesuffix("/v1") in message


def test_a_conversation_stays_on_its_server_with_a_stable_session_id() -> None:
    with fault_server(hello) as first, fault_server(hello, get_delay_s=0.2) as second:
        backend = connect_many(first.base_url, second.base_url)
        try:
            turn(backend, chat("stay"))
            assert len(first.posts) == 1
            # the other server becomes the fastest: a new chat moves, the old one stays
            first.get_delay_s, second.get_delay_s = 0.2, 0.0
            backend.check_endpoints()
            turn(backend, chat("stay", "second turn"))
            turn(backend, chat("another chat"))
            assert len(first.posts) == 2 and len(second.posts) == 1
            ids = [r.headers[SESSION_HEADER.lower()] for r in first.posts]
            assert ids[0] == ids[1] and ids[0].isdigit()
            assert second.posts[0].headers[SESSION_HEADER.lower()] != ids[0]
            # not lmdeploy: no session_id in the body (transformers serve rejects unknown fields)
            assert all("session_id" not in r.body for r in first.posts)
        finally:
            backend.close()


def test_lmdeploy_gets_session_id_in_the_body() -> None:
    with fault_server(hello, owned_by="lmdeploy") as server:
        backend = connect_many(server.base_url)
        try:
            turn(backend, chat("a"))
            turn(backend, chat("a", "b"))
            sent = [r.body.get("session_id") for r in server.posts]
            assert isinstance(sent[0], int) and sent[0] > 0 and sent[0] == sent[1]
            assert str(sent[0]) == server.posts[0].headers[SESSION_HEADER.lower()]
        finally:
            backend.close()


def test_a_server_dead_between_turns_moves_the_next_turn() -> None:
    with fault_server(hello) as first, fault_server(hello, get_delay_s=0.2) as second:
        backend = connect_many(first.base_url, second.base_url)
        try:
            turn(backend, chat("move me"))
            first.close()
            events = turn(backend, chat("move me", "again"))
            assert text_of(events) == "hello" and isinstance(events[-1], Done)
            assert len(second.posts) == 1
            assert backend.current_endpoint() == second.base_url
            assert backend.endpoint_statuses()[0].healthy is False
            # the conversation now stays on the second server
            turn(backend, chat("move me", "again", "third"))
            assert len(second.posts) == 2
        finally:
            backend.close()


def test_death_mid_stream_is_one_clear_error_and_no_second_reply() -> None:
    def dies(conn: socket.socket, attempt: int) -> None:
        conn.sendall(head() + sse("partial "))

    with fault_server(dies) as first, fault_server(hello, get_delay_s=0.2) as second:
        backend = connect_many(first.base_url, second.base_url)
        try:
            events = turn(backend, chat("cut"))
            assert text_of(events) == "partial "
            last = events[-1]
            assert isinstance(last, Error) and "cut off" in last.message
            assert not second.posts  # never sent again elsewhere: no duplicate reply
        finally:
            backend.close()


def test_every_server_gone_mid_conversation_is_one_line() -> None:
    with fault_server(hello) as first, fault_server(hello) as second:
        backend = connect_many(first.base_url, second.base_url)
        try:
            turn(backend, chat("x"))
            first.close()
            second.close()
            events = turn(backend, chat("x", "y"))
            last = events[-1]
            assert isinstance(last, Error) and last.message.startswith("no server is reachable: ")
            assert "\n" not in last.message and not text_of(events)
        finally:
            backend.close()


def test_cancel_hangs_up_on_the_server_it_streams_from() -> None:
    from testkit.fault_server import endless

    with fault_server(endless) as first, fault_server(endless, get_delay_s=0.2) as second:
        backend = connect_many(first.base_url, second.base_url)
        try:
            contract.check_cancel_midway(backend)
            assert first.disconnected.wait(5)
            assert not second.posts
        finally:
            backend.close()


def test_hostile_server_error_on_health_is_one_line_without_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-123456")

    class Refusing(FaultServer):
        def _serve(self) -> None:
            from testkit.fault_server import json_response, read_request

            while True:
                try:
                    conn, _ = self.sock.accept()
                except OSError:
                    return
                request = read_request(conn)
                if request is not None:
                    body = '{"error": {"message": "bad key sk-secret-123456\\n\\u001b[31mred"}}'
                    conn.sendall(json_response(401, body))
                conn.close()

    server = Refusing(hello)
    try:
        pool = EndpointPool.from_options(RemoteOptions(base_url=server.base_url))
        status = pool.check_all()[0]
        pool.close()
        assert status.healthy is False and status.detail.startswith("401 unauthorised")
        assert "\n" not in status.detail and "sk-secret" not in status.detail
    finally:
        server.close()


def test_when_all_were_down_a_moment_ago_the_next_pick_checks_again() -> None:
    with fault_server(hello) as first, fault_server(hello) as second:
        pool = EndpointPool.from_options(RemoteOptions(base_url=first.base_url, more_urls=(second.base_url,)))
        try:
            pool.check_all()
            for endpoint in pool.endpoints:  # both failed a request just now (statuses are fresh)
                pool.mark_down(endpoint, "server unreachable (ConnectError)")
            picked = pool.pick()  # they are back: checked again at once, not after 30 s
            assert picked is not None and all(s.healthy for s in pool.statuses())
        finally:
            pool.close()
