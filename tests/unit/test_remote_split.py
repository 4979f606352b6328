"""Any split of a valid SSE byte stream decodes to the same text through the real client.

A loopback server writes the response in the pieces hypothesis chooses (cutting inside
multi-byte UTF-8 characters, inside ``data:`` lines and between ``\\r\\n`` pairs), pausing
between writes so each piece arrives as its own network read.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.events import Done, GenerationParams
from testkit.fault_server import connect, fault_server, head, text_of

PIECES = ["héllo ", "wörld ", "你好", "🎉", " — ", "Ünïcødé ", "𝄞 done"]


def event(delta: dict[str, object], newline: str, finish: str | None = None) -> bytes:
    choice: dict[str, object] = {"index": 0, "delta": delta}
    if finish:
        choice["finish_reason"] = finish
    payload = json.dumps({"choices": [choice]}, ensure_ascii=False)
    return f"data: {payload}{newline}{newline}".encode()


def stream_bytes(newline: str) -> bytes:
    body = b"".join(event({"content": piece}, newline) for piece in PIECES)
    return body + event({}, newline, finish="stop") + f"data: [DONE]{newline}{newline}".encode()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    newline=st.sampled_from(["\n", "\r\n"]),
    cuts=st.lists(st.floats(min_value=0, max_value=1, exclude_max=True), max_size=25),
)
def test_any_split_of_the_byte_stream_decodes_the_same(newline: str, cuts: list[float]) -> None:
    payload = stream_bytes(newline)
    points = sorted({int(c * len(payload)) for c in cuts} - {0})
    bounds = [0, *points, len(payload)]

    def handler(conn: socket.socket, attempt: int) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sendall(head())
        for start, end in itertools.pairwise(bounds):
            conn.sendall(payload[start:end])
            time.sleep(0.002)

    with fault_server(handler) as server:
        backend = connect(server.base_url)
        events = list(backend.stream([], GenerationParams(), cancel=threading.Event()))
        backend.close()
    assert text_of(events) == "".join(PIECES)
    assert isinstance(events[-1], Done) and events[-1].reason == "stop"
