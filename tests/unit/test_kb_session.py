"""``ChatSession.ground``: the question's passages go into what is sent, never into the chat."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from backends.scripted import ScriptedBackend
from kb.knowledge import KnowledgeSet
from testkit.kb import HashEmbedder, write_docs
from tui.session import ChatSession, Submitted
from tui.settings import AppSettings
from tui.store.store import HistoryStore, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    opened = open_store(tmp_path / "h.sqlite3")
    yield opened
    opened.close()


def _session(store: HistoryStore, tmp_path: Path, backend: ScriptedBackend) -> ChatSession:
    session = ChatSession(AppSettings(system="Be brief."), store)
    session.backend_ready(backend)
    session.knowledge = KnowledgeSet(HashEmbedder(), data_dir=tmp_path / "index")
    session.knowledge.add(write_docs(tmp_path / "docs"))
    return session


def test_ground_sends_sources_and_keeps_the_conversation_as_typed(
    store: HistoryStore, tmp_path: Path
) -> None:
    session = _session(store, tmp_path, ScriptedBackend())
    assert session.submit("怎么部署模型") is Submitted.START
    turn = session.begin_turn()
    hits = session.ground(turn)  # also indexes the folder (a refresh before the question)
    assert hits and hits[0].path == "guide/deploy.md" and turn.sources == hits
    assert [m.role for m in turn.messages] == ["system", "user"]
    assert (
        turn.messages[0].content.startswith("Be brief.\n\n")
        and "[1] guide/deploy.md:8" in turn.messages[0].content
    )
    assert turn.messages[1].content == "怎么部署模型"
    assert [m.content for m in session.conversation.for_backend()] == ["Be brief.", "怎么部署模型"]


def test_no_grounding_for_an_agent_or_a_cancelled_turn(store: HistoryStore, tmp_path: Path) -> None:
    agent = ScriptedBackend()
    agent.info = replace(agent.info, capabilities=frozenset({"tools"}))
    session = _session(store, tmp_path, agent)
    session.submit("怎么部署模型")
    turn = session.begin_turn()
    sent = list(turn.messages)
    assert session.ground(turn) == [] and turn.messages == sent and turn.sources == []

    plain = _session(store, tmp_path / "two", ScriptedBackend())
    plain.submit("部署")
    cancelled = plain.begin_turn()
    cancelled.cancel.set()
    assert plain.ground(cancelled) == []
