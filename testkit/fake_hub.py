"""A loopback stand-in for the Hugging Face Hub, speaking what ``huggingface_hub`` really calls.

``HF_ENDPOINT`` pointed at it, the real library downloads from it: ``GET /api/models/{repo}/revision/{rev}``
(repo info with the commit sha), ``GET /api/models/{repo}/tree/{rev}`` (files with sizes and LFS
sha256), ``HEAD``/``GET /{repo}/resolve/{rev}/{file}`` (``X-Repo-Commit``, ``ETag``,
``X-Linked-Size``, ``Range`` for resuming), and the hub's ``X-Error-Code`` on a 404. Knobs make it
misbehave on purpose: stall a file after some bytes (so a test can kill the downloader halfway),
serve corrupt bytes of the right size, or slow every chunk down.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

COMMIT = "1234567890abcdef1234567890abcdef12345678"


@dataclass
class FakeRepo:
    """One model repository: its files (path -> bytes) at one commit."""

    files: dict[str, bytes]
    commit: str = COMMIT
    lfs: frozenset[str] = frozenset()
    """Files stored with LFS (their ETag and tree entry carry the content's sha256)."""
    _digests: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False)

    def digests(self, path: str) -> tuple[str, str]:
        """(git blob id, sha256) of one file, computed once: hashing a large file on every
        request would make the fake hub, not the client, the slow part of a benchmark."""
        if path not in self._digests:
            data = self.files[path]
            self._digests[path] = (_git_oid(data), _sha256(data))
        return self._digests[path]


@dataclass
class HubLog:
    """Every request the hub received: (method, path, Range header)."""

    requests: list[tuple[str, str, str | None]] = field(default_factory=list)

    def ranges(self, path_end: str) -> list[str | None]:
        return [r for m, p, r in self.requests if m == "GET" and p.endswith(path_end)]


class FakeHub:
    """The hub's state and knobs; the handler reads them on every request."""

    def __init__(self, repos: dict[str, FakeRepo]) -> None:
        self.repos = repos
        self.log = HubLog()
        self.stall_after: dict[str, int] = {}
        """file name -> bytes to send before stalling (until ``release`` is set)."""
        self.corrupt: set[str] = set()
        """files served with wrong bytes of the right size (the tree still lists the true sha256)."""
        self.chunk_delay_s = 0.0
        self.extra_tree: list[dict[str, object]] = []
        """entries added to tree listings (a hostile hub listing paths outside the repo)..."""
        self.extra_tree_from = 0
        """...from this tree listing on (0: all; the library lists twice before our check does)."""
        self.tree_listings = 0
        self.release = threading.Event()
        self.stalled = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeHub:
        self._thread.start()
        return self

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def tree_entries(repo: FakeRepo) -> list[dict[str, object]]:
    entries: list[dict[str, object]] = []
    for path, data in sorted(repo.files.items()):
        git_oid, sha256 = repo.digests(path)
        entry: dict[str, object] = {"type": "file", "oid": git_oid, "size": len(data), "path": path}
        if path in repo.lfs:
            entry["lfs"] = {"oid": sha256, "size": len(data), "pointerSize": 134}
        entries.append(entry)
    return entries


_API = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/(?P<kind>revision|tree)/(?P<rev>[^/?]+)")
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")


def _handler_for(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def _send(
            self, status: int, body: bytes, headers: dict[str, str], *, head_only: bool = False
        ) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head_only:
                self.wfile.write(body)

        def _not_found(self, code: str, *, head_only: bool = False) -> None:
            body = json.dumps({"error": f"{code}: not here"}).encode()
            headers = {
                "Content-Type": "application/json",
                "X-Error-Code": code,
                "X-Error-Message": "not here",
            }
            self._send(404, body, headers, head_only=head_only)

        def do_HEAD(self) -> None:
            self._route(head_only=True)

        def do_GET(self) -> None:
            self._route(head_only=False)

        def _route(self, *, head_only: bool) -> None:
            path = unquote(urlsplit(self.path).path)
            hub.log.requests.append((self.command, path, self.headers.get("Range")))
            if match := _API.match(path):
                repo = hub.repos.get(match["repo"])
                if repo is None:
                    return self._not_found("RepoNotFound", head_only=head_only)
                if match["rev"] not in ("main", repo.commit):
                    return self._not_found("RevisionNotFound", head_only=head_only)
                if match["kind"] == "revision":
                    info = {
                        "id": match["repo"],
                        "modelId": match["repo"],
                        "sha": repo.commit,
                        "private": False,
                        "siblings": [{"rfilename": name} for name in sorted(repo.files)],
                    }
                    data = json.dumps(info).encode()
                else:
                    extra = hub.extra_tree if hub.tree_listings >= hub.extra_tree_from else []
                    hub.tree_listings += 1
                    data = json.dumps(tree_entries(repo) + extra).encode()
                return self._send(200, data, {"Content-Type": "application/json"}, head_only=head_only)
            if match := _RESOLVE.match(path):
                repo = hub.repos.get(match["repo"])
                if repo is None:
                    return self._not_found("RepoNotFound", head_only=head_only)
                if match["rev"] not in ("main", repo.commit):
                    return self._not_found("RevisionNotFound", head_only=head_only)
                content = repo.files.get(match["file"])
                if content is None:
                    return self._not_found("EntryNotFound", head_only=head_only)
                return self._file(repo, match["file"], content, head_only=head_only)
            return self._not_found("RepoNotFound", head_only=head_only)

        def _file(self, repo: FakeRepo, name: str, data: bytes, *, head_only: bool) -> None:
            git_oid, sha256 = repo.digests(name)
            etag = sha256 if name in repo.lfs else git_oid
            headers = {
                "X-Repo-Commit": repo.commit,
                "ETag": f'"{etag}"',
                "Accept-Ranges": "bytes",
                "Content-Type": "application/octet-stream",
            }
            if name in repo.lfs:
                headers["X-Linked-Etag"] = f'"{etag}"'
                headers["X-Linked-Size"] = str(len(data))
            if head_only:
                return self._send(200, data, headers, head_only=True)
            if name in hub.corrupt:
                data = bytes(b ^ 0xFF for b in data)
            start = 0
            status = 200
            if (wanted := self.headers.get("Range")) and (found := re.match(r"bytes=(\d+)-", wanted)):
                start = int(found.group(1))
                status = 206
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            body = data[start:]
            self.send_response(status)
            for header, value in headers.items():
                self.send_header(header, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            stall_at = hub.stall_after.get(name)
            sent = start
            for i in range(0, len(body), 8192):
                piece = body[i : i + 8192]
                if stall_at is not None and not hub.release.is_set() and sent + len(piece) > stall_at:
                    self.wfile.write(piece[: max(0, stall_at - sent)])
                    self.wfile.flush()
                    hub.stalled.set()
                    hub.release.wait(60)
                    self.close_connection = True
                    return  # the client sees the connection end mid-file
                self.wfile.write(piece)
                sent += len(piece)
                if hub.chunk_delay_s:
                    time.sleep(hub.chunk_delay_s)

    return Handler


@contextmanager
def fake_hub(repos: dict[str, FakeRepo]) -> Iterator[FakeHub]:
    hub = FakeHub(repos).start()
    try:
        yield hub
    finally:
        hub.close()


def tiny_repo(size: int = 300_000) -> FakeRepo:
    """A repo with a config, a tokenizer file and one LFS weights file of ``size`` bytes."""
    pattern = bytes((i * 7919) % 251 for i in range(251 * 4))
    weights = (pattern * (size // len(pattern) + 1))[:size]
    return FakeRepo(
        files={
            "config.json": b'{"model_type": "llama"}',
            "tokenizer.json": b'{"version": "1.0"}',
            "model.safetensors": weights,
        },
        lfs=frozenset({"model.safetensors"}),
    )
