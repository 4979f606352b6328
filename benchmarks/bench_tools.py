"""Tools: what an MCP server and a saved plot cost.

``mcp_ready_s``: from starting the hub to the stdio test server (``testkit.mcp_server``, the
SDK's MCPServer in a new Python) being ready with its tools listed. ``mcp_call_ms``: median
round trip of its ``add`` tool from a worker thread through the hub's loop. ``plot_s``: a
sandboxed matplotlib plot saved and brought back as an image (only where the sandbox's
Python has matplotlib), next to ``print_s`` for ``print(1)`` the same way.
"""

from __future__ import annotations

import statistics
import subprocess
import threading
import time
from typing import Any

PLOT = (
    "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
    "plt.plot([0, 1, 2], [0, 1, 4])\nplt.savefig('p.png')\n"
)


def _mcp(calls: int) -> dict[str, Any]:
    from backends.agent.mcp_client import McpHub
    from backends.agent.tools import ToolSet
    from testkit.mcp import stdio_config

    tools = ToolSet()
    hub = McpHub([stdio_config("bench")], tools)
    started = time.perf_counter()
    hub.start()
    try:
        (status,) = hub.wait_ready(60)
        ready = time.perf_counter() - started
        if status.state != "ready":
            return {"mcp": status.label}
        add = tools.get("bench__add")
        assert add is not None
        times = []
        for number in range(calls):
            begun = time.perf_counter()
            out = add.run({"a": number, "b": 1}, threading.Event())
            times.append(time.perf_counter() - begun)
            if out.text != str(number + 1):
                raise RuntimeError(f"add answered {out.text!r}")
        return {"mcp_ready_s": round(ready, 3), "mcp_call_ms": round(statistics.median(times) * 1000, 2)}
    finally:
        hub.close()


def _plots(runs: int) -> dict[str, Any]:
    from backends.agent.sandbox import SandboxLimits, interpreter, isolation, run_python

    if not isolation().available:
        return {"plot": "no isolation here"}
    if subprocess.run([interpreter(), "-c", "import matplotlib"], capture_output=True).returncode != 0:
        return {"plot": "no matplotlib for the sandbox's Python"}
    limits = SandboxLimits(wall_s=60, cpu_s=30)
    plot, plain = [], []
    for _ in range(runs):
        begun = time.perf_counter()
        result = run_python(PLOT, limits=limits)
        plot.append(time.perf_counter() - begun)
        if not result.ok or len(result.images) != 1:
            raise RuntimeError(f"the plot failed: {result.reason} {result.output[-200:]!r}")
        begun = time.perf_counter()
        run_python("print(1)", limits=limits)
        plain.append(time.perf_counter() - begun)
    return {"plot_s": round(statistics.median(plot), 3), "print_s": round(statistics.median(plain), 3)}


def run(quick: bool = False) -> dict[str, Any]:
    """Time an MCP server's start and calls, and a sandboxed plot."""
    return {**_mcp(10 if quick else 50), **_plots(1 if quick else 5)}
