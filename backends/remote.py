"""The remote backend: any OpenAI-compatible server (lmdeploy, vLLM, transformers serve, Ollama).

HTTP and SSE parsing come from httpx and httpx-sse. The stream is read in a helper thread
that feeds a queue, so the generator can apply separate first-token and between-chunk
timeouts, an overall deadline and cancellation, and stop a stream at once by closing the
response (which closes the connection, so the server stops generating).
"""

from __future__ import annotations

import ipaddress
import json
import os
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from httpx_sse import ServerSentEvent, connect_sse

from backends.base import BackendConfigError, BackendLoadError, ProgressCallback
from backends.events import (
    BackendEvent,
    BackendInfo,
    ChatMessage,
    Done,
    DoneReason,
    Error,
    GenerationParams,
    TokenDelta,
    Usage,
)
from backends.options import BackendOptions, RemoteOptions
from backends.remote_errors import describe_status, is_retryable_status, server_message

_POLL_S = 0.1
_MAX_RETRY_WAIT_S = 30.0


def is_loopback(url: str) -> bool:
    """True for localhost and 127.0.0.0/8 / ::1 URLs (no proxy is used for those)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_client(options: RemoteOptions) -> httpx.Client:
    """An httpx client with our timeouts, certificate checks and proxy rules."""
    if not options.base_url:
        raise BackendConfigError("--backend remote needs --base-url (e.g. http://host:23333/v1)")
    read = max(options.first_token_timeout_s, options.chunk_timeout_s)
    timeout = httpx.Timeout(connect=options.connect_timeout_s, read=read, write=30.0, pool=10.0)
    verify: Any = True
    if options.ca_file:
        import ssl

        verify = ssl.create_default_context(cafile=options.ca_file)
    headers = {"Accept": "application/json"}
    key = os.environ.get(options.api_key_env, "")
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return httpx.Client(
        base_url=options.base_url.rstrip("/") + "/",
        timeout=timeout,
        verify=verify,
        headers=headers,
        trust_env=not is_loopback(options.base_url),
    )


@dataclass
class _Chunk:
    """What the reader thread passes on: an SSE event, an HTTP failure, or the end."""

    event: ServerSentEvent | None = None
    status: int | None = None
    body: str = ""
    failure: Exception | None = None
    finished: bool = False


class _Retry(Exception):
    def __init__(self, message: str, wait_s: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.wait_s = wait_s


class RemoteBackend:
    """Streams chat completions from an OpenAI-compatible server."""

    def __init__(self, options: RemoteOptions, model: str, client: httpx.Client) -> None:
        self._options = options
        self._client = client
        self.model = model
        self.info = BackendInfo(
            name="remote",
            model=model,
            device=urlsplit(options.base_url or "").netloc,
            capabilities=frozenset({"stream", "cancel"}),
        )

    @classmethod
    def connect(cls, options: BackendOptions, progress: ProgressCallback) -> RemoteBackend:
        """Check the server and choose the model (``--model``, else the only/first listed one)."""
        remote = options.remote
        client = make_client(remote)
        progress(f"Contacting {remote.base_url}…", None)
        models = cls._fetch_models(client, remote)
        model = options.model
        if model is None:
            if not models:
                raise BackendLoadError("the server lists no models; pass --model NAME")
            model = models[0]
        elif models and model not in models:
            raise BackendLoadError(f"the server has no model {model!r}; it serves: {', '.join(models[:8])}")
        return cls(remote, model, client)

    @staticmethod
    def _fetch_models(client: httpx.Client, remote: RemoteOptions) -> list[str]:
        try:
            response = client.get("models")
        except httpx.TransportError as exc:
            raise BackendLoadError(f"server unreachable at {remote.base_url}: {type(exc).__name__}") from None
        if response.status_code in (401, 403):
            raise BackendLoadError(
                describe_status(response.status_code, response.text, model="", key_env=remote.api_key_env)
            )
        if response.status_code >= 400:
            return []  # some servers do not implement /models; a chat request will tell
        try:
            data = response.json().get("data", [])
            return [str(item["id"]) for item in data if isinstance(item, dict) and "id" in item]
        except (ValueError, AttributeError, KeyError):
            return []

    def list_models(self) -> list[str]:
        """The models the server offers now (empty if it does not say)."""
        return self._fetch_models(self._client, self._options)

    def request_body(self, messages: Sequence[ChatMessage], params: GenerationParams) -> dict[str, Any]:
        """The JSON of a streaming chat completion with our generation parameters."""
        body: dict[str, Any] = {
            "model": self.model,
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": m.role, "content": m.content} for m in messages],
        }
        for key, value in (
            ("temperature", params.temperature),
            ("top_p", params.top_p),
            ("max_tokens", params.max_new_tokens),
            ("seed", params.seed),
            ("stop", list(params.stop) or None),
        ):
            if value is not None:
                body[key] = value
        return body

    def stream(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        *,
        cancel: threading.Event,
    ) -> Iterator[BackendEvent]:
        """Stream one reply; every failure becomes one ``Error`` event with a one-line message."""
        yield from self._stream_path("chat/completions", self.request_body(messages, params), cancel)

    def _stream_path(
        self, path: str, body: dict[str, Any], cancel: threading.Event
    ) -> Iterator[BackendEvent]:
        started = time.monotonic()
        deadline = started + self._options.deadline_s
        attempt = 0
        while True:
            if cancel.is_set():
                yield Done("cancelled")
                return
            try:
                yield from self._one_attempt(path, body, cancel, started, deadline)
                return
            except _Retry as retry:
                attempt += 1
                wait = retry.wait_s if retry.wait_s is not None else min(0.5 * 2 ** (attempt - 1), 8.0)
                wait = min(wait, _MAX_RETRY_WAIT_S)
                if attempt > self._options.max_retries or time.monotonic() + wait > deadline:
                    yield Error(retry.message)
                    return
                if cancel.wait(wait):
                    yield Done("cancelled")
                    return

    def _one_attempt(
        self, path: str, body: dict[str, Any], cancel: threading.Event, started: float, deadline: float
    ) -> Iterator[BackendEvent]:
        chunks: queue.Queue[_Chunk] = queue.Queue()
        holder: dict[str, httpx.Response] = {}
        stop_reader = threading.Event()

        def read() -> None:
            try:
                with connect_sse(self._client, "POST", path, json=body) as source:
                    holder["response"] = source.response
                    if source.response.status_code >= 400:
                        source.response.read()
                        chunks.put(_Chunk(status=source.response.status_code, body=source.response.text))
                        return
                    for sse in source.iter_sse():
                        if stop_reader.is_set():
                            return
                        chunks.put(_Chunk(event=sse))
                chunks.put(_Chunk(finished=True))
            except Exception as exc:  # handed to the generator, which decides what it means
                chunks.put(_Chunk(failure=exc))

        reader = threading.Thread(target=read, name="remote-stream", daemon=True)
        reader.start()
        text_seen = False
        first_token_at: float | None = None
        last_chunk_at = time.monotonic()
        usage: dict[str, Any] = {}
        finish_reason: str | None = None
        completion_pieces = 0
        try:
            while True:
                now = time.monotonic()
                limit = self._options.chunk_timeout_s if text_seen else self._options.first_token_timeout_s
                if cancel.is_set():
                    yield Done("cancelled", self._usage(usage, started, first_token_at, completion_pieces))
                    return
                if now > deadline:
                    yield Error(
                        f"stopped: the reply took longer than the {self._options.deadline_s:.0f} s deadline"
                        + (" (partial reply kept)" if text_seen else "")
                    )
                    return
                if now - last_chunk_at > limit:
                    what = "between chunks" if text_seen else "for the first token"
                    yield Error(
                        f"the server stalled: nothing for {limit:.0f} s {what}"
                        + (" (partial reply kept)" if text_seen else "")
                    )
                    return
                try:
                    chunk = chunks.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                last_chunk_at = time.monotonic()
                if chunk.status is not None:
                    message = describe_status(
                        chunk.status, chunk.body, model=self.model, key_env=self._options.api_key_env
                    )
                    if is_retryable_status(chunk.status) and not text_seen:
                        raise _Retry(message, self._retry_after(holder.get("response")))
                    yield Error(message)
                    return
                if chunk.failure is not None and finish_reason is not None:
                    chunk = _Chunk(finished=True)  # the server hung up after finishing: fine
                if chunk.failure is not None:
                    message = self._describe_failure(chunk.failure, text_seen)
                    if not text_seen and isinstance(chunk.failure, httpx.ConnectError | httpx.ConnectTimeout):
                        raise _Retry(message)
                    yield Error(message)
                    return
                if chunk.finished:
                    if finish_reason is None:
                        yield Error(
                            "the stream was cut off before the server finished"
                            + (" (partial reply kept)" if text_seen else "")
                        )
                        return
                    reason: DoneReason = "length" if finish_reason == "length" else "stop"
                    yield Done(reason, self._usage(usage, started, first_token_at, completion_pieces))
                    return
                assert chunk.event is not None
                if chunk.event.data.strip() == "[DONE]":
                    reason = "length" if finish_reason == "length" else "stop"
                    yield Done(reason, self._usage(usage, started, first_token_at, completion_pieces))
                    return
                try:
                    data = json.loads(chunk.event.data)
                except ValueError:
                    yield Error(
                        "the server sent a malformed event" + (" (partial reply kept)" if text_seen else "")
                    )
                    return
                if not isinstance(data, dict):
                    continue
                if "error" in data:
                    yield Error(
                        "server error: "
                        + server_message(json.dumps(data))
                        + (" (partial reply kept)" if text_seen else "")
                    )
                    return
                if isinstance(data.get("usage"), dict):
                    usage = data["usage"]
                for choice in data.get("choices") or []:
                    delta = (choice.get("delta") or {}).get("content") or choice.get("text")
                    if delta:
                        if first_token_at is None:
                            first_token_at = time.monotonic()
                        text_seen = True
                        completion_pieces += 1
                        yield TokenDelta(delta)
                    if choice.get("finish_reason"):
                        finish_reason = choice["finish_reason"]
        finally:
            stop_reader.set()
            response = holder.get("response")
            if response is not None:
                response.close()  # closes the connection: the server sees the disconnect

    @staticmethod
    def _retry_after(response: httpx.Response | None) -> float | None:
        if response is None:
            return None
        value = response.headers.get("retry-after")
        try:
            return max(0.0, float(value)) if value is not None else None
        except ValueError:
            return None

    def _describe_failure(self, exc: Exception, text_seen: bool) -> str:
        kept = " (partial reply kept)" if text_seen else ""
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return f"server unreachable at {self._options.base_url} ({type(exc).__name__})"
        if isinstance(exc, httpx.ReadTimeout):
            return f"the server stalled (read timeout){kept}"
        if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
            return f"the stream was cut off ({type(exc).__name__}){kept}"
        return f"remote request failed: {type(exc).__name__}{kept}"

    @staticmethod
    def _usage(usage: dict[str, Any], started: float, first_token_at: float | None, pieces: int) -> Usage:
        finished = time.monotonic()
        completion = int(usage.get("completion_tokens") or pieces)
        total = finished - started
        return Usage(
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=completion,
            ttft_s=(first_token_at - started) if first_token_at is not None else None,
            tokens_per_s=completion / total if total > 0 and completion else None,
            total_s=total,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
