"""Server-side tool calling against a loopback OpenAI-compatible server: ``tools`` sent,
``tool_calls`` streamed in pieces (id and name first, arguments split, two calls by index),
results sent back as ``role: "tool"`` with the right ``tool_call_id``; a server that rejects
``tools`` gets the ReAct prompt (remembered); raw InternLM2 plugin text in ``content`` is parsed."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from typing import Any

from backends.agent.backend import AgentBackend
from backends.agent.tools import FunctionTool, ToolOutput, ToolSet
from backends.events import (
    ApprovalRequest,
    BackendEvent,
    ChatMessage,
    Done,
    GenerationParams,
    ToolCall,
    ToolResult,
)
from backends.options import AgentOptions
from testkit.fault_server import connect as connect_remote
from testkit.fault_server import fault_server, head, json_response, sse


def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice: dict[str, Any] = {"index": 0, "delta": delta}
    if finish:
        choice["finish_reason"] = finish
    return f"data: {json.dumps({'choices': [choice]})}\n\n".encode()


def call_piece(
    index: int, *, id: str | None = None, name: str | None = None, args: str | None = None
) -> bytes:
    piece: dict[str, Any] = {"index": index}
    if id is not None:
        piece["id"] = id
        piece["type"] = "function"
    function: dict[str, Any] = {}
    if name is not None:
        function["name"] = name
    if args is not None:
        function["arguments"] = args
    piece["function"] = function
    return chunk({"tool_calls": [piece]})


def two_calls_then_answer(conn: socket.socket, attempt: int) -> None:
    conn.sendall(head())
    if attempt == 1:
        conn.sendall(chunk({"role": "assistant", "content": ""}))
        conn.sendall(call_piece(0, id="srv-a", name="add"))
        conn.sendall(call_piece(0, args='{"a": 2,'))
        conn.sendall(call_piece(1, id="srv-b", name="shout", args='{"text"'))
        conn.sendall(call_piece(0, args=' "b": 3}'))
        conn.sendall(call_piece(1, args=': "hi"}'))
        conn.sendall(chunk({}, finish="tool_calls"))
    else:
        conn.sendall(sse("The sum is 5."))
        conn.sendall(sse(finish="stop"))
    conn.sendall(b"data: [DONE]\n\n")


def tools() -> ToolSet:
    def add(arguments: dict[str, Any], cancel: threading.Event) -> ToolOutput:
        return ToolOutput(str(arguments["a"] + arguments["b"]))

    def shout(arguments: dict[str, Any], cancel: threading.Event) -> ToolOutput:
        return ToolOutput(str(arguments["text"]).upper())

    return ToolSet(
        [
            FunctionTool(
                "add", "Add two integers.", {"type": "object", "properties": {"a": {}, "b": {}}}, add
            ),
            FunctionTool("shout", "Upper-case text.", {"type": "object", "properties": {"text": {}}}, shout),
        ]
    )


def agent_over(base_url: str, approve: str = "auto") -> AgentBackend:
    return AgentBackend(connect_remote(base_url), AgentOptions(approve=approve), tools=tools())  # type: ignore[arg-type]


def turn(
    agent: AgentBackend, answer: Callable[[ApprovalRequest], tuple[bool, str]] | None = None
) -> list[BackendEvent]:
    events: list[BackendEvent] = []
    for event in agent.stream(
        [ChatMessage("user", "add 2 and 3")], GenerationParams(), cancel=threading.Event()
    ):
        events.append(event)
        if isinstance(event, ApprovalRequest) and answer is not None:
            agent.answer(event.call_id, *answer(event))
    return events


def test_streamed_tool_calls_run_and_their_results_go_back_with_their_ids() -> None:
    with fault_server(two_calls_then_answer) as server:
        agent = agent_over(server.base_url)
        events = turn(agent)
    first, second = server.posts[0].body, server.posts[1].body
    assert sorted(t["function"]["name"] for t in first["tools"]) == ["add", "python", "shout"]
    assert all(t["type"] == "function" and "parameters" in t["function"] for t in first["tools"])
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("add", {"a": 2, "b": 3}),
        ("shout", {"text": "hi"}),
    ]
    assert [r.output for r in events if isinstance(r, ToolResult)] == ["5", "HI"]
    messages = second["messages"]
    assistant = messages[-3]
    assert assistant["role"] == "assistant"
    assert [(c["id"], c["function"]["name"]) for c in assistant["tool_calls"]] == [
        ("srv-a", "add"),
        ("srv-b", "shout"),
    ]
    assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {"a": 2, "b": 3}
    assert messages[-2] == {"role": "tool", "content": "5", "tool_call_id": "srv-a"}
    assert messages[-1] == {"role": "tool", "content": "HI", "tool_call_id": "srv-b"}
    assert isinstance(events[-1], Done)


def test_a_denial_reason_goes_back_as_the_tool_result() -> None:
    with fault_server(two_calls_then_answer) as server:
        agent = agent_over(server.base_url, approve="ask")
        turn(agent, lambda request: (request.name == "shout", "not with those numbers"))
    messages = server.posts[1].body["messages"]
    assert messages[-2]["tool_call_id"] == "srv-a" and "not with those numbers" in messages[-2]["content"]
    assert messages[-1] == {"role": "tool", "content": "HI", "tool_call_id": "srv-b"}


def rejects_tools(conn: socket.socket, attempt: int) -> None:
    if attempt == 1:
        conn.sendall(json_response(400, '{"error": {"message": "tools are not supported"}}'))
        return
    conn.sendall(head())
    conn.sendall(sse("Thought: easy\nFinal Answer: 5"))
    conn.sendall(sse(finish="stop"))
    conn.sendall(b"data: [DONE]\n\n")


def test_a_server_that_rejects_tools_gets_the_react_prompt_and_it_is_remembered() -> None:
    with fault_server(rejects_tools) as server:
        agent = agent_over(server.base_url)
        events = turn(agent)
        again = turn(agent)
    bodies = [p.body for p in server.posts]
    assert "tools" in bodies[0] and "tools" not in bodies[1] and "tools" not in bodies[2]
    assert "Action Input" in json.dumps(bodies[1]["messages"])  # the ReAct prompt
    assert isinstance(events[-1], Done) and isinstance(again[-1], Done)


def raw_plugin_text(conn: socket.socket, attempt: int) -> None:
    conn.sendall(head())
    if attempt == 1:
        call = '{"name": "add", "parameters": {"a": 1, "b": 2}}'
        text = f"Let me add.<|action_start|><|plugin|>{call}<|action_end|>"
        for i in range(0, len(text), 7):
            conn.sendall(sse(text[i : i + 7]))
    else:
        conn.sendall(sse("It is 3."))
    conn.sendall(sse(finish="stop"))
    conn.sendall(b"data: [DONE]\n\n")


def test_raw_internlm_plugin_text_in_content_is_parsed_as_a_call() -> None:
    with fault_server(raw_plugin_text) as server:
        events = turn(agent_over(server.base_url))
    assert [r.output for r in events if isinstance(r, ToolResult)] == ["3"]
    shown = "".join(e.text for e in events if hasattr(e, "text") and type(e).__name__ == "TokenDelta")
    assert "<|action_start|>" not in shown and "Let me add." in shown and "It is 3." in shown
    messages = server.posts[1].body["messages"]
    assert messages[-1]["role"] == "tool" and messages[-1]["content"] == "3"
    assert messages[-2]["tool_calls"][0]["id"] == messages[-1]["tool_call_id"]
