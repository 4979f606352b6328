"""MCP servers as agent tools, through the official ``mcp`` SDK's client.

Servers come from the standard ``mcpServers`` JSON (``load_config``): a ``command`` (stdio) or
a ``url`` (streamable HTTP). ``McpHub`` runs every session on its own asyncio loop in a
background thread, so neither Textual's loop nor the agent's worker thread ever runs MCP code;
the agent calls a tool from its worker and waits on a future it can cancel.

Each server lives in one task for its whole life (anyio's transports must be entered and left
in the same task): start, list tools, register them as ``server__tool`` in the shared
``ToolSet``, then wait to be stopped. A server that fails to start or dies mid-call becomes a
status (``starting`` / ``ready`` / ``failed: reason`` / ``died: reason``) and its tools go;
other tools keep working and the model gets an error result for the broken call.

Stdio servers get a clean environment (the SDK's few safe variables such as PATH and HOME plus
what the config gives), their own session (no controlling terminal), protocol pipes for stdin
and stdout, and stderr captured in a private temporary file, never our terminal.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from backends.agent.files_out import sniff_image
from backends.agent.tools import MAX_NAME, FunctionTool, ToolOutput, ToolSet, safe_name
from backends.events import Attachment

ServerState = Literal["starting", "ready", "failed", "died", "stopped"]

MAX_TEXT = 64 * 1024
"""A tool result's text is cut here (the model's context is the limit that matters)."""
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGES = 8
START_TIMEOUT_S = 30.0
STDERR_TAIL = 300


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """One entry of ``mcpServers``: a stdio command or a streamable-HTTP url."""

    name: str
    command: str = ""
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def transport(self) -> str:
        return "http" if self.url else "stdio"


class McpConfigError(ValueError):
    """The ``mcpServers`` file is missing or malformed (one line, for the CLI)."""


def parse_config(data: object, where: str = "MCP config") -> list[ServerConfig]:
    """The servers of a parsed ``{"mcpServers": {name: {...}}}`` document."""
    servers = data.get("mcpServers") if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        raise McpConfigError(f"{where}: expected an object with an 'mcpServers' object")
    configs: list[ServerConfig] = []
    for name, entry in servers.items():
        if not isinstance(entry, dict):
            raise McpConfigError(f"{where}: server {name!r} must be an object")
        if entry.get("disabled") is True:
            continue
        command, url = entry.get("command"), entry.get("url")
        args, env, headers = entry.get("args", []), entry.get("env", {}), entry.get("headers", {})
        if not (isinstance(command, str) and command) and not (isinstance(url, str) and url):
            raise McpConfigError(f"{where}: server {name!r} needs a 'command' or a 'url'")
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise McpConfigError(f"{where}: server {name!r}: 'args' must be a list of strings")
        for label, mapping in (("env", env), ("headers", headers)):
            if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
                raise McpConfigError(f"{where}: server {name!r}: {label!r} must map names to strings")
        if isinstance(url, str) and url and not url.startswith(("http://", "https://")):
            raise McpConfigError(f"{where}: server {name!r}: 'url' must be http:// or https://")
        cwd = entry.get("cwd")
        configs.append(
            ServerConfig(
                str(name),
                command if isinstance(command, str) else "",
                tuple(args),
                dict(env),
                cwd if isinstance(cwd, str) else None,
                url if isinstance(url, str) else "",
                dict(headers),
            )
        )
    return configs


def load_config(path: str | Path) -> list[ServerConfig]:
    """The servers of an ``mcpServers`` JSON file."""
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise McpConfigError(f"cannot read MCP config {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise McpConfigError(f"MCP config {path}: invalid JSON at line {exc.lineno}") from None
    return parse_config(data, f"MCP config {path}")


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """Where one server stands, for the trace panel and the Tools screen."""

    name: str
    state: ServerState
    reason: str = ""
    tools: tuple[str, ...] = ()
    transport: str = "stdio"

    @property
    def label(self) -> str:
        return f"{self.state}: {self.reason}" if self.reason else self.state


class _Server:
    """One running server: its session (on the hub's loop) and how to stop it."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.session: Any = None
        self.stop: asyncio.Event | None = None
        self.stderr: Any = None
        self.task: asyncio.Task[None] | None = None

    def stderr_tail(self) -> str:
        """The last line(s) the server wrote to stderr (for a failure's reason)."""
        if self.stderr is None:
            return ""
        try:
            self.stderr.flush()
            self.stderr.seek(0, os.SEEK_END)
            size = self.stderr.tell()
            self.stderr.seek(max(0, size - 4096))
            lines = [ln for ln in self.stderr.read().splitlines() if ln.strip()]
        except (OSError, ValueError):
            return ""
        return lines[-1][-STDERR_TAIL:] if lines else ""


class McpHub:
    """Every configured MCP server, on one background asyncio loop; tools go into ``tools``."""

    def __init__(
        self,
        configs: list[ServerConfig],
        tools: ToolSet,
        *,
        call_timeout_s: float = 120.0,
        on_change: Callable[[ServerStatus], None] | None = None,
    ) -> None:
        self.configs = configs
        self.tools = tools
        self.call_timeout_s = call_timeout_s
        self.on_change = on_change
        """Called (from the hub's thread) whenever a server's status changes."""
        self._servers = {c.name: _Server(c) for c in configs}
        self._status: dict[str, ServerStatus] = {
            c.name: ServerStatus(c.name, "starting", transport=c.transport) for c in configs
        }
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # ----- status ---------------------------------------------------------------------------
    def statuses(self) -> list[ServerStatus]:
        with self._lock:
            return list(self._status.values())

    def status(self, name: str) -> ServerStatus | None:
        with self._lock:
            return self._status.get(name)

    def _set(self, name: str, state: ServerState, reason: str = "", tools: tuple[str, ...] = ()) -> None:
        server = self._servers[name]
        status = ServerStatus(
            name, state, " ".join(reason.split())[:STDERR_TAIL], tools, server.config.transport
        )
        with self._lock:
            self._status[name] = status
        if self.on_change is not None:
            with contextlib.suppress(Exception):
                self.on_change(status)

    # ----- life -----------------------------------------------------------------------------
    def start(self) -> None:
        """Start the loop thread and every server (returns at once; watch the statuses)."""
        if self._thread is not None or not self.configs:
            return
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="mcp-hub", daemon=True)
        self._thread.start()
        for server in self._servers.values():
            asyncio.run_coroutine_threadsafe(self._launch(server), loop)

    async def _launch(self, server: _Server) -> None:
        server.task = asyncio.current_task()
        await self._serve(server)

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> list[ServerStatus]:
        """Block until no server is ``starting`` (tests, ``--mcp-config`` smoke checks)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            statuses = self.statuses()
            if all(s.state != "starting" for s in statuses):
                return statuses
            time.sleep(0.02)
        return self.statuses()

    async def _serve(self, server: _Server) -> None:
        from mcp.client.session import ClientSession

        config = server.config
        server.stop = asyncio.Event()
        name = config.name
        if not config.url:
            # Closed in ``finally`` below: the file outlives this block's context managers.
            server.stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        try:
            async with contextlib.AsyncExitStack() as stack:
                if config.url:
                    read, write = await stack.enter_async_context(self._http(config))
                else:
                    read, write = await stack.enter_async_context(self._stdio(config, server.stderr))
                session = await stack.enter_async_context(ClientSession(read, write))
                async with asyncio.timeout(START_TIMEOUT_S):
                    await session.initialize()
                    listed = await session.list_tools()
                server.session = session
                names = self._register(server, listed.tools)
                self._set(name, "ready", tools=names)
                await server.stop.wait()
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # any failure of one server is its status, never ours
            reason = _reason(exc, server.stderr_tail())
            current = self.status(name)
            was_ready = current is not None and current.state == "ready"
            self.tools.remove_server(name)
            self._set(name, "died" if was_ready else "failed", reason)
            return
        finally:
            server.session = None
            if server.stderr is not None:
                server.stderr.close()
                server.stderr = None
        self.tools.remove_server(name)
        current = self.status(name)
        if current is not None and current.state not in ("died", "failed"):
            self._set(name, "stopped")

    @staticmethod
    def _stdio(config: ServerConfig, errlog: Any) -> contextlib.AbstractAsyncContextManager[Any]:
        from mcp.client.stdio import StdioServerParameters, stdio_client

        params = StdioServerParameters(
            command=config.command, args=list(config.args), env=dict(config.env), cwd=config.cwd
        )
        return stdio_client(params, errlog=errlog)

    @staticmethod
    def _http(config: ServerConfig) -> contextlib.AbstractAsyncContextManager[Any]:
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        client = create_mcp_http_client(headers=config.headers or None)

        @contextlib.asynccontextmanager
        async def connect() -> Any:
            async with client, streamable_http_client(config.url, http_client=client) as streams:
                yield streams[0], streams[1]

        return connect()

    def _register(self, server: _Server, listed: list[Any]) -> tuple[str, ...]:
        names: list[str] = []
        prefix = safe_name(server.config.name)[: MAX_NAME // 2]
        for item in listed:
            remote = str(item.name)
            schema = item.input_schema if isinstance(item.input_schema, dict) else {}
            schema = schema or {"type": "object", "properties": {}}
            tool = FunctionTool(
                safe_name(f"{prefix}__{remote}"),
                str(item.description or item.title or remote)[:2000],
                schema,
                self._runner(server, remote),
                acts=True,
                server=server.config.name,
            )
            names.append(self.tools.add(tool).name)
        return tuple(names)

    def _runner(
        self, server: _Server, remote: str
    ) -> Callable[[dict[str, Any], threading.Event], ToolOutput]:
        def run(arguments: dict[str, Any], cancel: threading.Event) -> ToolOutput:
            return self.call(server.config.name, remote, arguments, cancel)

        return run

    # ----- calls ----------------------------------------------------------------------------
    def call(self, name: str, remote: str, arguments: dict[str, Any], cancel: threading.Event) -> ToolOutput:
        """Call one tool of server ``name`` from a worker thread; waits, but stops at ``cancel``."""
        server = self._servers.get(name)
        loop = self._loop
        if server is None or loop is None or server.session is None:
            status = self.status(name)
            return ToolOutput(
                f"MCP server {name!r} is not available ({status.label if status else 'unknown'})", ok=False
            )
        future = asyncio.run_coroutine_threadsafe(self._call(server, remote, arguments), loop)
        while True:
            try:
                return future.result(timeout=0.05)
            except TimeoutError:
                if cancel.is_set():
                    future.cancel()
                    return ToolOutput("cancelled", ok=False)

    async def _call(self, server: _Server, remote: str, arguments: dict[str, Any]) -> ToolOutput:
        session = server.session
        if session is None:
            return ToolOutput(f"MCP server {server.config.name!r} is not running", ok=False)
        try:
            async with asyncio.timeout(self.call_timeout_s):
                result = await session.call_tool(remote, arguments)
        except TimeoutError:
            return ToolOutput(
                f"MCP tool {remote!r} did not answer within {self.call_timeout_s:g} s", ok=False
            )
        except Exception as exc:
            reason = _reason(exc, server.stderr_tail())
            if server.config.command and server.stop is not None:
                # A stdio server whose connection broke is gone: say so once, drop its tools.
                self.tools.remove_server(server.config.name)
                self._set(server.config.name, "died", reason)
                server.stop.set()
            return ToolOutput(f"MCP server {server.config.name!r} failed during the call: {reason}", ok=False)
        return convert_result(result)

    def close(self, timeout: float = 5.0) -> None:
        """Stop every server (their processes end) and the loop thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def stop_all() -> None:
            tasks = []
            for server in self._servers.values():
                if server.stop is not None:
                    server.stop.set()
                if server.task is not None:
                    tasks.append(server.task)
            if tasks:
                await asyncio.wait(tasks, timeout=timeout)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop_all(), loop).result(timeout + 1)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._loop = self._thread = None


def convert_result(result: Any) -> ToolOutput:
    """An MCP ``CallToolResult`` as text for the model and image attachments for the user."""
    texts: list[str] = []
    images: list[Attachment] = []
    for number, item in enumerate(getattr(result, "content", None) or [], start=1):
        kind = getattr(item, "type", "")
        if kind == "text":
            texts.append(str(item.text))
        elif kind == "image":
            try:
                data = base64.b64decode(str(item.data), validate=True)
            except (binascii.Error, ValueError):
                texts.append("[an image that was not valid base64 was left out]")
                continue
            mime = sniff_image(data)
            if mime is None:
                texts.append("[a result claimed to be an image but is not one; left out]")
            elif len(data) > MAX_IMAGE_BYTES or len(images) >= MAX_IMAGES:
                texts.append(
                    f"[image {number} left out: over {MAX_IMAGES} images or {MAX_IMAGE_BYTES} bytes]"
                )
            else:
                ext = mime.split("/")[1].replace("jpeg", "jpg")
                images.append(Attachment(f"tool-image-{number}.{ext}", mime, data))
                texts.append(f"[image {number}: {mime}, {len(data)} bytes, shown to the user]")
        elif kind == "resource_link":
            texts.append(f"[resource link {getattr(item, 'uri', '')}]")
        else:
            texts.append(f"[{kind or 'unknown'} content left out]")
    if not texts and getattr(result, "structured_content", None) is not None:
        texts.append(json.dumps(result.structured_content, ensure_ascii=False))
    text = "\n".join(texts).strip() or "(no output)"
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + f"\n[cut at {MAX_TEXT} characters]"
    return ToolOutput(text, ok=not bool(getattr(result, "is_error", False)), attachments=tuple(images))


def _reason(exc: BaseException, stderr_tail: str) -> str:
    """One line for why a server failed: the exception (unwrapped from groups) and its stderr."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, FileNotFoundError):
        text = f"command not found: {exc.filename or text}"
    elif isinstance(exc, TimeoutError):
        text = f"no answer within {START_TIMEOUT_S:g} s"
    if stderr_tail:
        text += f" (stderr: {stderr_tail})"
    return " ".join(text.split())
