"""With a knowledge base attached, the agent gets ``kb_search`` (kb.tool) as a tool: described
to the model, run without an approval dialog (it only reads the index), its passages returned."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.agent.backend import AgentBackend
from backends.events import ApprovalRequest, GenerationParams, ToolResult
from backends.options import AgentOptions
from backends.scripted import ScriptedBackend
from kb.knowledge import KnowledgeSet
from testkit.agent import words
from testkit.kb import HashEmbedder, write_docs
from tui.session import KB_SEARCH, ChatSession
from tui.settings import AppSettings
from tui.store.store import HistoryStore, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    opened = open_store(tmp_path / "h.sqlite3")
    yield opened
    opened.close()


CALL = 'Thought: look it up\nAction: kb_search\nAction Input: {"query": "怎么部署模型"}\n'


def test_an_attached_knowledge_base_becomes_the_agents_kb_search_tool(
    store: HistoryStore, tmp_path: Path
) -> None:
    llm = ScriptedBackend([words(CALL), words("Thought: found\nFinal Answer: see [1]")])
    agent = AgentBackend(llm, AgentOptions(approve="ask"))
    session = ChatSession(AppSettings(), store)
    session.backend_ready(agent)
    session.offer_kb_tool()
    assert KB_SEARCH not in agent.tools  # nothing attached yet
    session.knowledge = KnowledgeSet(HashEmbedder(), data_dir=tmp_path / "index")
    session.knowledge.add(write_docs(tmp_path / "docs"))
    session.knowledge.refresh(threading.Event())
    session.submit("怎么部署模型")
    turn = session.begin_turn()
    tool = agent.tools.get(KB_SEARCH)
    assert tool is not None and not tool.acts
    events = list(agent.stream(turn.messages, GenerationParams(), cancel=threading.Event()))
    assert not any(isinstance(e, ApprovalRequest) for e in events)
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.ok and result.output.startswith("[1] guide/deploy.md")
    assert "kb_search" in llm.seen[0][0].content
