"""Real MCP server processes for the tests: ``testkit.mcp_server`` over stdio or over
streamable HTTP on loopback, and a hub connected to them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from backends.agent.mcp_client import McpHub, ServerConfig
from backends.agent.tools import ToolSet

ROOT = str(Path(__file__).resolve().parent.parent)


def stdio_config(name: str = "test", **env: str) -> ServerConfig:
    """The test server as a stdio entry of ``mcpServers`` (it finds ``testkit`` via PYTHONPATH)."""
    return ServerConfig(
        name, sys.executable, ("-m", "testkit.mcp_server", "stdio"), {"PYTHONPATH": ROOT, **env}
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def http_server() -> Iterator[str]:
    """The test server over streamable HTTP on loopback; yields its URL."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.Popen(
        [sys.executable, "-m", "testkit.mcp_server", "http", str(port)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("the MCP test server exited") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def running_hub(*configs: ServerConfig, tools: ToolSet | None = None) -> Iterator[tuple[McpHub, ToolSet]]:
    """A started hub over ``configs`` (waited until no server is starting), closed afterwards."""
    toolset = tools if tools is not None else ToolSet()
    hub = McpHub(list(configs), toolset, call_timeout_s=30)
    hub.start()
    try:
        hub.wait_ready(40)
        yield hub, toolset
    finally:
        hub.close()
