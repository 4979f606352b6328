"""The ``kb_search`` agent tool: schema, numbered results, and bad arguments from a model."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from kb.knowledge import KnowledgeSet
from kb.tool import KbSearchTool
from testkit.kb import HashEmbedder, write_docs


@pytest.fixture
def tool(tmp_path: Path) -> KbSearchTool:
    knowledge = KnowledgeSet(HashEmbedder(), data_dir=tmp_path / "index")
    knowledge.add(write_docs(tmp_path / "docs"))
    knowledge.update()
    return KbSearchTool(knowledge)


def test_schema_is_valid_json_schema_and_search_returns_numbered_hits(tool: KbSearchTool) -> None:
    jsonschema.Draft202012Validator.check_schema(dict(tool.parameters))
    jsonschema.validate({"query": "部署", "top_k": 2}, dict(tool.parameters))
    out = tool.run(json.dumps({"query": "部署", "top_k": 2}))
    assert out.startswith("[1] guide/deploy.md:8\n使用LMDeploy部署模型")
    assert out.count("\n\n[") <= 1
    assert tool.run({"query": "basalt"}).startswith("[1] page.html:4-5")
    assert tool.run("basalt").startswith("[1] page.html")  # a bare string is the query


@pytest.mark.parametrize(
    "arguments",
    [
        "{not json",
        [1, 2],
        {"query": ""},
        {"query": 3},
        {"query": "x", "top_k": 0},
        {"query": "x", "top_k": True},
    ],
)
def test_bad_arguments_are_an_error_line(tool: KbSearchTool, arguments: object) -> None:
    assert tool.run(arguments).startswith("error:")  # type: ignore[arg-type]


def test_no_knowledge_base_attached() -> None:
    assert KbSearchTool(KnowledgeSet(None)).run({"query": "x"}) == "error: no knowledge base is attached"
