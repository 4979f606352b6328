"""The ReAct loop (Lagent's protocol and executor) driven by scripted LLM transcripts and the
real sandbox."""

from __future__ import annotations

import threading

import pytest

from backends.agent.backend import AgentBackend
from backends.agent.code import normalise_code
from backends.agent.react import to_chat_messages
from backends.agent.sandbox import SandboxLimits
from backends.events import (
    ApprovalRequest,
    BackendEvent,
    ChatMessage,
    Done,
    Error,
    GenerationParams,
    ThoughtDelta,
    TokenDelta,
    ToolCall,
    ToolResult,
)
from backends.options import AgentOptions
from backends.scripted import ScriptedBackend
from testkit.agent import ANSWER, SOLVE, words


def run(
    turns: list[str],
    *,
    approve: str = "auto",
    answer: bool | None = True,
    max_steps: int = 4,
    cancel: threading.Event | None = None,
) -> tuple[list[BackendEvent], ScriptedBackend]:
    llm = ScriptedBackend([words(t) for t in turns])
    agent = AgentBackend(
        llm,
        AgentOptions(approve=approve, max_steps=max_steps),  # type: ignore[arg-type]
        limits=SandboxLimits(wall_s=5, cpu_s=3),
    )
    events: list[BackendEvent] = []
    stream = agent.stream(
        [ChatMessage("user", "2x+3=10, find x")], GenerationParams(), cancel=cancel or threading.Event()
    )
    for event in stream:
        events.append(event)
        if isinstance(event, ApprovalRequest) and answer is not None:
            agent.answer(event.call_id, answer)
    return events, llm


def text_of(events: list[BackendEvent], kind: type[TokenDelta] | type[ThoughtDelta]) -> str:
    return "".join(e.text for e in events if isinstance(e, kind))


def test_solves_2x_plus_3_with_the_sandbox() -> None:
    events, llm = run([SOLVE, ANSWER])
    calls = [e for e in events if isinstance(e, ToolCall)]
    results = [e for e in events if isinstance(e, ToolResult)]
    assert [(c.name, c.arguments) for c in calls] == [("python", "x = (10 - 3) / 2\nprint(x)")]
    assert results[0].ok and results[0].output == "3.5"
    assert results[0].elapsed_s is not None
    assert text_of(events, TokenDelta) == "x = 3.5"
    assert "solve 2x+3=10" in text_of(events, ThoughtDelta)
    assert isinstance(events[-1], Done) and events[-1].reason == "stop"
    # The tool's output went back to the model in the second prompt, and the stop words were set.
    second = "\n".join(m.content for m in llm.seen[1])
    assert "Response:3.5" in second
    assert llm.seen[0][0].role == "system" and "python" in llm.seen[0][0].content


def test_asks_before_running_and_a_denial_goes_back_to_the_model() -> None:
    events, llm = run([SOLVE, ANSWER], approve="ask", answer=False)
    requests = [e for e in events if isinstance(e, ApprovalRequest)]
    assert requests and requests[0].code == "x = (10 - 3) / 2\nprint(x)"
    result = next(e for e in events if isinstance(e, ToolResult))
    assert not result.ok and "denied" in result.output
    assert "did not allow" in "\n".join(m.content for m in llm.seen[1])
    assert isinstance(events[-1], Done)


def test_approved_code_runs() -> None:
    events, _ = run([SOLVE, ANSWER], approve="ask", answer=True)
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.ok and result.output == "3.5"


def test_cancel_while_waiting_for_approval_runs_nothing() -> None:
    cancel = threading.Event()
    llm = ScriptedBackend([words(SOLVE)])
    agent = AgentBackend(llm, AgentOptions(approve="ask"))
    events = []
    for event in agent.stream([ChatMessage("user", "q")], GenerationParams(), cancel=cancel):
        events.append(event)
        if isinstance(event, ApprovalRequest):
            cancel.set()
    assert isinstance(events[-1], Done) and events[-1].reason == "cancelled"
    assert [e.output for e in events if isinstance(e, ToolResult)] == ["cancelled before it ran"]


def test_unknown_tool_ends_the_turn() -> None:
    events, _ = run(["Thought: search\nAction: google\nAction Input: weather\n"])
    assert isinstance(events[-1], Error) and "unknown tool 'google'" in events[-1].message
    assert any(isinstance(e, ToolResult) and not e.ok for e in events)


def test_malformed_action_ends_the_turn() -> None:
    events, _ = run(["Thought: hmm\nAction: python\n"])
    assert isinstance(events[-1], Error) and "malformed action" in events[-1].message


def test_plain_reply_is_taken_as_the_answer() -> None:
    events, _ = run(["The answer is 3.5."])
    assert text_of(events, TokenDelta) == "The answer is 3.5."
    assert text_of(events, ThoughtDelta).startswith("The answer is 3.5.\n[no Action")
    assert isinstance(events[-1], Done)


def test_endless_steps_stop_at_the_limit() -> None:
    events, _ = run([SOLVE] * 3, max_steps=3)
    assert isinstance(events[-1], Error) and "after 3 steps" in events[-1].message
    assert sum(isinstance(e, ToolResult) for e in events) == 3


def test_failing_code_is_reported_to_the_model() -> None:
    bad = "Thought: t\nAction: python\nAction Input: 1/0\n"
    events, llm = run([bad, ANSWER])
    result = next(e for e in events if isinstance(e, ToolResult))
    assert not result.ok and "ZeroDivisionError" in result.output
    assert "ZeroDivisionError" in "\n".join(m.content for m in llm.seen[1])


def test_llm_error_ends_the_turn() -> None:
    llm = ScriptedBackend([[TokenDelta("Thought: "), Error("server went away")]])
    agent = AgentBackend(llm, AgentOptions(approve="auto"))
    events = list(agent.stream([ChatMessage("user", "q")], GenerationParams(), cancel=threading.Event()))
    assert events[-1] == Error("server went away")


@pytest.mark.parametrize(
    ("raw", "code"),
    [("```python\nprint(1)\n```", "print(1)"), ('"print(1)"', "print(1)"), ("print(2)", "print(2)")],
)
def test_normalise_code(raw: str, code: str) -> None:
    assert normalise_code(raw) == code


def test_later_system_messages_become_user_turns() -> None:
    messages = to_chat_messages(
        [
            {"role": "system", "content": "tools"},
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "a"},
            {"role": "system", "content": "Response:1"},
        ]
    )
    assert [m.role for m in messages] == ["system", "user", "assistant", "user"]


def test_unknown_tool_option_is_a_config_error() -> None:
    from backends.base import BackendConfigError

    with pytest.raises(BackendConfigError):
        AgentBackend(ScriptedBackend(), AgentOptions(tools=("shell",)))


def test_backend_contract_over_the_echoing_scripted_llm() -> None:
    from testkit import contract

    agent = AgentBackend(ScriptedBackend(delay_s=0.001), AgentOptions(approve="auto"))
    contract.check_completes(agent)
    contract.check_cancel_midway(agent)
    contract.check_cancel_before_start(agent)
    assert agent.info.name == "agent" and "tools" in agent.info.capabilities


def test_registry_builds_the_agent_over_the_scripted_backend() -> None:
    from backends.options import BackendOptions
    from backends.registry import create_backend

    backend = create_backend(BackendOptions(backend="agent", agent=AgentOptions(llm_backend="scripted")))
    assert isinstance(backend, AgentBackend)


def test_cli_flags_choose_the_agent_backend() -> None:
    from tui.cli import build_parser, settings_from_args

    args = build_parser().parse_args(["--backend", "agent", "--approve", "auto", "--tools", "python"])
    settings = settings_from_args(args)
    assert settings.backend.backend == "agent"
    assert settings.backend.agent.approve == "auto" and settings.backend.agent.tools == ("python",)
    remote = settings_from_args(
        build_parser().parse_args(["--backend", "agent", "--base-url", "http://127.0.0.1:9/v1"])
    )
    assert remote.backend.agent.llm_backend == "remote" and remote.backend.agent.approve == "ask"


def test_cancel_kills_a_running_tool() -> None:
    sleeper = "Thought: wait\nAction: python\nAction Input: import time\ntime.sleep(30)\n"
    llm = ScriptedBackend([words(sleeper)])
    agent = AgentBackend(llm, AgentOptions(approve="auto"), limits=SandboxLimits(wall_s=30))
    cancel = threading.Event()
    events: list[BackendEvent] = []
    started = 0.0
    import time

    for event in agent.stream([ChatMessage("user", "q")], GenerationParams(), cancel=cancel):
        events.append(event)
        if isinstance(event, ToolCall):
            started = time.monotonic()
            threading.Timer(0.5, cancel.set).start()
    assert time.monotonic() - started < 3.0
    result = next(e for e in events if isinstance(e, ToolResult))
    assert not result.ok and "cancelled" in result.output
    assert isinstance(events[-1], Done) and events[-1].reason == "cancelled"
