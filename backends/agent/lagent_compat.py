"""Makes ``import lagent`` (0.2.4) work without its web-search dependency.

``lagent.actions`` imports its Bing/DuckDuckGo browser action at import time, which needs the
``duckduckgo_search`` package (not installed: the agent has no web tool). When that package is
missing a placeholder module is registered whose ``DDGS`` refuses to be used.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any


class _NoDDGS:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("web search is not available in internlm-tui's agent")


def prepare() -> None:
    """Call before the first ``import lagent``."""
    if "duckduckgo_search" in sys.modules or importlib.util.find_spec("duckduckgo_search"):
        return
    module = types.ModuleType("duckduckgo_search")
    module.DDGS = _NoDDGS  # type: ignore[attr-defined]
    sys.modules["duckduckgo_search"] = module
