"""``--model ORG/NAME`` from a (fake) hub: the loading panel shows bytes, rate and time left; Esc
cancels the download, keeps its part for next time, and the app stays usable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static

from backends.options import BackendOptions
from testkit.app import wait_for
from testkit.fake_hub import FakeHub, fake_hub, tiny_repo
from tui.app import InternLMApp
from tui.screens.chat import ChatScreen
from tui.settings import AppSettings
from tui.widgets.loading_panel import LoadingPanel


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 16384)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with fake_hub({"org/tiny": tiny_repo(3_000_000)}) as served:
        # what HF_ENDPOINT sets when the library is imported (it is imported already here)
        monkeypatch.setattr(constants, "ENDPOINT", served.endpoint)
        template = served.endpoint + "/{repo_id}/resolve/{revision}/{filename}"
        monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)
        served.chunk_delay_s = 0.01
        yield served


def stage_text(app: InternLMApp) -> str:
    return str(app.screen.query_one(LoadingPanel).query_one(".stage", Static).render())


async def test_download_progress_in_the_loading_panel_and_esc_cancels(hub: FakeHub, tmp_path: Path) -> None:
    app = InternLMApp(AppSettings(backend=BackendOptions(model="org/tiny"), db_path=tmp_path / "h.db"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: " / 3.0 MB" in stage_text(app) and "/s" in stage_text(app))
        text = stage_text(app)
        assert text.startswith("Downloading org/tiny: ") and "left" in text
        assert screen.check_action("stop", ()) is True
        await pilot.press("escape")
        await wait_for(pilot, lambda: "download cancelled" in stage_text(app))
        assert "resumes next time" in stage_text(app)
        assert screen.session.backend is None and not screen.loading_backend
        parts = list((tmp_path / "hub").rglob("*.part"))
        assert parts and 0 < parts[0].stat().st_size < 3_000_000
        await pilot.press(*"still typing")  # the app stays usable
        await pilot.press("ctrl+q")
    assert app.return_code in (0, None)
