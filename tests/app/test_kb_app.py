"""A grounded answer in the app: a small folder attached with --kb, a scripted model citing [1].

The embedder is ``testkit.kb.HashEmbedder`` (a real bag-of-words embedding, no neural model),
so indexing and hybrid retrieval run for real in the app's worker threads.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from backends.events import Done
from kb.embed import Embedder
from testkit.app import ready_screen, scripted_app, settle, tokens, wait_for
from testkit.hostile_text import HOSTILE
from testkit.kb import HashEmbedder, write_docs
from tui.screens.chat import ChatScreen
from tui.screens.kb_sources import SourcesScreen
from tui.screens.knowledge_base import KnowledgeBaseScreen
from tui.settings import AppSettings
from tui.widgets.assistant_message import AssistantMessage
from tui.widgets.kb_progress import KbProgressBar
from tui.widgets.trace_panel import TracePanel, TraceStep


@pytest.fixture(autouse=True)
def _hash_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    def make(model: str | None) -> Embedder:
        return HashEmbedder()

    monkeypatch.setattr("tui.kb_controller.make_embedder", make)


def _indexed(screen: ChatScreen, files: int) -> bool:
    knowledge = screen.session.knowledge
    return bool(knowledge) and not knowledge.indexing and sum(s.files for s in knowledge.statuses()) == files


async def test_grounded_answer_cites_sources_with_file_and_lines(tmp_path: Path) -> None:
    docs = write_docs(tmp_path / "docs")
    reply = [*tokens("The server listens on port 23333 [1]."), Done("stop")]
    app, backend = scripted_app([reply], settings=AppSettings(kb_folders=(docs,), system="Be brief."))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready_screen(pilot)
        await wait_for(pilot, lambda: _indexed(screen, 4))
        question = "which port does the api server listen on?"
        await pilot.press(*question, "enter")
        await wait_for(pilot, lambda: not screen.busy and bool(screen.query(AssistantMessage)))
        await settle(pilot)

        sent = backend.seen[-1]
        assert sent[0].role == "system"
        assert sent[0].content.startswith("Be brief.")  # the user's own system prompt first
        assert "[1] guide/deploy.md:3-4" in sent[0].content and "23333" in sent[0].content
        assert sent[-1].role == "user" and sent[-1].content == question  # sent as typed
        stored = [m.content for m in screen.session.conversation.messages if m.role == "user"]
        assert stored == [question]  # and kept as typed (no sources in the chat)

        note = screen.query_one(AssistantMessage)._note_text
        assert "sources: [1] guide/deploy.md:3-4" in note
        steps = [s for s in screen.query_one(TracePanel).query(TraceStep) if s.data.kind == "sources"]
        assert len(steps) == 1
        shown = steps[0].plain_text(100)
        assert "kb search" in shown and "[1] guide/deploy.md:3-4" in shown and "bm25 #1" in shown

        await pilot.press("f11")
        await wait_for(pilot, lambda: isinstance(app.screen, SourcesScreen))
        excerpt = str(app.screen.query_one("#excerpt").render())
        assert "guide/deploy.md:3-4" in excerpt and "port 23333" in excerpt
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))


async def test_without_a_knowledge_base_nothing_changes(tmp_path: Path) -> None:
    app, backend = scripted_app([[*tokens("plain [1]"), Done("stop")]])
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready_screen(pilot)
        await pilot.press(*"hello", "enter")
        await wait_for(pilot, lambda: not screen.busy and bool(screen.query(AssistantMessage)))
        assert [m.role for m in backend.seen[-1]] == ["user"]
        assert "sources" not in screen.query_one(AssistantMessage)._note_text
        await pilot.press("f11")
        await settle(pilot)
        assert isinstance(app.screen, ChatScreen)  # nothing to show: a notification, no screen


async def test_hostile_file_names_and_passages_are_drawn_sanitised(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    name = "evil\x1b]0;PWNED-TITLE\x07\x9b2J.md"
    (docs / name).write_text(f"# Volcano {HOSTILE[:-20]}\n\nvolcano basalt {HOSTILE[:60]}\n")
    app, _ = scripted_app([[*tokens("Basalt [1]."), Done("stop")]], settings=AppSettings(kb_folders=(docs,)))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready_screen(pilot)
        await wait_for(pilot, lambda: _indexed(screen, 1))
        await pilot.press(*"volcano basalt", "enter")
        await wait_for(pilot, lambda: not screen.busy and bool(screen.query(AssistantMessage)))
        await settle(pilot)
        note = str(screen.query_one(AssistantMessage).query_one(".note").render())
        step = next(s for s in screen.query_one(TracePanel).query(TraceStep) if s.data.kind == "sources")
        await pilot.press("f11")
        await wait_for(pilot, lambda: isinstance(app.screen, SourcesScreen))
        excerpt = str(app.screen.query_one("#excerpt").render())
        for shown in (note, step.plain_text(100), excerpt):
            assert "evil" in shown
            for raw in ("\x1b", "\x07", "\x9b", "\x85"):
                assert raw not in shown


async def test_knowledge_base_screen_adds_a_folder_and_shows_status(tmp_path: Path) -> None:
    docs = write_docs(tmp_path / "docs")
    (docs / "blob.bin").write_bytes(b"\x00\x01")
    app, _ = scripted_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready_screen(pilot)
        await pilot.press("f10")
        await wait_for(pilot, lambda: isinstance(app.screen, KnowledgeBaseScreen))
        await pilot.press(*str(docs), "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
        await wait_for(pilot, lambda: _indexed(screen, 4))
        await app.workers.wait_for_complete()
        await settle(pilot)
        await pilot.press("f10")
        await wait_for(pilot, lambda: isinstance(app.screen, KnowledgeBaseScreen))
        kb_screen = app.screen
        assert isinstance(kb_screen, KnowledgeBaseScreen)
        assert kb_screen.statuses[0].files == 4
        assert kb_screen.statuses[0].skipped == {"unsupported type": 1}
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
        assert not screen.session.knowledge


class _SlowEmbedder(HashEmbedder):
    """Takes a quarter of a second per batch, like a real model on a small CPU."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def encode(self, texts: list[str]) -> Any:
        self.calls += 1
        time.sleep(0.25)
        return super().encode(texts)


async def test_quitting_while_indexing_stops_the_indexing_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = write_docs(tmp_path / "docs", {f"n{i}.md": f"# Note {i}\n\nword{i} text\n" for i in range(200)})
    slow = _SlowEmbedder()
    monkeypatch.setattr("tui.kb_controller.make_embedder", lambda model: slow)
    app, _ = scripted_app(settings=AppSettings(kb_folders=(docs,)))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready_screen(pilot)
        bar = screen.query_one(KbProgressBar)
        await wait_for(pilot, lambda: slow.calls >= 1 and bar.display)  # embedding has begun
        knowledge = screen.session.knowledge
        assert knowledge is not None and knowledge.indexing
        started = time.monotonic()
        await app.action_quit()
    await asyncio.wait_for(asyncio.to_thread(_wait_idle, knowledge), timeout=5)
    assert time.monotonic() - started < 5
    assert slow.calls < 200 / 16  # stopped well before every passage was embedded


def _wait_idle(knowledge: Any) -> None:
    while knowledge.indexing:
        time.sleep(0.02)
