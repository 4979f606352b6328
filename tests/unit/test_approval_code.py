"""What is approved is exactly what runs: the normaliser, the digest, the tool's re-check, refusals
of ambiguous line breaks, and call ids that never repeat (both agent loops, real sandbox)."""

from __future__ import annotations

import hashlib
import threading

import pytest

from backends.agent.backend import AgentBackend
from backends.agent.code import AMBIGUOUS_BREAKS, normalise_code, refusal
from backends.agent.python_tool import MISMATCH, PythonSandbox
from backends.agent.sandbox import SandboxLimits
from backends.events import (
    ApprovalRequest,
    BackendEvent,
    ChatMessage,
    GenerationParams,
    ToolCall,
    ToolResult,
    code_sha256,
)
from backends.options import AgentOptions
from backends.scripted import ScriptedBackend
from testkit.agent import ANSWER, SOLVE, words

LIMITS = SandboxLimits(wall_s=5, cpu_s=3)


def react_step(action_input: str) -> str:
    return f"Thought: run it\nAction: python\nAction Input: {action_input}\n"


def run_turns(
    turns: list[str], *, approve: str = "ask", protocol: str = "react", agent: AgentBackend | None = None
) -> tuple[list[BackendEvent], ScriptedBackend, AgentBackend]:
    """One agent turn; every ApprovalRequest is approved after checking its digest."""
    llm = ScriptedBackend([words(t) for t in turns])
    options = AgentOptions(approve=approve, max_steps=3, protocol=protocol)  # type: ignore[arg-type]
    agent = agent or AgentBackend(llm, options, limits=LIMITS)
    agent.llm_backend = llm
    events: list[BackendEvent] = []
    for event in agent.stream([ChatMessage("user", "go")], GenerationParams(), cancel=threading.Event()):
        events.append(event)
        if isinstance(event, ApprovalRequest):
            assert event.sha256 == hashlib.sha256(event.code.encode()).hexdigest()
            agent.answer(event.call_id, True)
    return events, llm, agent


def of(events: list[BackendEvent], kind: type[BackendEvent]) -> list[BackendEvent]:
    return [e for e in events if isinstance(e, kind)]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("```python\r\nprint(1)\r\n```", "print(1)"),
        ("# a\rprint(2)", "# a\nprint(2)"),
        ("x = 1\r\n\ry = 2", "x = 1\n\ny = 2"),
        ("'print(3)'", "print(3)"),
        ("\"'print(4)'\"", "'print(4)'"),  # one pair of quotes only, never two
        ("  print(5)\n\n", "print(5)"),
    ],
)
def test_normalise_once(raw: str, code: str) -> None:
    assert normalise_code(raw) == code
    assert "\r" not in normalise_code(raw)


@pytest.mark.parametrize("char", sorted(AMBIGUOUS_BREAKS))
def test_separators_python_does_not_honour_are_refused(char: str) -> None:
    code = normalise_code(f"x = 1  # note{char}import os")
    reason = refusal(code)
    assert reason is not None and f"U+{ord(char):04X}" in reason and "line 1" in reason
    assert refusal("x = 1\n\ty = 2  # fine") is None


def test_a_quoted_program_runs_as_it_was_shown() -> None:
    """The old code stripped the quotes again before running: a string literal became a program."""
    events, _, _ = run_turns([react_step("'\"print(6 * 7)\"'"), ANSWER])
    (request,) = of(events, ApprovalRequest)
    assert isinstance(request, ApprovalRequest) and request.code == '"print(6 * 7)"'
    (result,) = of(events, ToolResult)
    assert isinstance(result, ToolResult) and result.ok and result.output == "(no output)"


def test_a_carriage_return_in_a_comment_is_a_line_break_in_what_is_shown() -> None:
    events, _, _ = run_turns([react_step("# harmless\rprint('ran')"), ANSWER])
    (request,) = of(events, ApprovalRequest)
    assert isinstance(request, ApprovalRequest) and request.code == "# harmless\nprint('ran')"
    (call,) = of(events, ToolCall)
    assert isinstance(call, ToolCall) and call.arguments == request.code
    (result,) = of(events, ToolResult)
    assert isinstance(result, ToolResult) and result.output == "ran"


def test_a_line_separator_is_refused_without_asking_and_the_model_is_told_why() -> None:
    events, llm, _ = run_turns([react_step("x = 1  # a\u2028print('hidden')"), ANSWER])
    assert of(events, ApprovalRequest) == []
    (result,) = of(events, ToolResult)
    assert isinstance(result, ToolResult) and not result.ok and "U+2028" in result.output
    assert "U+2028" in "\n".join(m.content for m in llm.seen[1])


def test_the_request_carries_the_sha256_of_the_code() -> None:
    request = ApprovalRequest("c", "python", "print(1)", True, code_sha256("print(1)"))
    assert request.sha256 == hashlib.sha256(b"print(1)").hexdigest() and request.intact
    assert not ApprovalRequest("c", "python", "print(2)", True, request.sha256).intact


def test_the_tool_refuses_code_that_does_not_match_the_approved_digest() -> None:
    tool = PythonSandbox(LIMITS)
    tool.expect(code_sha256("print('shown')"))
    refused = tool.run("print('something else')")
    assert refused.errmsg == MISMATCH
    assert tool.run("print('shown')").errmsg == MISMATCH  # nothing approved any more
    tool.expect(code_sha256("print('shown')"))
    ran = tool.run("print('shown')")
    assert ran.errmsg is None and ran.result[0]["content"] == "shown"


@pytest.mark.parametrize("protocol", ["react", "internlm2"])
def test_call_ids_never_repeat_across_turns(protocol: str) -> None:
    if protocol == "react":
        turn = [SOLVE, ANSWER]
    else:
        turn = ["<|action_start|><|interpreter|>\nprint(1)<|action_end|>", "done"]
    first, _, agent = run_turns(turn, protocol=protocol)
    second, _, _ = run_turns(turn, protocol=protocol, agent=agent)
    ids = [e.call_id for e in first + second if isinstance(e, ApprovalRequest)]
    assert len(ids) == 2 and len(set(ids)) == 2
    results = [e for e in first + second if isinstance(e, ToolResult)]
    assert [r.ok for r in results] == [True, True]
