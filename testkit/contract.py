"""The backend contract, as reusable checks: every backend's tests call these."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from backends.base import ChatBackend
from backends.events import BackendEvent, ChatMessage, Done, Error, GenerationParams, TokenDelta, is_terminal

HELLO = [ChatMessage("user", "Say hello in one short sentence.")]


def collect(
    backend: ChatBackend,
    messages: Sequence[ChatMessage] = HELLO,
    params: GenerationParams | None = None,
    *,
    cancel: threading.Event | None = None,
    on_event: Callable[[BackendEvent, threading.Event], None] | None = None,
) -> list[BackendEvent]:
    """Run one turn to completion and return every event."""
    cancel = cancel or threading.Event()
    events: list[BackendEvent] = []
    for event in backend.stream(
        messages, params or GenerationParams(max_new_tokens=16, temperature=0), cancel=cancel
    ):
        events.append(event)
        if on_event is not None:
            on_event(event, cancel)
    return events


def assert_one_terminal_event(events: Sequence[BackendEvent]) -> None:
    """Exactly one Done or Error, and it is the last event."""
    terminals = [e for e in events if is_terminal(e)]
    assert len(terminals) == 1, f"expected one terminal event, got {terminals}"
    assert is_terminal(events[-1]), f"last event must be terminal, got {events[-1]!r}"


def check_completes(backend: ChatBackend) -> list[BackendEvent]:
    """A normal turn streams some text and ends with Done (not Error)."""
    events = collect(backend)
    assert_one_terminal_event(events)
    assert isinstance(events[-1], Done), events[-1]
    assert any(isinstance(e, TokenDelta) and e.text for e in events)
    return events


def check_cancel_midway(backend: ChatBackend, params: GenerationParams | None = None) -> list[BackendEvent]:
    """Setting cancel after the first token ends the turn with Done(reason='cancelled')."""

    def cancel_on_first_token(event: BackendEvent, cancel: threading.Event) -> None:
        if isinstance(event, TokenDelta):
            cancel.set()

    events = collect(
        backend,
        params=params or GenerationParams(max_new_tokens=200, temperature=0),
        on_event=cancel_on_first_token,
    )
    assert_one_terminal_event(events)
    last = events[-1]
    assert isinstance(last, Done) and last.reason == "cancelled", last
    return events


def check_cancel_before_start(backend: ChatBackend) -> None:
    """A turn whose cancel is already set produces no text and ends cancelled."""
    cancel = threading.Event()
    cancel.set()
    events = collect(backend, cancel=cancel)
    assert_one_terminal_event(events)
    assert isinstance(events[-1], Done | Error)
    if isinstance(events[-1], Done):
        assert events[-1].reason == "cancelled"
    assert not any(isinstance(e, TokenDelta) and e.text for e in events)
