"""Fail closed: where the isolation probe fails, every hostile program is refused and nothing
starts, unless the user opted in to ``--unisolated-tools`` (then the UI is told)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

import backends.agent.sandbox as sandbox
from backends.agent.backend import AgentBackend
from backends.agent.sandbox import SandboxLimits, isolation, run_python
from backends.options import AgentOptions
from backends.scripted import ScriptedBackend
from testkit.hostile import HOSTILE, Targets

TARGETS = Targets(
    home="/home/someone",
    app_pid=1234,
    app_dir="/opt/app",
    python_prefix="/usr",
    tcp_port=8080,
    tmux_socket="/tmp/tmux-1000/default",
    tmux_pid=1235,
    agent_socket="/home/someone/.ssh/agent.sock",
    abstract_name="x",
    pty_path="/dev/pts/0",
    token="t",
    secret="sk-x",
    memory_mb=512,
)


@pytest.fixture
def no_bwrap(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The probe runs for real and finds no bubblewrap."""
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: None)
    isolation.cache_clear()
    yield
    isolation.cache_clear()


@pytest.fixture
def failing_bwrap(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A "bubblewrap" that cannot make namespaces (``false``): the real probe runs and fails."""
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: "/bin/false")
    isolation.cache_clear()
    yield
    isolation.cache_clear()


def _forbid_processes(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    started: list[Any] = []

    def popen(*args: Any, **kwargs: Any) -> None:
        started.append(args)
        raise AssertionError("a refused call started a process")

    monkeypatch.setattr(subprocess, "Popen", popen)
    return started


def test_every_hostile_program_is_refused_and_nothing_runs(
    no_bwrap: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not isolation().available
    started = _forbid_processes(monkeypatch)
    for hostile in HOSTILE:
        result = run_python(hostile.code(TARGETS))
        assert not result.ok and result.reason == "refused", hostile.name
        assert "\n" not in result.output and "bubblewrap" in result.output
        assert "--unisolated-tools" in result.output
    assert started == []


def test_a_probe_that_fails_refuses_with_what_to_enable(failing_bwrap: None) -> None:
    found = isolation()
    assert not found.available and "cannot set up a sandbox" in found.problem
    assert "unprivileged user namespaces" in found.problem
    result = run_python("print('ran')")
    assert result.reason == "refused" and "ran" not in result.output


def test_opt_in_runs_unisolated(no_bwrap: None) -> None:
    result = run_python("print(6 * 7)", limits=SandboxLimits(wall_s=10, unisolated=True))
    assert result.ok and result.output == "42\n"


def test_the_backend_reports_unisolated_only_with_the_opt_in(no_bwrap: None) -> None:
    refused = AgentBackend(ScriptedBackend(), AgentOptions())
    assert "tools-unisolated" not in refused.info.capabilities and not refused.network_blocked
    opted = AgentBackend(ScriptedBackend(), AgentOptions(unisolated_tools=True))
    assert "tools-unisolated" in opted.info.capabilities and opted.limits.unisolated


def test_isolated_backend_is_not_marked() -> None:
    if not isolation().available:
        pytest.skip(isolation().problem)
    backend = AgentBackend(ScriptedBackend(), AgentOptions(unisolated_tools=True))
    assert backend.network_blocked and "tools-unisolated" not in backend.info.capabilities


def test_a_probe_that_sees_the_home_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe checks the view, not just that bubblewrap starts: a visible home fails it."""
    if sandbox.find_bwrap() is None:
        pytest.skip("bubblewrap is not installed")
    monkeypatch.setenv("HOME", "/usr")  # a "home" the sandbox does see
    isolation.cache_clear()
    try:
        found = isolation()
        assert not found.available and "failed checks: no home" in found.problem
    finally:
        isolation.cache_clear()


def test_without_isolation_a_tool_call_is_refused_before_anyone_is_asked(no_bwrap: None) -> None:
    import threading

    from backends.events import ApprovalRequest, ChatMessage, GenerationParams, ToolResult
    from testkit.agent import ANSWER, SOLVE, words

    agent = AgentBackend(ScriptedBackend([words(SOLVE), words(ANSWER)]), AgentOptions())
    assert "tools-off" in agent.info.capabilities and "tools-unisolated" not in agent.info.capabilities
    events = list(agent.stream([ChatMessage("user", "q")], GenerationParams(), cancel=threading.Event()))
    assert not [e for e in events if isinstance(e, ApprovalRequest)]
    [result] = [e for e in events if isinstance(e, ToolResult)]
    assert not result.ok and "cannot be isolated" in result.output and "bubblewrap" in result.output
