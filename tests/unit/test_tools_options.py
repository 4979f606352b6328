"""``--tools`` and ``--mcp-config`` (flags and config file), the chat's tool choice as stored
JSON, and registering a simple tool object (the knowledge base's ``kb_search`` shape)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from backends.agent.backend import AgentBackend
from backends.agent.tools import ToolSet, from_simple
from backends.base import BackendConfigError
from backends.options import AgentOptions
from backends.scripted import ScriptedBackend
from tui.chat_tools import ChatTools
from tui.cli import main, parse_settings


def mcp_file(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_mcp_config_from_the_flag_or_the_config_file(tmp_path: Path) -> None:
    good = mcp_file(tmp_path, {"mcpServers": {"fs": {"command": "true"}}})
    assert parse_settings(["--mcp-config", str(good)]).backend.agent.mcp_config == str(good)
    config = tmp_path / "config.toml"
    config.write_text(f'[agent]\nmcp_config = "{good}"\ntools = ["python", "fs__read"]\n', encoding="utf-8")
    agent = parse_settings(["--config", str(config)]).backend.agent
    assert agent.mcp_config == str(good) and agent.tools == ("python", "fs__read")
    assert parse_settings([]).backend.agent.tools == ()  # every tool by default


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "invalid JSON"),
        (json.dumps({"servers": {}}), "mcpServers"),
        (json.dumps({"mcpServers": {"x": {"url": "ftp://h"}}}), "http"),
    ],
)
def test_a_bad_mcp_config_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(content, encoding="utf-8")
    assert main(["--mcp-config", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0]
    assert main(["--mcp-config", str(tmp_path / "missing.json")]) == 2


def test_unknown_tool_names_are_refused_but_mcp_names_wait_for_their_server() -> None:
    with pytest.raises(BackendConfigError, match="unknown tool 'google'"):
        AgentBackend(ScriptedBackend(), AgentOptions(tools=("google",)))
    AgentBackend(ScriptedBackend(), AgentOptions(tools=("python", "fs__read")))


def test_chat_tools_round_trip_and_ignore_garbage() -> None:
    tools = ChatTools().choose(("python",)).remember("fs__write")
    assert ChatTools.from_dict(json.loads(json.dumps(tools.as_dict()))) == tools
    assert ChatTools().as_dict() == {}
    assert ChatTools.from_dict({"chosen": "python", "always": 3}) == ChatTools()
    assert tools.forget("fs__write").always == frozenset()


class KbSearch:
    """The shape of kb.tool's search: name, description, JSON-schema params, run(arguments) -> str."""

    name = "kb_search"
    description = "Search the attached knowledge base."
    parameters = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}

    def run(self, arguments: dict[str, Any]) -> str:
        if arguments.get("query") == "boom":
            raise RuntimeError("index missing")
        return f"3 passages about {arguments['query']}"


def test_a_simple_tool_object_registers_in_one_call_and_does_not_ask() -> None:
    tools = ToolSet()
    kb = tools.add(KbSearch())
    assert kb.name == "kb_search" and not kb.acts and kb.parameters["required"] == ["query"]
    assert kb.run({"query": "LoRA"}, threading.Event()).text == "3 passages about LoRA"
    failed = kb.run({"query": "boom"}, threading.Event())
    assert not failed.ok and "index missing" in failed.text
    assert from_simple(KbSearch(), acts=True).acts
