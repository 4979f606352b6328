"""A pool of OpenAI-compatible servers: their health and latency, and which one a new chat uses.

One job: know which endpoints answer and how fast. Each endpoint is checked with ``GET /health``
(lmdeploy, vLLM, SGLang and ``transformers serve`` have it, at the server's root), and where that
is missing with ``GET /v1/models``; the time that request took is its latency. A new
conversation goes to the healthy endpoint with the lowest latency; an endpoint that refuses a
connection is marked down at once and checked again when the statuses are older than
``stale_after_s``. Streaming and failover stay in the backend.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from urllib.parse import urlsplit, urlunsplit

import httpx

from backends.options import RemoteOptions
from backends.remote.errors import describe_status
from backends.remote.http import display_url, make_client, unreachable_message

HEALTH_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class EndpointStatus:
    """What the last check of one endpoint found; ``healthy`` is None before any check."""

    url: str
    """The URL without credentials (safe to show)."""
    healthy: bool | None = None
    latency_s: float | None = None
    detail: str = "not checked yet"
    checked_at: float | None = None
    lmdeploy: bool = False
    """The server said it is lmdeploy (``owned_by`` in ``/v1/models``): it accepts ``session_id``."""


class Endpoint:
    """One server: its httpx client and its last known status."""

    def __init__(self, url: str, client: httpx.Client) -> None:
        self.url = url
        self.client = client
        self.status = EndpointStatus(display_url(url))

    def health_url(self) -> str:
        """``/health`` at the server's root: the base URL with a trailing ``/v1`` removed."""
        parts = urlsplit(self.url)
        path = parts.path.rstrip("/")
        path = path.removesuffix("/v1")
        return urlunsplit((parts.scheme, parts.netloc, f"{path}/health", "", ""))


def _without_url(detail: str, endpoint: Endpoint) -> str:
    """A failure message without the endpoint's own URL (the status already names it)."""
    return detail.replace(f" at {display_url(endpoint.url)}", "").replace(
        f" for {display_url(endpoint.url)}", ""
    )


def _owned_by_lmdeploy(response: httpx.Response) -> bool:
    try:
        data = response.json().get("data", [])
        return any(isinstance(card, dict) and card.get("owned_by") == "lmdeploy" for card in data)
    except (ValueError, AttributeError, TypeError):
        return False


class EndpointPool:
    """The servers behind one remote backend, in the order the user gave them."""

    def __init__(
        self,
        endpoints: Sequence[Endpoint],
        *,
        key_env: str = "OPENAI_API_KEY",
        stale_after_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not endpoints:
            raise ValueError("an endpoint pool needs at least one endpoint")
        self.endpoints = list(endpoints)
        self._key_env = key_env
        self._stale_after_s = stale_after_s
        self._clock = clock
        self._lock = threading.Lock()

    @classmethod
    def from_options(cls, options: RemoteOptions) -> EndpointPool:
        """One client per URL in ``options.urls``, each with the same timeouts and rules."""
        endpoints: list[Endpoint] = []
        try:
            for url in options.urls:
                endpoints.append(Endpoint(url, make_client(replace(options, base_url=url, more_urls=()))))
        except Exception:
            for endpoint in endpoints:
                endpoint.client.close()
            raise
        return cls(endpoints, key_env=options.api_key_env)

    @property
    def first(self) -> Endpoint:
        return self.endpoints[0]

    # ----- checking --------------------------------------------------------------------------
    def check(self, endpoint: Endpoint) -> EndpointStatus:
        """Check one endpoint now (``/health``, else ``/v1/models``) and remember the result."""
        status = self._probe(endpoint)
        with self._lock:
            endpoint.status = status
        return status

    def check_all(self) -> list[EndpointStatus]:
        """Check every endpoint at once (in threads); the statuses in the pool's order."""
        if len(self.endpoints) == 1:
            return [self.check(self.first)]
        with ThreadPoolExecutor(max_workers=min(8, len(self.endpoints))) as pool:
            return list(pool.map(self.check, self.endpoints))

    def _probe(self, endpoint: Endpoint) -> EndpointStatus:
        base = EndpointStatus(display_url(endpoint.url), checked_at=self._clock())
        timeout = httpx.Timeout(HEALTH_TIMEOUT_S)
        started = time.monotonic()
        try:
            response = endpoint.client.get(endpoint.health_url(), timeout=timeout)
            via = "/health"
            if response.status_code != 200:
                started = time.monotonic()
                response = endpoint.client.get("models", timeout=timeout)
                via = "/v1/models"
        except httpx.TransportError as exc:
            return replace(
                base, healthy=False, detail=_without_url(unreachable_message(exc, endpoint.url), endpoint)
            )
        latency = time.monotonic() - started
        if response.status_code != 200:
            secret = str(endpoint.client.headers.get("authorization", "")).removeprefix("Bearer ")
            detail = describe_status(
                response.status_code, response.text, model="", key_env=self._key_env, secret=secret
            )
            return replace(base, healthy=False, latency_s=latency, detail=detail)
        lmdeploy = _owned_by_lmdeploy(response) if via == "/v1/models" else self._asks_lmdeploy(endpoint)
        return replace(base, healthy=True, latency_s=latency, detail=f"ok ({via})", lmdeploy=lmdeploy)

    @staticmethod
    def _asks_lmdeploy(endpoint: Endpoint) -> bool:
        """Whether ``/v1/models`` says lmdeploy (not timed: ``/health`` gave the latency)."""
        try:
            response = endpoint.client.get("models", timeout=httpx.Timeout(HEALTH_TIMEOUT_S))
        except httpx.TransportError:
            return endpoint.status.lmdeploy
        return response.status_code == 200 and _owned_by_lmdeploy(response)

    def note_models(self, endpoint: Endpoint, response: httpx.Response) -> None:
        """Learn from a ``/v1/models`` answer whether the server is lmdeploy."""
        with self._lock:
            endpoint.status = replace(endpoint.status, lmdeploy=_owned_by_lmdeploy(response))

    def mark_down(self, endpoint: Endpoint, detail: str) -> None:
        """A request could not connect: new conversations avoid it until it is checked again."""
        detail = _without_url(detail, endpoint)
        with self._lock:
            endpoint.status = replace(endpoint.status, healthy=False, detail=detail, checked_at=self._clock())

    def statuses(self) -> list[EndpointStatus]:
        """The last known status of every endpoint, in the pool's order."""
        with self._lock:
            return [endpoint.status for endpoint in self.endpoints]

    # ----- choosing --------------------------------------------------------------------------
    def _stale(self) -> bool:
        now = self._clock()
        return any(
            e.status.checked_at is None or now - e.status.checked_at > self._stale_after_s
            for e in self.endpoints
        )

    def pick(self, exclude: Collection[Endpoint] = ()) -> Endpoint | None:
        """The healthy endpoint with the lowest latency, not in ``exclude``; None if none is.

        With a single endpoint nothing is checked (the request itself will tell). Statuses
        older than ``stale_after_s`` are checked again first.
        """
        if len(self.endpoints) == 1:
            return None if self.first in exclude else self.first
        checked = self._stale()
        if checked:
            self.check_all()
        healthy = self._healthy(exclude)
        if not healthy and not checked:  # all down a moment ago: one may be back
            self.check_all()
            healthy = self._healthy(exclude)
        if not healthy:
            return None
        return min(
            healthy, key=lambda e: e.status.latency_s if e.status.latency_s is not None else float("inf")
        )

    def _healthy(self, exclude: Collection[Endpoint]) -> list[Endpoint]:
        with self._lock:
            return [e for e in self.endpoints if e.status.healthy and e not in exclude]

    def describe_down(self) -> str:
        """One line naming each endpoint and why it is not usable."""
        return "; ".join(f"{s.url}: {s.detail}" for s in self.statuses())

    def close(self) -> None:
        for endpoint in self.endpoints:
            endpoint.client.close()
