"""A tiny loopback HTTP server that misbehaves on purpose, for faults a real server won't make.

Each scenario is a function writing raw bytes to the socket, so tests control stalls, cuts,
malformed events, split UTF-8 and status codes exactly. The server records every request
and notices when a client hangs up mid-stream (a write fails), which proves cancellation
reaches the server.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from backends.events import BackendEvent, TokenDelta
from backends.options import BackendOptions, RemoteOptions
from backends.remote.backend import RemoteBackend

Handler = Callable[[socket.socket, int], None]


@dataclass(frozen=True)
class Request:
    """One request as received: method, path, lower-cased headers and JSON body (if any)."""

    method: str
    path: str
    headers: dict[str, str]
    raw_headers: bytes
    body: dict[str, object]


def sse(delta: str | None = None, finish: str | None = None, **extra: object) -> bytes:
    """One chat-completion chunk as an SSE event."""
    choice: dict[str, object] = {"index": 0, "delta": {"content": delta} if delta is not None else {}}
    if finish:
        choice["finish_reason"] = finish
    return f"data: {json.dumps({'choices': [choice], **extra})}\n\n".encode()


def head(status: int = 200, extra: str = "", content_type: str = "text/event-stream") -> bytes:
    """A response head; the body ends when the connection closes unless ``extra`` says otherwise."""
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nConnection: close\r\n{extra}\r\n"
    ).encode()


def json_response(status: int, body: str, extra: str = "") -> bytes:
    """A complete JSON response with a Content-Length."""
    data = body.encode()
    return head(status, f"Content-Length: {len(data)}\r\n{extra}", "application/json") + data


def read_request(conn: socket.socket) -> Request | None:
    """Read the head and the Content-Length body, so closing never resets unread bytes."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        if not piece:
            return None
        data += piece
    raw_head, _, body = data.partition(b"\r\n\r\n")
    lines = raw_head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        piece = conn.recv(65536)
        if not piece:
            break
        body += piece
    parsed = json.loads(body) if body else {}
    return Request(method, path, headers, raw_head, parsed if isinstance(parsed, dict) else {})


class FaultServer:
    """Serves ``/v1/...``; ``handler(conn, attempt)`` writes the response of each POST."""

    def __init__(
        self,
        handler: Handler,
        models: tuple[str, ...] = ("fake-model",),
        tls: ssl.SSLContext | None = None,
        *,
        get_delay_s: float = 0.0,
        owned_by: str | None = None,
        health_status: int = 200,
    ) -> None:
        self.handler = handler
        self.models = models
        self.tls = tls
        self.get_delay_s = get_delay_s
        """How long every GET (``/health``, ``/v1/models``) waits before answering: a slower server."""
        self.owned_by = owned_by
        self.health_status = health_status
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.requests: list[Request] = []
        self.disconnected = threading.Event()
        self.finished = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}/v1"

    @property
    def posts(self) -> list[Request]:
        return [r for r in self.requests if r.method == "POST"]

    def _serve(self) -> None:
        attempt = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.tls is not None:
                try:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    conn.close()  # the client refused our certificate
                    continue
            request = read_request(conn)
            if request is None:
                conn.close()
                continue
            self.requests.append(request)
            if request.method == "GET":
                time.sleep(self.get_delay_s)
                if request.path.endswith("/health") and self.health_status != 200:
                    conn.sendall(json_response(self.health_status, '{"detail": "Not Found"}'))
                    _close(conn)
                    continue
                cards = [
                    {"id": m, **({"owned_by": self.owned_by} if self.owned_by else {})} for m in self.models
                ]
                body = json.dumps({"object": "list", "data": cards})
                conn.sendall(json_response(200, body))
                _close(conn)
                continue
            attempt += 1
            threading.Thread(target=self._handle, args=(conn, attempt), daemon=True).start()

    def _handle(self, conn: socket.socket, attempt: int) -> None:
        try:
            self.handler(conn, attempt)
            self.finished.set()
        except OSError:
            self.disconnected.set()
        finally:
            _close(conn)

    def close(self) -> None:
        """Stop listening: shutdown wakes the accept() thread, so new connections are refused."""
        with suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def _close(conn: socket.socket) -> None:
    """Half-close then close, so the client reads everything before the end of the stream."""
    with suppress(OSError):
        conn.shutdown(socket.SHUT_WR)
    conn.close()


@contextmanager
def fault_server(
    handler: Handler,
    models: tuple[str, ...] = ("fake-model",),
    tls: ssl.SSLContext | None = None,
    **options: Any,
) -> Iterator[FaultServer]:
    """A ``FaultServer`` for the ``with`` block; ``options``: get_delay_s, owned_by, health_status."""
    server = FaultServer(handler, models, tls, **options)
    try:
        yield server
    finally:
        server.close()


def endless(conn: socket.socket, attempt: int) -> None:
    """Streams tokens until the client hangs up (then a write fails: a seen disconnect)."""
    conn.sendall(head())
    for i in range(100000):
        conn.sendall(sse(f"t{i} "))
        time.sleep(0.01)


def silent(conn: socket.socket, attempt: int) -> None:
    """Sends nothing at all (not even headers) until the client hangs up."""
    conn.settimeout(0.05)
    for _ in range(600):
        try:
            if conn.recv(1) == b"":
                raise ConnectionResetError("client hung up")
        except TimeoutError:
            continue


def hello(conn: socket.socket, attempt: int) -> None:
    """A short complete reply: ``hello``."""
    conn.sendall(head() + sse("hel") + sse("lo") + sse(finish="stop") + b"data: [DONE]\n\n")


def dead_url() -> str:
    """A loopback URL where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    return f"http://127.0.0.1:{port}/v1"


def connect(base_url: str, model: str | None = None, **remote: Any) -> RemoteBackend:
    """A RemoteBackend for ``base_url`` with the given ``RemoteOptions`` fields."""
    options = BackendOptions(backend="remote", model=model, remote=RemoteOptions(base_url=base_url, **remote))
    return RemoteBackend.connect(options, lambda stage, fraction: None)


def text_of(events: Sequence[BackendEvent]) -> str:
    """The visible text of a turn."""
    return "".join(e.text for e in events if isinstance(e, TokenDelta))
