"""A dropped SSH connection or SIGTERM always ends the app, with the streaming reply saved first.

Rounds alternate a hang-up (the pty's master side closed, so the kernel sends SIGHUP as when
sshd drops a session) and a SIGTERM, each at a random moment while a reply streams fast (a word
every 2 ms), with every core kept busy by spinning processes (``testkit.signal_rounds``). A few
more rounds SIGTERM an app whose terminal stopped reading (its output blocked). Figures:

* ``rounds``: hang-up and SIGTERM rounds run (50; 4 with ``--quick``);
* ``survivors``: processes still alive ``patience_s`` after the signal (target 0);
* ``max_exit_s`` / ``median_exit_s``: signal to process reaped;
* ``saved``: replies found in the SQLite file marked interrupted by the app, every word in
  order, divided by rounds (target 1.0);
* ``stalled``: the same for the stalled-terminal rounds (their exit waits for the watchdog).
"""

from __future__ import annotations

import random
import statistics
import tempfile
from pathlib import Path
from typing import Any

from testkit.signal_rounds import RoundResult, busy_cores, run_round

PATIENCE_S = 30.0


def _figures(results: list[RoundResult]) -> dict[str, Any]:
    times = [r.exit_s for r in results if r.exit_s is not None]
    return {
        "rounds": len(results),
        "survivors": sum(r.exit_s is None for r in results),
        "max_exit_s": round(max(times), 3) if times else None,
        "median_exit_s": round(statistics.median(times), 3) if times else None,
        "saved": round(sum(r.saved for r in results) / len(results), 3),
        "exit_codes": sorted({str(r.exit_code) for r in results}),
        "problems": sorted({r.problem for r in results if r.problem}),
    }


def run(quick: bool = False) -> dict[str, Any]:
    """Run the rounds under full CPU load and return the figures."""
    rounds = 4 if quick else 50
    stalled_rounds = 1 if quick else 4
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory() as folder, busy_cores() as spinners:
        home = Path(folder)
        results = [
            run_round(
                home / f"r{n}",
                ("hangup", "SIGTERM")[n % 2],
                delay_s=0.002,
                jitter_s=0.5,
                rng=rng,
                patience_s=PATIENCE_S,
            )
            for n in range(rounds)
        ]
        stalled = [
            run_round(home / f"s{n}", "stalled", delay_s=0.002, patience_s=PATIENCE_S)
            for n in range(stalled_rounds)
        ]
    figures = _figures(results)
    figures["by_kind"] = {
        how: _figures([r for r in results if r.how == how]) for how in ("hangup", "SIGTERM")
    }
    figures["stalled"] = _figures(stalled)
    figures["busy_processes"] = len(spinners)
    figures["patience_s"] = PATIENCE_S
    return figures


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
