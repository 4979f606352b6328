"""The agent on the real embedded model (SmolLM2-135M): whatever it writes, the turn ends cleanly
with exactly one terminal event, tools run only through the sandbox, and the time is bounded."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from backends.agent.backend import AgentBackend
from backends.events import ApprovalRequest, ChatMessage, Done, Error, GenerationParams, ToolResult
from backends.options import AgentOptions, BackendOptions
from backends.registry import create_backend
from testkit import contract


def test_agent_on_the_embedded_model_ends_cleanly(embedded_model_dir: Path) -> None:
    backend = create_backend(BackendOptions(backend="agent", agent=AgentOptions(approve="ask", max_steps=3)))
    assert isinstance(backend, AgentBackend)
    try:
        started = time.monotonic()
        events = []
        stream = backend.stream(
            [ChatMessage("user", "Solve 2x+3=10 for x. Use the python tool.")],
            GenerationParams(max_new_tokens=64, temperature=0),
            cancel=threading.Event(),
        )
        for event in stream:
            events.append(event)
            if isinstance(event, ApprovalRequest):
                backend.answer(event.call_id, True)  # whatever it wrote runs in the sandbox
        elapsed = time.monotonic() - started
        contract.assert_one_terminal_event(events)
        assert isinstance(events[-1], Done | Error)
        calls = [e for e in events if isinstance(e, ApprovalRequest)]
        results = [e for e in events if isinstance(e, ToolResult)]
        assert len(results) >= len(calls)
        assert elapsed < 3 * (64 / 4 + 25)  # three steps of 64 tokens plus sandbox time, generously
        print(f"agent on the embedded model: {len(calls)} tool calls, {elapsed:.1f} s, end: {events[-1]}")
    finally:
        backend.close()
