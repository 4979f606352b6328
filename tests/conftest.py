"""Shared fixtures (isolated user dirs, the real embedded model) and markers taken from the folder.

Each test gets the marker of its layer folder: unit, app, snapshots, e2e or slow. The fast
target (``make test-fast``) runs unit, app and snapshots; ``make test`` runs everything.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LAYERS = ("unit", "app", "snapshots", "e2e", "slow")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its layer folder; a test outside the layer folders is an error."""
    tests_dir = Path(__file__).resolve().parent
    for item in items:
        layer = item.path.resolve().relative_to(tests_dir).parts[0]
        if layer not in LAYERS:
            raise pytest.UsageError(f"{item.path}: tests live in one of tests/{{{','.join(LAYERS)}}}/")
        item.add_marker(getattr(pytest.mark, layer))


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Config and data go to temp dirs; the model cache stays shared so conversion runs once."""
    home = tmp_path_factory.mktemp("home")
    if "INTERNLM_TUI_CACHE_DIR" not in os.environ:
        from platformdirs import user_cache_path

        monkeypatch.setenv("INTERNLM_TUI_CACHE_DIR", str(user_cache_path("internlm-tui")))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("TERM", "xterm-256color")  # the default theme depends on the colours TERM offers
    monkeypatch.delenv("COLORTERM", raising=False)
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.setenv("INTERNLM_TUI_DB", str(home / "history.sqlite3"))


@pytest.fixture(scope="session")
def embedded_model_dir() -> Iterator[Path]:
    """The embedded model converted to safetensors (converts on the first run only)."""
    from platformdirs import user_cache_path

    os.environ.setdefault("INTERNLM_TUI_CACHE_DIR", str(user_cache_path("internlm-tui")))
    from backends.local.embedded import convert_gguf, embedded_gguf_path

    yield convert_gguf(embedded_gguf_path())


from testkit.serve import tiny_vision_dir, transformers_server, vision_server  # noqa: E402, F401  (session fixtures)
