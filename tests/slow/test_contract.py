"""The shared backend contract, run against every backend that can run here without a server.

The remote backend runs the same checks against a real server in its own test module.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from backends.base import ChatBackend
from backends.events import Done, TokenDelta
from backends.options import BackendOptions
from backends.registry import create_backend
from backends.scripted import ScriptedBackend
from testkit import contract


def _scripted() -> ChatBackend:
    return ScriptedBackend(delay_s=0.001)


def _local() -> ChatBackend:
    return create_backend(BackendOptions())


FACTORIES: dict[str, Callable[[], ChatBackend]] = {
    "scripted": _scripted,
    "local": _local,
}


@pytest.fixture(params=sorted(FACTORIES), scope="module")
def backend(request: pytest.FixtureRequest, embedded_model_dir: object) -> Iterator[ChatBackend]:
    created = FACTORIES[request.param]()
    yield created
    created.close()


def test_completes_with_one_terminal_event(backend: ChatBackend) -> None:
    contract.check_completes(backend)


def test_cancel_midway_ends_cancelled(backend: ChatBackend) -> None:
    events = contract.check_cancel_midway(backend)
    tokens = [e for e in events if isinstance(e, TokenDelta)]
    assert len(tokens) <= 4, f"cancellation took {len(tokens)} tokens"


def test_cancel_before_start(backend: ChatBackend) -> None:
    contract.check_cancel_before_start(backend)


def test_done_carries_usage(backend: ChatBackend) -> None:
    events = contract.check_completes(backend)
    done = events[-1]
    assert isinstance(done, Done)
    assert done.usage.completion_tokens > 0


def test_backends_never_import_the_ui() -> None:
    """Importing every backend module (and creating the scripted one) loads no UI library.

    rich is not checked here: httpx imports it for its own command line. lint-imports checks
    that our code never imports it.
    """
    code = (
        "import sys, importlib, pkgutil, backends\n"
        "for m in pkgutil.walk_packages(backends.__path__, 'backends.'):\n"
        "    importlib.import_module(m.name)\n"
        "from backends.scripted import ScriptedBackend; ScriptedBackend()\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in {'textual', 'tui', 'themes'})\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_registry_imports_nothing_heavy() -> None:
    """The registry and CLI import without torch/transformers (first frame before heavy imports)."""
    code = (
        "import sys, backends.registry, tui.cli, tui.app\n"
        "heavy = sorted(n for n in ('torch', 'transformers', 'lagent', 'openai') if n in sys.modules)\n"
        "print(heavy); sys.exit(1 if heavy else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
