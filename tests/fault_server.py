"""A tiny loopback HTTP server that misbehaves on purpose, for faults a real server won't make.

Each scenario is a function writing raw bytes to the socket, so we control stalls, cuts,
malformed events, split UTF-8 and status codes exactly.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Handler = Callable[[socket.socket, int], None]


def sse(delta: str | None = None, finish: str | None = None, **extra: object) -> bytes:
    choice: dict[str, object] = {"index": 0, "delta": {"content": delta} if delta is not None else {}}
    if finish:
        choice["finish_reason"] = finish
    return f"data: {json.dumps({'choices': [choice], **extra})}\n\n".encode()


def head(status: int = 200, extra: str = "", content_type: str = "text/event-stream") -> bytes:
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nConnection: close\r\n{extra}\r\n"
    ).encode()


def read_request(conn: socket.socket) -> bytes:
    """The whole request (headers and body): closing with unread bytes would reset the socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    headers, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in headers.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return headers + b"\r\n\r\n" + body


class FaultServer:
    """Serves ``/v1/...``; ``handler(conn, attempt)`` writes the response of each request."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        self.disconnected = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _serve(self) -> None:
        attempt = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            data = read_request(conn)
            self.requests.append(data)
            if data.startswith(b"GET"):
                body = json.dumps({"data": [{"id": "fake-model"}]}).encode()
                conn.sendall(head(200, f"Content-Length: {len(body)}\r\n", "application/json") + body)
                conn.close()
                continue
            attempt += 1
            threading.Thread(target=self._handle, args=(conn, attempt), daemon=True).start()

    def _handle(self, conn: socket.socket, attempt: int) -> None:
        try:
            self.handler(conn, attempt)
        except OSError:
            self.disconnected.set()
        finally:
            conn.close()

    def close(self) -> None:
        self.sock.close()


@contextmanager
def fault_server(handler: Handler) -> Iterator[FaultServer]:
    server = FaultServer(handler)
    try:
        yield server
    finally:
        server.close()


def endless(conn: socket.socket, attempt: int) -> None:
    """Streams tokens until the client hangs up (then the write fails: a seen disconnect)."""
    conn.sendall(head())
    for i in range(100000):
        conn.sendall(sse(f"t{i} "))
        time.sleep(0.01)
