"""A backend that replays prepared events: for UI tests, snapshots and demos without a model.

A script is a list of turns; each turn is a list of events. It may also be an object
``{"delay_s": 0.01, "turns": [...]}`` to set the pause before each event (the benchmarks use
this to stream at a steady rate). When the script runs out, the backend echoes the last user
message word by word, so the app stays usable.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from backends.base import BackendConfigError
from backends.events import (
    BackendEvent,
    BackendInfo,
    ChatMessage,
    Done,
    Error,
    GenerationParams,
    ThoughtDelta,
    TokenDelta,
    ToolCall,
    ToolResult,
    Usage,
    is_terminal,
)
from backends.options import BackendOptions

_EVENT_TYPES: dict[str, type[Any]] = {
    "token": TokenDelta,
    "thought": ThoughtDelta,
    "tool_call": ToolCall,
    "tool_result": ToolResult,
    "done": Done,
    "error": Error,
}


def event_from_json(data: dict[str, Any]) -> BackendEvent:
    """Build one event from its JSON form, e.g. ``{"type": "token", "text": "hi"}``."""
    fields = dict(data)
    kind = fields.pop("type", None)
    if kind not in _EVENT_TYPES:
        raise ValueError(f"unknown event type {kind!r}")
    if kind == "done" and isinstance(fields.get("usage"), dict):
        fields["usage"] = Usage(**fields["usage"])
    event: BackendEvent = _EVENT_TYPES[kind](**fields)
    return event


DEFAULT_DELAY_S = 0.05


def load_script(path: Path) -> tuple[list[list[BackendEvent]], float]:
    """Read a JSON script file: its turns (each a list of events) and the delay between events."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        delay_s = DEFAULT_DELAY_S
        if isinstance(raw, dict):
            delay_s = float(raw.get("delay_s", DEFAULT_DELAY_S))
            raw = raw["turns"]
        if delay_s < 0:
            raise ValueError("delay_s must be 0 or more")
        return [[event_from_json(item) for item in turn] for turn in raw], delay_s
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise BackendConfigError(f"cannot read script {path}: {exc}") from None


def echo_turn(messages: Sequence[ChatMessage]) -> list[BackendEvent]:
    """A reply that quotes the last user message, split into word-sized tokens."""
    last = next((m.content for m in reversed(messages) if m.role == "user"), "")
    words = re.findall(r"\s*\S+", f"You said: **{last}**") or [""]
    events: list[BackendEvent] = [TokenDelta(word) for word in words]
    events.append(Done("stop", Usage(prompt_tokens=len(last.split()), completion_tokens=len(words))))
    return events


class ScriptedBackend:
    """Replays events with a fixed delay between them, honouring cancellation."""

    def __init__(
        self,
        turns: Sequence[Sequence[BackendEvent]] | None = None,
        *,
        delay_s: float = 0.0,
        model: str = "scripted",
        capabilities: frozenset[str] = frozenset({"images"}),
    ) -> None:
        self.info = BackendInfo(name="scripted", model=model, device="none", capabilities=capabilities)
        self._turns = [list(turn) for turn in turns or []]
        self._delay_s = delay_s
        self._lock = threading.Lock()
        self.seen: list[list[ChatMessage]] = []
        """The messages of every turn asked for, in order (tests check what was sent)."""
        self.params_seen: list[GenerationParams] = []
        """The generation settings of every turn asked for, in order."""

    @classmethod
    def from_options(cls, options: BackendOptions) -> ScriptedBackend:
        """``--model`` names a JSON script file; without one the backend echoes."""
        if options.model is None:
            return cls(delay_s=DEFAULT_DELAY_S)
        path = Path(options.model).expanduser()
        turns, delay_s = load_script(path)
        return cls(turns, delay_s=delay_s, model=path.name)

    def _next_turn(self, messages: Sequence[ChatMessage]) -> list[BackendEvent]:
        with self._lock:
            self.seen.append(list(messages))
            if self._turns:
                return self._turns.pop(0)
        return echo_turn(messages)

    def stream(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        *,
        cancel: threading.Event,
    ) -> Iterator[BackendEvent]:
        """Yield the next scripted turn; a turn without a terminal event gets ``Done``."""
        self.params_seen.append(params)
        for event in self._next_turn(messages):
            if cancel.wait(self._delay_s) if self._delay_s else cancel.is_set():
                yield Done("cancelled")
                return
            yield event
            if is_terminal(event):
                return
        yield Done("cancelled") if cancel.is_set() else Done("stop")

    def close(self) -> None:
        """Nothing to release."""
