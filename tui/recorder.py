"""Saves the live conversation to the history store as it happens (no Textual import).

The user's prompt is written before the backend is asked, the reply row is created as
``streaming`` and flushed at most every ``flush_interval_s`` while tokens arrive (so a crash
loses at most that much), then finalised with its status and figures.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from backends.events import GenerationParams, Usage
from tui.store.store import HistoryStore, title_from_prompt


@dataclass
class ChatRecorder:
    """Writes one conversation's events to ``store``; every method is safe if writes fail."""

    store: HistoryStore
    conversation_id: int | None = None
    flush_interval_s: float = 0.5
    _reply_id: int | None = field(default=None, init=False)
    _last_flush: float = field(default=0.0, init=False)

    def record_user(
        self,
        text: str,
        *,
        backend: str,
        model: str,
        system: str | None,
        params: dict[str, Any],
        options: dict[str, Any] | None = None,
    ) -> bool:
        """Save a prompt (creating the conversation on the first one). True if a new one was made."""
        created = False
        if self.conversation_id is None:
            self.conversation_id = self.store.create_conversation(
                title_from_prompt(text),
                backend=backend,
                model=model,
                system=system,
                params=params,
                options=options,
            )
            created = self.conversation_id is not None
        if self.conversation_id is not None:
            self.store.add_message(self.conversation_id, "user", text, backend=backend, model=model)
        return created

    def begin_reply(self, *, backend: str, model: str, params: dict[str, Any]) -> None:
        """Create the assistant row with status ``streaming``."""
        self._reply_id = None
        self._last_flush = time.monotonic()
        if self.conversation_id is not None:
            self._reply_id = self.store.add_message(
                self.conversation_id,
                "assistant",
                "",
                status="streaming",
                backend=backend,
                model=model,
                params=params,
            )

    def progress(self, text: str) -> None:
        """Flush the reply so far if the last flush is older than the interval."""
        now = time.monotonic()
        if self._reply_id is not None and now - self._last_flush >= self.flush_interval_s:
            self._last_flush = now
            self.store.update_message(self._reply_id, content=text)

    def finish_reply(self, text: str, status: str, usage: Usage | None = None) -> None:
        """Final text, status (done / cancelled / error) and figures."""
        if self._reply_id is None:
            return
        usage = usage or Usage()
        self.store.update_message(
            self._reply_id,
            content=text,
            status=status,
            ttft_s=usage.ttft_s,
            tokens_per_s=usage.tokens_per_s,
            prompt_tokens=usage.prompt_tokens or None,
            completion_tokens=usage.completion_tokens or None,
        )
        self._reply_id = None

    def tool_call(self, call_id: str, name: str, arguments: str) -> None:
        """Save an agent's tool call under the current reply."""
        if self._reply_id is not None:
            self.store.add_tool_call(self._reply_id, call_id, name, arguments)

    def tool_result(self, call_id: str, output: str, ok: bool, elapsed_s: float | None) -> None:
        """Save a tool's result under the current reply."""
        if self._reply_id is not None:
            self.store.set_tool_result(self._reply_id, call_id, output, ok, elapsed_s)


def params_from_dict(stored: dict[str, Any]) -> GenerationParams:
    """The inverse of ``GenerationParams.as_dict``: settings saved with a conversation."""
    stop = stored.get("stop") or ()
    return GenerationParams(
        temperature=stored.get("temperature"),
        top_p=stored.get("top_p"),
        top_k=stored.get("top_k"),
        repetition_penalty=stored.get("repetition_penalty"),
        max_new_tokens=stored.get("max_new_tokens"),
        seed=stored.get("seed"),
        stop=tuple(str(s) for s in stop),
        stream=bool(stored.get("stream", True)),
    )
