"""The MCP client against real server processes (``testkit.mcp_server``, the SDK's server side):
stdio and streamable HTTP, a server that dies mid-call, images, hostile names and results, a
clean environment, stderr kept off our terminal, and calls through the agent's approval gate."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator

import pytest

from backends.agent.backend import AgentBackend
from backends.agent.files_out import sniff_image
from backends.agent.mcp_client import McpConfigError, McpHub, ServerConfig, parse_config
from backends.agent.tools import MAX_NAME, ToolSet, safe_name
from backends.events import ApprovalRequest, BackendEvent, ChatMessage, GenerationParams, ToolResult
from backends.options import AgentOptions
from backends.scripted import ScriptedBackend
from testkit.agent import words
from testkit.mcp import http_server, running_hub, stdio_config

GO = threading.Event()


@pytest.fixture(scope="module")
def hub() -> Iterator[tuple[McpHub, ToolSet]]:
    with running_hub(stdio_config("test", OUR_SECRET_GIVEN="yes")) as running:
        yield running


def test_a_stdio_server_starts_and_its_tools_are_named_server__tool(hub: tuple[McpHub, ToolSet]) -> None:
    mcp, tools = hub
    (status,) = mcp.statuses()
    assert status.state == "ready" and status.transport == "stdio"
    assert "test__add" in tools.names() and set(status.tools) == set(tools.names())
    add = tools.get("test__add")
    assert add is not None and add.acts and add.server == "test"
    assert add.parameters["properties"].keys() == {"a", "b"}
    assert add.run({"a": 2, "b": 40}, GO).text == "42"


def test_the_server_gets_a_clean_environment(
    hub: tuple[McpHub, ToolSet], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = hub[1].get("test__env")
    assert env is not None
    names = env.run({}, GO).text.split()
    assert "OUR_SECRET_GIVEN" in names and "PATH" in names  # what the config gave, and the basics
    assert not [n for n in names if n.endswith(("_KEY", "_TOKEN")) or n.startswith(("OPENAI", "SSH_"))]


def test_stderr_of_a_server_never_reaches_our_terminal(capfd: pytest.CaptureFixture[str]) -> None:
    with running_hub(stdio_config("quiet")) as (mcp, _tools):
        assert mcp.statuses()[0].state == "ready"
    out, err = capfd.readouterr()
    assert "PWNED-STDERR" not in out + err


def test_an_image_result_becomes_an_attachment_checked_by_content(hub: tuple[McpHub, ToolSet]) -> None:
    tools = hub[1]
    picture, fake = tools.get("test__picture"), tools.get("test__fake_picture")
    assert picture is not None and fake is not None
    out = picture.run({}, GO)
    (image,) = out.attachments
    assert image.mime == "image/png" and image.data.startswith(b"\x89PNG") and "/" not in image.name
    assert "image 1" in out.text
    faked = fake.run({}, GO)
    assert faked.attachments == () and "not one" in faked.text
    assert sniff_image(b"#!/bin/sh") is None and sniff_image(b"GIF89a...") == "image/gif"


def test_a_hostile_tool_name_is_sanitised_and_its_text_kept_for_the_sanitiser(
    hub: tuple[McpHub, ToolSet],
) -> None:
    tools = hub[1]
    hostile = [t for t in tools if "hostile" in t.name]
    assert [t.name for t in hostile] == ["test__hostile_2J_tool_with_spaces"]
    assert "PWNED-TITLE" in hostile[0].description  # raw here: tui/sanitize.py draws it
    assert "PWNED-CLEAR" in hostile[0].run({"text": "x"}, GO).text


def test_a_server_that_dies_mid_call_is_one_error_and_the_other_tools_keep_working() -> None:
    with running_hub(stdio_config("a"), stdio_config("b")) as (mcp, tools):
        crash, other = tools.get("a__crash"), tools.get("b__add")
        assert crash is not None and other is not None
        out = crash.run({}, GO)
        assert not out.ok and "failed during the call" in out.text
        status = mcp.status("a")
        assert status is not None and status.state == "died"
        assert "a__add" not in tools.names()
        assert other.run({"a": 1, "b": 2}, GO).text == "3"
        assert mcp.status("b").state == "ready"  # type: ignore[union-attr]


def test_servers_that_cannot_start_are_failed_with_a_reason() -> None:
    exits = ServerConfig("exits", sys.executable, ("-c", "import sys; print('no luck', file=sys.stderr)"))
    with running_hub(ServerConfig("missing", "/nonexistent/mcp-server"), exits) as (mcp, tools):
        missing, gone = mcp.status("missing"), mcp.status("exits")
        assert missing is not None and missing.state == "failed" and "command not found" in missing.reason
        assert gone is not None and gone.state == "failed" and "no luck" in gone.reason
        assert len(tools) == 0


def test_a_cancelled_call_returns_at_once() -> None:
    with running_hub(stdio_config("s")) as (_mcp, tools):
        slow = tools.get("s__slow")
        assert slow is not None
        cancel = threading.Event()
        threading.Timer(0.3, cancel.set).start()
        out = slow.run({"seconds": 30}, cancel)
        assert not out.ok and out.text == "cancelled"


def test_a_streamable_http_server_on_loopback() -> None:
    with http_server() as url, running_hub(ServerConfig("web", url=url)) as (mcp, tools):
        assert mcp.statuses()[0].state == "ready" and mcp.statuses()[0].transport == "http"
        add = tools.get("web__add")
        assert add is not None and add.run({"a": 4, "b": 5}, GO).text == "9"
        assert tools.get("web__picture").run({}, GO).attachments  # type: ignore[union-attr]


def test_config_parsing() -> None:
    configs = parse_config(
        {
            "mcpServers": {
                "fs": {"command": "npx", "args": ["-y", "server"], "env": {"A": "1"}},
                "web": {"url": "https://example.org/mcp", "headers": {"X": "y"}},
                "off": {"command": "x", "disabled": True},
            }
        }
    )
    assert [(c.name, c.transport) for c in configs] == [("fs", "stdio"), ("web", "http")]
    for bad in (
        {},
        {"mcpServers": {"x": {}}},
        {"mcpServers": {"x": {"command": "a", "args": [1]}}},
        {"mcpServers": {"x": {"url": "file:///etc/passwd"}}},
    ):
        with pytest.raises(McpConfigError):
            parse_config(bad)


def test_names_are_openai_function_names_and_collisions_get_a_suffix() -> None:
    long = safe_name("s" * 40 + "__" + "t" * 60)
    assert len(long) == MAX_NAME
    assert safe_name("a b/c\x1b") == "a_b_c"
    assert safe_name(long, [long]) != long and len(safe_name(long, [long])) == MAX_NAME
    assert safe_name("x__y", ["x__y", "x__y_2"]) == "x__y_3"


def _agent_turn(
    tools: ToolSet, script: list[str], answer: tuple[bool, str]
) -> tuple[list[BackendEvent], ScriptedBackend]:
    llm = ScriptedBackend([words(t) for t in script])
    agent = AgentBackend(llm, AgentOptions(approve="ask"), tools=tools)
    events: list[BackendEvent] = []
    for event in agent.stream([ChatMessage("user", "add")], GenerationParams(), cancel=threading.Event()):
        events.append(event)
        if isinstance(event, ApprovalRequest):
            agent.answer(event.call_id, *answer)
    return events, llm


CALL_ADD = 'Thought: add them\nAction: test__add\nAction Input: {"a": 2, "b": 3}\n'


def test_an_mcp_call_is_approved_with_its_server_and_arguments_shown(hub: tuple[McpHub, ToolSet]) -> None:
    events, llm = _agent_turn(hub[1], [CALL_ADD, "Thought: done\nFinal Answer: 5"], (True, ""))
    request = next(e for e in events if isinstance(e, ApprovalRequest))
    assert request.server == "test" and request.language == "json" and request.intact
    assert json.loads(request.code) == {"a": 2, "b": 3}
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.ok and result.output == "5"
    assert "test__add" in llm.seen[0][0].content  # described to the model
    assert "Response:5" in "\n".join(m.content for m in llm.seen[1])


def test_a_denial_with_a_reason_reaches_the_model(hub: tuple[McpHub, ToolSet]) -> None:
    events, llm = _agent_turn(hub[1], [CALL_ADD, "Thought: ok\nFinal Answer: fine"], (False, "use 7 instead"))
    result = next(e for e in events if isinstance(e, ToolResult))
    assert not result.ok and "use 7 instead" in result.output
    assert "use 7 instead" in "\n".join(m.content for m in llm.seen[1])
