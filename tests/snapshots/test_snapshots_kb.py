"""Snapshots of the knowledge base in the app: a grounded reply with its sources line (80x24),
the sources screen, and the Knowledge base screen with a folder's status."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from backends.events import Done
from kb.embed import Embedder
from testkit.app import ready_screen, scripted_app, settle, tokens, wait_for
from testkit.kb import HashEmbedder, write_docs
from tui.screens.chat import ChatScreen
from tui.settings import AppSettings
from tui.widgets.assistant_message import AssistantMessage


@pytest.fixture(autouse=True)
def _hash_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    def make(model: str | None) -> Embedder:
        return HashEmbedder()

    monkeypatch.setattr("tui.kb_controller.make_embedder", make)


def _docs(name: str) -> Path:
    """A fixed folder (its path is drawn on screen, so it must not change between runs)."""
    folder = Path(tempfile.gettempdir()) / f"internlm-tui-snapshot-{name}"
    shutil.rmtree(folder, ignore_errors=True)
    return write_docs(folder)


async def _grounded(pilot: Pilot[None]) -> ChatScreen:
    screen = await ready_screen(pilot)
    knowledge = screen.session.knowledge
    await wait_for(pilot, lambda: bool(knowledge) and knowledge is not None and not knowledge.indexing)
    await pilot.app.workers.wait_for_complete()
    await settle(pilot)
    pilot.app.clear_notifications()
    await pilot.press(*"which port does the api server listen on", "enter")
    await wait_for(pilot, lambda: not screen.busy and bool(screen.query(AssistantMessage)))
    await settle(pilot)
    return screen


def test_grounded_reply_with_sources_80x24(snap_compare: Any) -> None:
    reply = [*tokens("It listens on port 23333 [1]."), Done("stop")]
    app, _ = scripted_app([reply], settings=AppSettings(kb_folders=(_docs("reply"),)))
    assert snap_compare(app, terminal_size=(80, 24), run_before=_grounded)


def test_sources_screen(snap_compare: Any) -> None:
    reply = [*tokens("It listens on port 23333 [1]."), Done("stop")]
    app, _ = scripted_app([reply], settings=AppSettings(kb_folders=(_docs("sources"),)))

    async def run_before(pilot: Pilot[None]) -> None:
        await _grounded(pilot)
        await pilot.press("f11")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_knowledge_base_screen(snap_compare: Any) -> None:
    folder = _docs("manager")
    (folder / "image.png").write_bytes(b"\x89PNG")
    (folder / "latin1.txt").write_bytes("café".encode("latin-1"))
    app, _ = scripted_app(settings=AppSettings(kb_folders=(folder,)))

    async def run_before(pilot: Pilot[None]) -> None:
        screen = await ready_screen(pilot)
        knowledge = screen.session.knowledge
        await wait_for(pilot, lambda: bool(knowledge) and knowledge is not None and not knowledge.indexing)
        await pilot.app.workers.wait_for_complete()
        await settle(pilot)
        pilot.app.clear_notifications()
        await pilot.press("f10")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
