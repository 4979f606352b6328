"""Run every ``benchmarks/bench_*.py`` module's ``run()`` and print one JSON object.

A module that fails is reported under its name with the error, so one broken benchmark does
not hide the others. ``--quick`` asks each module for small sizes (used by the test suite).
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import traceback
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sizes, for smoke tests")
    parser.add_argument("--only", default=None, help="comma-separated module names (e.g. bench_local)")
    args = parser.parse_args(argv)
    wanted = set(args.only.split(",")) if args.only else None
    figures: dict[str, Any] = {}
    folder = str(Path(__file__).parent)
    for module_info in sorted(pkgutil.iter_modules([folder]), key=lambda m: m.name):
        name = module_info.name
        if not name.startswith("bench_") or (wanted is not None and name not in wanted):
            continue
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            figures[name.removeprefix("bench_")] = module.run(quick=args.quick)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            figures[name.removeprefix("bench_")] = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(figures, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
