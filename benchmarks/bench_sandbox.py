"""The tool sandbox: how many hostile programs it contains, and what isolation costs per call.

``hostile_contained`` is contained / total for the shared hostile suite (``testkit.hostile``),
run as a normal user with a fake home and a live tmux server, pty, agent socket and loopback
listener (``testkit.hostile_world``); ``hostile`` lists each program's outcome.
``start_overhead_s`` is the wall time of ``run_python("print(1)")`` through the sandbox,
next to the same program run unisolated (``python -I`` with limits only).
"""

from __future__ import annotations

import statistics
import time
from typing import Any


def _timed(runs: int, unisolated: bool) -> list[float]:
    from backends.agent.sandbox import SandboxLimits, run_python, run_unisolated

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = run_unisolated("print(1)", SandboxLimits()) if unisolated else run_python("print(1)")
        times.append(time.perf_counter() - started)
        if not result.ok or result.output != "1\n":
            raise RuntimeError(f"print(1) failed in the sandbox: {result.reason} {result.output!r}")
    return times


def run(quick: bool = False) -> dict[str, Any]:
    """Run the hostile suite and time a trivial call; return the figures."""
    from backends.agent.sandbox import isolation
    from testkit.hostile_world import run_suite

    found = isolation()
    if not found.available:
        return {"isolation": found.problem, "hostile_contained": 0.0}
    report = run_suite("isolated")
    outcomes = report["outcomes"]
    contained = sum(1 for o in outcomes if o["contained"])
    runs = 5 if quick else 20
    isolated: list[float] = []
    plain: list[float] = []
    for _ in range(runs):  # interleaved: the machine is shared and noisy
        isolated += _timed(1, unisolated=False)
        plain += _timed(1, unisolated=True)
    return {
        "hostile_contained": round(contained / len(outcomes), 4),
        "hostile_total": len(outcomes),
        "hostile": [{"name": o["name"], "contained": o["contained"], "why": o["why"]} for o in outcomes],
        "outside_reachable": all(not why for why in report["outside"].values()),
        "memory_limit_covers": report["isolation"]["memory"],
        "start_overhead_s": round(statistics.median(isolated), 4),
        "start_unisolated_s": round(statistics.median(plain), 4),
        "start_runs": runs,
    }
