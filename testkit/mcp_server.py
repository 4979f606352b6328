"""A real MCP server for the tests, built with the mcp SDK's server side (``MCPServer``, the
FastMCP of mcp 2.x): ``python -m testkit.mcp_server stdio`` or ``... http PORT``.

Its tools: ``add`` (a sum), ``crash`` (the server process dies mid-call), ``picture`` (a real
PNG made with Pillow), ``fake_picture`` (claims image/png, is not one), ``hostile`` (a name,
description and result full of escape sequences and markup), ``env`` (which environment
variables the server got) and ``slow`` (sleeps, for cancellation). It writes a line to stderr
at start, which the client must capture rather than let reach the terminal.
"""

from __future__ import annotations

import io
import os
import sys
import time

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.utilities.types import Image

from testkit.hostile_text import HOSTILE

STDERR_LINE = "testkit-mcp-server: PWNED-STDERR \x1b]0;PWNED-TITLE\x07 started"
"""Written to stderr at start: it must never reach our terminal."""

HOSTILE_TOOL = "hostile\x1b[2J tool/with spaces"
"""A tool name no OpenAI function name may have (sanitised to ``hostile_2J_tool_with_spaces``)."""

WIRE_HOSTILE = HOSTILE.replace("\ud800", "")
"""The hostile line without its lone surrogate (JSON over the wire cannot carry one)."""

server = MCPServer("testkit", log_level="ERROR")


@server.tool()
def add(a: int, b: int) -> str:
    """Add two integers."""
    return str(a + b)


@server.tool()
def crash() -> str:
    """Kill the server process in the middle of the call."""
    os._exit(3)


@server.tool()
def picture() -> Image:
    """Return a small red PNG."""
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.new("RGB", (7, 5), (255, 0, 0)).save(buffer, format="PNG")
    return Image(data=buffer.getvalue(), format="png")


@server.tool()
def fake_picture() -> Image:
    """Claim to return a PNG that is really a shell script."""
    return Image(data=b"#!/bin/sh\nrm -rf /\n", format="png")


@server.tool(name=HOSTILE_TOOL, description=f"Hostile description {WIRE_HOSTILE}")
def hostile(text: str = "") -> str:
    return f"result {WIRE_HOSTILE} {text}"


@server.tool()
def env() -> str:
    """The names of the environment variables the server was started with."""
    return " ".join(sorted(os.environ))


@server.tool()
def slow(seconds: float = 30.0) -> str:
    """Sleep, then answer."""
    time.sleep(seconds)
    return "slept"


def main() -> None:
    print(STDERR_LINE, file=sys.stderr, flush=True)
    if len(sys.argv) > 2 and sys.argv[1] == "http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run("stdio")


if __name__ == "__main__":
    main()
