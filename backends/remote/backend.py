"""The remote backend: any OpenAI-compatible server (lmdeploy, vLLM, transformers serve, Ollama).

HTTP and SSE parsing come from httpx and httpx-sse. The stream is read in a helper thread
that feeds a queue, so the generator can apply separate first-token and between-chunk
timeouts, an overall deadline and cancellation, and stop a stream at once by shutting its
socket down (so the server sees the disconnect and stops generating).
"""

from __future__ import annotations

import hashlib
import json
import queue
import secrets
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from httpx_sse import ServerSentEvent, connect_sse

from backends.base import BackendLoadError, ProgressCallback
from backends.events import TOOLS_REJECTED as TOOLS_REJECTED
from backends.events import (
    BackendEvent,
    BackendInfo,
    ChatMessage,
    Done,
    DoneReason,
    Error,
    GenerationParams,
    ThoughtDelta,
    TokenDelta,
    ToolCall,
    Usage,
)
from backends.images import prepare_image
from backends.options import BackendOptions, RemoteOptions
from backends.remote.endpoints import Endpoint, EndpointPool, EndpointStatus
from backends.remote.errors import (
    describe_image_refusal,
    describe_status,
    is_retryable_status,
    scrub,
    server_message,
)
from backends.remote.http import HangUp, display_url, retry_after_s, unreachable_message

_POLL_S = 0.05
_MAX_RETRY_WAIT_S = 30.0


@dataclass
class _Chunk:
    """What the reader thread passes on: an SSE event, an HTTP failure, or the end."""

    event: ServerSentEvent | None = None
    status: int | None = None
    body: str = ""
    response: httpx.Response | None = None
    failure: Exception | None = None
    finished: bool = False


class _Retry(Exception):
    """This attempt failed before anything was shown; another one may succeed."""

    def __init__(self, message: str, wait_s: float | None = None, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.wait_s = wait_s
        self.unreachable = unreachable
        """The connection itself failed: another endpoint of the pool may take the turn."""


@dataclass
class _Binding:
    """The endpoint a conversation stays on and the session id it sends there."""

    endpoint: Endpoint
    session_id: int = field(default_factory=lambda: secrets.randbelow(2**31 - 2) + 1)


SESSION_HEADER = "X-Session-Id"
"""Sent with every request of a conversation (the same value each turn), so a router or proxy
in front of several servers can keep the conversation on one of them."""

_MAX_BINDINGS = 256


def conversation_key(messages: Sequence[ChatMessage]) -> str:
    """What identifies a conversation across its turns: its system prompt and first user message.

    The session hands the backend whole message lists, not chat ids, and both of these stay the
    same for every turn, regenerate and edit of later messages of one chat.
    """
    system = next((m.content for m in messages if m.role == "system"), "")
    first = next((m.content for m in messages if m.role == "user"), "")
    return _digest(f"{system}\0{first}")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class _Progress:
    """What one attempt has seen so far."""

    started: float
    shown: bool = False
    first_token_at: float | None = None
    pieces: int = 0
    finish_reason: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    tools_sent: bool = False
    calls: dict[int, dict[str, str]] = field(default_factory=dict)
    """Tool calls assembled from streamed ``tool_calls`` deltas, by their index."""
    images: bool = False
    """The request carries images: a 400/413/415/422 is then explained as an image refusal."""


def _has_images(body: dict[str, Any]) -> bool:
    """Whether a chat request has ``image_url`` content parts."""
    return any(
        isinstance(m.get("content"), list) and any(p.get("type") == "image_url" for p in m["content"])
        for m in body.get("messages", [])
        if isinstance(m, dict)
    )


def _sent_key(client: httpx.Client) -> str:
    """The API key this client sends, so that a server echoing it back can be redacted."""
    return str(client.headers.get("authorization", "")).removeprefix("Bearer ")


def _json_body(body: dict[str, Any]) -> bytes:
    """The request as UTF-8 JSON; text holding a lone surrogate (a model name or reply can) is
    sent \\u-escaped, as JSON allows, instead of failing to encode."""
    try:
        return json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(body, allow_nan=False).encode("ascii")


MAX_CALLS = 16
MAX_ARGUMENTS = 256 * 1024


def _message_json(message: ChatMessage) -> dict[str, Any]:
    """One message in the OpenAI shape, with an assistant's ``tool_calls`` and a tool
    result's ``tool_call_id``."""
    item: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        item["tool_calls"] = [
            {"id": c.call_id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
    if message.role == "tool" and message.tool_call_id is not None:
        item["tool_call_id"] = message.tool_call_id
    return item


def _add_call_deltas(seen: _Progress, deltas: list[Any]) -> None:
    """Fold streamed ``tool_calls`` pieces into whole calls: id and name usually come first,
    the arguments in pieces, several calls told apart by ``index`` (bounded in count and size)."""
    for piece in deltas:
        if not isinstance(piece, dict):
            continue
        index = piece.get("index", len(seen.calls))
        if not isinstance(index, int) or isinstance(index, bool):
            continue
        if index not in seen.calls:
            if len(seen.calls) >= MAX_CALLS:
                continue
            seen.calls[index] = {"id": "", "name": "", "arguments": ""}
        call = seen.calls[index]
        seen.shown = True
        if seen.first_token_at is None:
            seen.first_token_at = time.monotonic()
        if isinstance(piece.get("id"), str) and piece["id"]:
            call["id"] = piece["id"][:200]
        function = piece.get("function")
        if isinstance(function, dict):
            name = function.get("name")
            if isinstance(name, str) and name and name != call["name"]:  # some servers repeat it
                call["name"] = (call["name"] + name)[:200]
            if isinstance(function.get("arguments"), str) and len(call["arguments"]) < MAX_ARGUMENTS:
                call["arguments"] += function["arguments"]


def _calls(seen: _Progress) -> Iterator[ToolCall]:
    """The assembled calls, in index order (a call with no name is dropped)."""
    for index in sorted(seen.calls):
        call = seen.calls[index]
        if call["name"]:
            yield ToolCall(call["id"] or f"call_{index}", call["name"], call["arguments"][:MAX_ARGUMENTS])
    seen.calls = {}


def _window_of(card: dict[str, Any]) -> int | None:
    """A model card's context length, if it is a sane positive integer."""
    value = card.get("max_model_len")
    return (
        value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 100_000_000 else None
    )


class RemoteBackend:
    """Streams chat (and raw-prompt) completions from an OpenAI-compatible server."""

    def __init__(
        self, options: RemoteOptions, model: str, pool: EndpointPool, windows: dict[str, int] | None = None
    ) -> None:
        self._options = options
        self._pool = pool
        self._bindings: dict[str, _Binding] = {}
        self._current: _Binding | None = None
        self.model = model
        self._windows = windows or {}
        """Context length per model, where ``/v1/models`` says (vLLM's and lmdeploy's ``max_model_len``)."""
        self.info = BackendInfo(
            name="remote",
            model=model,
            device=display_url(options.base_url)
            + (f" +{len(pool.endpoints) - 1}" if len(pool.endpoints) > 1 else ""),
            capabilities=frozenset({"stream", "cancel", "models", "complete", "endpoints", "images"}),
            context_window=self._windows.get(model),
        )

    # ----- connecting and models -------------------------------------------------------------
    @classmethod
    def connect(cls, options: BackendOptions, progress: ProgressCallback) -> RemoteBackend:
        """Check the server and choose the model (``--model``, else the first listed one)."""
        remote = options.remote
        pool = EndpointPool.from_options(remote)
        try:
            endpoint = pool.first
            if len(pool.endpoints) > 1:
                progress(f"Checking {len(pool.endpoints)} servers…", None)
                pool.check_all()
                best = pool.pick()
                if best is None:
                    raise BackendLoadError("no server is reachable: " + pool.describe_down())
                endpoint = best
            progress(f"Contacting {display_url(endpoint.url)}…", None)
            cards = cls._fetch_cards(pool, endpoint, remote)
        except BackendLoadError:
            pool.close()
            raise
        models = [name for name, _window in cards]
        model = options.model
        if model is None:
            if not models:
                pool.close()
                raise BackendLoadError("the server lists no models at /v1/models; pass --model NAME")
            model = models[0]
        elif models and model not in models:
            pool.close()
            raise BackendLoadError(f"the server has no model {model!r}; it serves: {', '.join(models[:8])}")
        windows = {name: window for name, window in cards if window is not None}
        return cls(remote, model, pool, windows)

    @staticmethod
    def _fetch_cards(
        pool: EndpointPool, endpoint: Endpoint, remote: RemoteOptions
    ) -> list[tuple[str, int | None]]:
        """Each listed model with its context length where the server gives one."""
        client = endpoint.client
        try:
            response = client.get("models")
        except httpx.TransportError as exc:
            raise BackendLoadError(unreachable_message(exc, endpoint.url)) from None
        if response.status_code in (401, 403):
            raise BackendLoadError(
                describe_status(
                    response.status_code,
                    response.text,
                    model="",
                    key_env=remote.api_key_env,
                    secret=_sent_key(client),
                )
            )
        if response.status_code >= 400:
            return []  # some servers do not implement /models; a chat request will tell
        pool.note_models(endpoint, response)
        try:
            data = response.json().get("data", [])
            return [
                (str(item["id"]), _window_of(item))
                for item in data
                if isinstance(item, dict) and "id" in item
            ]
        except (ValueError, AttributeError, TypeError):
            return []

    def list_models(self) -> list[str]:
        """The models the server offers now; raises ``BackendLoadError`` if it cannot be reached."""
        endpoint = self._current.endpoint if self._current else self._pool.first
        cards = self._fetch_cards(self._pool, endpoint, self._options)
        self._windows.update({name: window for name, window in cards if window is not None})
        return [name for name, _window in cards]

    def use_model(self, model: str) -> None:
        """Send the next requests to ``model`` (one of ``list_models()``)."""
        self.model = model
        self.info = replace(self.info, model=model, context_window=self._windows.get(model))

    # ----- requests --------------------------------------------------------------------------
    def _common_body(self, params: GenerationParams, stop: Sequence[str] = ()) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        stops = list(dict.fromkeys([*params.stop, *stop]))
        for key, value in (
            ("temperature", params.temperature),
            ("top_p", params.top_p),
            ("max_tokens", params.max_new_tokens),
            ("seed", params.seed),
            ("stop", stops or None),
        ):
            if value is not None:
                body[key] = value
        return body

    def request_body(self, messages: Sequence[ChatMessage], params: GenerationParams) -> dict[str, Any]:
        """The JSON of a streaming chat completion with our generation parameters."""
        body = self._common_body(params)
        body["messages"] = [self._message_json(m) for m in messages]
        return body

    def _message_json(self, message: ChatMessage) -> dict[str, Any]:
        """One message; a user message with images becomes OpenAI content parts (text, then each
        image as a ``data:`` URL, scaled to ``image_max_side``). Files that are not images are
        the agent's business (its tools receive them), never sent to the model. An assistant's
        ``tool_calls`` and a tool result's ``tool_call_id`` go as OpenAI has them."""
        images = [a for a in message.attachments if a.is_image]
        if message.role != "user" or not images:
            return _message_json(message)
        parts: list[dict[str, Any]] = [{"type": "text", "text": message.content}]
        for image in images:
            url = prepare_image(image, self._options.image_max_side).data_url()
            parts.append({"type": "image_url", "image_url": {"url": url}})
        return {"role": "user", "content": parts}

    def stream_tools(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        tools: Sequence[dict[str, Any]],
        *,
        cancel: threading.Event,
    ) -> Iterator[BackendEvent]:
        """Stream one reply offering ``tools`` (the OpenAI ``tools`` parameter). Streamed
        ``tool_calls`` deltas are assembled and yielded as ``ToolCall`` events (``call_id`` is
        the server's id) just before ``Done``. A server that rejects ``tools`` (400 / 422)
        ends with an ``Error`` whose ``detail`` is ``TOOLS_REJECTED``."""
        try:
            body = self.request_body(messages, params)
        except ValueError as exc:  # an attached image Pillow cannot read
            yield Error(f"could not send an image: {exc}")
            return
        if tools:
            body["tools"] = list(tools)
        yield from self._stream_path("chat/completions", body, cancel, conversation_key(messages))

    def stream(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        *,
        cancel: threading.Event,
    ) -> Iterator[BackendEvent]:
        """Stream one reply; every failure becomes one ``Error`` event with a one-line message."""
        try:
            body = self.request_body(messages, params)
        except ValueError as exc:  # an attached image Pillow cannot read (checked when attached)
            yield Error(f"could not send an image: {exc}")
            return
        yield from self._stream_path("chat/completions", body, cancel, conversation_key(messages))

    def complete(
        self,
        prompt: str,
        params: GenerationParams,
        *,
        cancel: threading.Event,
        stop: Sequence[str] = (),
    ) -> Iterator[BackendEvent]:
        """Stream ``/v1/completions`` for a raw prompt (the agent backend's LLM call).

        Same events, timeouts, retries and cancellation as ``stream``; ``stop`` is added to
        ``params.stop``. lmdeploy, vLLM and transformers serve all implement this endpoint.
        """
        body = self._common_body(params, stop)
        body["prompt"] = prompt
        yield from self._stream_path("completions", body, cancel, _digest(prompt[:4096]))

    # ----- streaming -------------------------------------------------------------------------
    # ----- endpoints -------------------------------------------------------------------------
    def _bind(self, key: str) -> _Binding | None:
        """The endpoint of this conversation; a new one goes to the best healthy endpoint."""
        binding = self._bindings.get(key)
        if binding is None:
            endpoint = self._pool.pick()
            if endpoint is None:
                return None
            binding = _Binding(endpoint)
            if len(self._bindings) >= _MAX_BINDINGS:
                self._bindings.pop(next(iter(self._bindings)))
            self._bindings[key] = binding
        self._current = binding
        return binding

    def _fail_over(self, binding: _Binding, tried: set[Endpoint], message: str) -> bool:
        """Mark the endpoint down and move the conversation to the next healthy one, if any."""
        if len(self._pool.endpoints) < 2:
            return False
        self._pool.mark_down(binding.endpoint, message)
        tried.add(binding.endpoint)
        endpoint = self._pool.pick(exclude=tried)
        if endpoint is None:
            return False
        binding.endpoint = endpoint
        return True

    def endpoint_statuses(self) -> list[EndpointStatus]:
        """The last known health and latency of every server (for the Servers screen)."""
        return self._pool.statuses()

    def check_endpoints(self) -> list[EndpointStatus]:
        """Check every server now (blocking: call from a worker)."""
        return self._pool.check_all()

    def current_endpoint(self) -> str | None:
        """The server the current conversation is on (without credentials), once it has one."""
        return display_url(self._current.endpoint.url) if self._current else None

    def _stream_path(
        self, path: str, body: dict[str, Any], cancel: threading.Event, key: str
    ) -> Iterator[BackendEvent]:
        started = time.monotonic()
        deadline = started + self._options.deadline_s
        attempt = 0
        binding = self._bind(key)
        if binding is None:
            yield Error("no server is reachable: " + self._pool.describe_down())
            return
        tried: set[Endpoint] = set()
        while True:
            if cancel.is_set():
                yield Done("cancelled")
                return
            try:
                yield from self._one_attempt(binding, path, body, cancel, started, deadline)
                return
            except _Retry as retry:
                if retry.unreachable and self._fail_over(binding, tried, retry.message):
                    continue
                if retry.unreachable and tried:
                    yield Error("no server is reachable: " + self._pool.describe_down())
                    return
                attempt += 1
                wait = retry.wait_s if retry.wait_s is not None else min(0.5 * 2 ** (attempt - 1), 8.0)
                wait = min(wait, _MAX_RETRY_WAIT_S)
                if attempt > self._options.max_retries or time.monotonic() + wait > deadline:
                    retries = f" (after {attempt - 1} {'retry' if attempt == 2 else 'retries'})"
                    retries = retries if attempt > 1 else ""
                    yield Error(retry.message + retries)
                    return
                if cancel.wait(wait):
                    yield Done("cancelled")
                    return
            except Exception as exc:  # a bug or an odd server must still end the turn in one line
                yield Error(f"remote stream failed: {type(exc).__name__}")
                return

    def _start_reader(
        self,
        binding: _Binding,
        path: str,
        body: dict[str, Any],
        chunks: queue.Queue[_Chunk],
        hang_up: HangUp,
    ) -> threading.Event:
        """Read the SSE stream in a daemon thread; returns the event that tells it to stop."""
        stop_reader = threading.Event()
        client = binding.endpoint.client
        if binding.endpoint.status.lmdeploy:
            body = {**body, "session_id": binding.session_id}  # lmdeploy's own field
        headers = {"Content-Type": "application/json", SESSION_HEADER: str(binding.session_id)}

        def read() -> None:
            try:
                with connect_sse(
                    client,
                    "POST",
                    path,
                    content=_json_body(body),
                    headers=headers,
                    extensions={"trace": hang_up.trace},
                ) as source:
                    response = source.response
                    if response.status_code >= 400:
                        response.read()
                        chunks.put(_Chunk(status=response.status_code, body=response.text, response=response))
                        return
                    for sse in source.iter_sse():
                        if stop_reader.is_set():
                            return
                        chunks.put(_Chunk(event=sse))
                chunks.put(_Chunk(finished=True))
            except Exception as exc:  # handed to the generator, which decides what it means
                if not stop_reader.is_set():
                    chunks.put(_Chunk(failure=exc))

        threading.Thread(target=read, name="remote-stream", daemon=True).start()
        return stop_reader

    def _one_attempt(
        self,
        binding: _Binding,
        path: str,
        body: dict[str, Any],
        cancel: threading.Event,
        started: float,
        deadline: float,
    ) -> Iterator[BackendEvent]:
        chunks: queue.Queue[_Chunk] = queue.Queue()
        hang_up = HangUp()
        stop_reader = self._start_reader(binding, path, body, chunks, hang_up)
        seen = _Progress(started=started, images=_has_images(body), tools_sent="tools" in body)
        attempt_started = last_chunk_at = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                if cancel.is_set():
                    yield Done("cancelled", self._usage(seen))
                    return
                if now > deadline:
                    yield Error(
                        f"stopped: the reply took longer than the {self._options.deadline_s:g} s deadline"
                    )
                    return
                if seen.shown and now - last_chunk_at > self._options.chunk_timeout_s:
                    yield Error(
                        f"the server stalled: nothing for {self._options.chunk_timeout_s:g} s mid-reply"
                    )
                    return
                if not seen.shown and now - attempt_started > self._options.first_token_timeout_s:
                    yield Error(
                        f"the server stalled: no first token within {self._options.first_token_timeout_s:g} s"
                    )
                    return
                try:
                    chunk = chunks.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                last_chunk_at = time.monotonic()
                outcome = yield from self._handle_chunk(chunk, seen, binding.endpoint)
                if outcome:
                    return
        finally:
            stop_reader.set()
            hang_up.now()

    def _handle_chunk(
        self, chunk: _Chunk, seen: _Progress, endpoint: Endpoint
    ) -> Generator[BackendEvent, None, bool]:
        """Yield what one chunk means; return True when the attempt is over."""
        secret = _sent_key(endpoint.client)
        refusal = describe_image_refusal(chunk.status, chunk.body, secret) if seen.images else None
        if refusal is not None:
            yield Error(refusal)
            return True
        if chunk.status is not None:
            message = describe_status(
                chunk.status,
                chunk.body,
                model=self.model,
                key_env=self._options.api_key_env,
                secret=secret,
            )
            if is_retryable_status(chunk.status) and not seen.shown:
                raise _Retry(message, retry_after_s(chunk.response))
            rejected = seen.tools_sent and chunk.status in (400, 422)
            yield Error(message, TOOLS_REJECTED if rejected else "")
            return True
        if chunk.failure is not None and seen.finish_reason is None:
            message = self._describe_failure(chunk.failure, endpoint)
            connect_failed = isinstance(chunk.failure, httpx.ConnectError | httpx.ConnectTimeout)
            if connect_failed and not seen.shown and not message.startswith("certificate"):
                raise _Retry(message, unreachable=True)
            yield Error(message)
            return True
        if chunk.failure is not None or chunk.finished:
            if seen.finish_reason is None:
                yield Error("the stream was cut off before the server finished")
            else:
                yield from _calls(seen)
                yield self._done(seen)
            return True
        assert chunk.event is not None
        data_text = chunk.event.data.strip()
        if not data_text:
            return False
        if data_text == "[DONE]":
            yield from _calls(seen)
            yield self._done(seen)
            return True
        try:
            data = json.loads(data_text)
        except ValueError:
            yield Error("the server sent a malformed event")
            return True
        if not isinstance(data, dict):
            return False
        if "error" in data or chunk.event.event == "error":
            detail = server_message(scrub(data_text, secret))
            yield Error("server error: " + detail)
            return True
        if isinstance(data.get("usage"), dict):
            seen.usage = data["usage"]
        for choice in data.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            raw_delta = choice.get("delta")
            delta: dict[str, Any] = raw_delta if isinstance(raw_delta, dict) else {}
            thought = delta.get("reasoning_content") or delta.get("reasoning")
            text = delta.get("content") or choice.get("text")
            for piece, kind in ((thought, ThoughtDelta), (text, TokenDelta)):
                if isinstance(piece, str) and piece:
                    if seen.first_token_at is None:
                        seen.first_token_at = time.monotonic()
                    seen.shown = True
                    seen.pieces += 1
                    yield kind(piece)
            if isinstance(delta.get("tool_calls"), list):
                _add_call_deltas(seen, delta["tool_calls"])
            if choice.get("finish_reason"):
                seen.finish_reason = str(choice["finish_reason"])
        return False

    def _done(self, seen: _Progress) -> Done:
        reason: DoneReason = "length" if seen.finish_reason == "length" else "stop"
        return Done(reason, self._usage(seen))

    def _describe_failure(self, exc: Exception, endpoint: Endpoint) -> str:
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return unreachable_message(exc, endpoint.url)
        if isinstance(exc, httpx.ReadTimeout):
            return "the server stalled (read timeout)"
        if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
            return f"the stream was cut off ({type(exc).__name__})"
        return f"remote request failed: {type(exc).__name__}"

    @staticmethod
    def _usage(seen: _Progress) -> Usage:
        finished = time.monotonic()
        completion = int(seen.usage.get("completion_tokens") or seen.pieces)
        total = finished - seen.started
        return Usage(
            prompt_tokens=int(seen.usage.get("prompt_tokens") or 0),
            completion_tokens=completion,
            ttft_s=(seen.first_token_at - seen.started) if seen.first_token_at is not None else None,
            tokens_per_s=completion / total if total > 0 and completion else None,
            total_s=total,
        )

    def close(self) -> None:
        """Close every server's connection pool."""
        self._pool.close()
