"""Saves the live conversation to the history store as it happens (no Textual import).

The user's prompt is queued before the backend is asked, the reply row is created as
``streaming`` and saved at most every ``flush_interval_s`` while tokens arrive (so a crash
loses at most that much; past ``SAVE_SCALE_CHARS`` the interval grows with the text, see
``ChatRecorder.progress``), then finalised with its status and figures. Every write is queued
to the store's writer thread and never waited for: the rows' ids are futures the recorder
keeps and the writer resolves in order, so a locked database never stalls the caller.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from backends.events import Attachment, GenerationParams, Usage
from tui.store.store import HistoryStore, RowRef, title_from_prompt

SAVE_SCALE_CHARS = 8000
"""Past this length a streaming reply is saved less often, in proportion: each save rewrites
the whole text in both full-text indexes (5 ms of CPU at 24,000 characters, measured with
``tui.store``), so saving every half second made a long reply's drawing dearer the longer it
got. Scaled, saving costs at most about 1% of a core at any length; a kill loses at most 1.5 s
of a 24,000-character reply (a hang-up or SIGTERM saves everything first)."""


class ChatRecorder:
    """Writes one conversation's events to ``store``; every method is safe if writes fail."""

    def __init__(
        self,
        store: HistoryStore,
        conversation_id: int | None = None,
        flush_interval_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.flush_interval_s = flush_interval_s
        self._clock = clock  # when saves are due (a test gives its own)
        self._conversation: RowRef | None = conversation_id
        self._reply: RowRef | None = None
        self._reply_files: list[Attachment] = []
        """Images the current reply's tools made (saved as the reply's attached files)."""
        self._last_flush = 0.0
        self.last_prompt: RowRef | None = None
        """The row of the prompt saved last (an id once the writer made it), for the UI to know
        which stored message a drawn prompt is."""
        self.last_reply: RowRef | None = None
        """The row of the reply begun last; it stays after the reply is finished."""

    @property
    def conversation_ref(self) -> RowRef | None:
        """The conversation's row (None before the first prompt), usable by later queued writes."""
        return self._conversation

    @property
    def conversation_id(self) -> int | None:
        """The conversation's id once written (waits at most the store's ``read_wait_s``).

        None before the first prompt, if history cannot be written, or while another
        instance keeps the database locked (the store's ``on_change`` fires once it is written).
        """
        return None if self._conversation is None else self.store.peek(self._conversation)

    def record_user(
        self,
        text: str,
        *,
        backend: str,
        model: str,
        system: str | None,
        params: dict[str, Any],
        options: dict[str, Any] | None = None,
        attachments: tuple[Attachment, ...] = (),
    ) -> bool:
        """Save a prompt with its attached files (creating the conversation on the first one).
        True if a new one was begun."""
        created = False
        if self._conversation is None or _failed(self._conversation):
            self._conversation = self.store.submit_conversation(
                title_from_prompt(text),
                backend=backend,
                model=model,
                system=system,
                params=params,
                options=options,
            )
            created = True
        self.last_prompt = self.store.submit_message(
            self._conversation, "user", text, backend=backend, model=model
        )
        self.store.submit_attachments(self.last_prompt, attachments)
        return created

    def begin_reply(self, *, backend: str, model: str, params: dict[str, Any]) -> None:
        """Create the assistant row with status ``streaming``."""
        self._reply = None
        self._reply_files = []
        self._last_flush = self._clock()
        if self._conversation is not None:
            self._reply = self.store.submit_message(
                self._conversation,
                "assistant",
                "",
                status="streaming",
                backend=backend,
                model=model,
                params=params,
            )
        self.last_reply = self._reply

    def progress(self, text: str) -> None:
        """Save the reply so far if the last save is older than the interval (longer for a
        reply longer than ``SAVE_SCALE_CHARS``)."""
        now = self._clock()
        interval = self.flush_interval_s * max(1.0, len(text) / SAVE_SCALE_CHARS)
        if self._reply is not None and now - self._last_flush >= interval:
            self._last_flush = now
            self.store.submit_update(self._reply, content=text)

    def finish_reply(self, text: str, status: str, usage: Usage | None = None) -> None:
        """Final text, status (done / cancelled / error) and figures."""
        if self._reply is None:
            return
        usage = usage or Usage()
        self.store.submit_update(
            self._reply,
            content=text,
            status=status,
            ttft_s=usage.ttft_s,
            tokens_per_s=usage.tokens_per_s,
            prompt_tokens=usage.prompt_tokens or None,
            completion_tokens=usage.completion_tokens or None,
        )
        self._reply = None

    def tool_call(self, call_id: str, name: str, arguments: str) -> None:
        """Save an agent's tool call under the current reply."""
        if self._reply is not None:
            self.store.submit_tool_call(self._reply, call_id, name, arguments)

    def tool_result(
        self,
        call_id: str,
        output: str,
        ok: bool,
        elapsed_s: float | None,
        attachments: tuple[Attachment, ...] = (),
    ) -> None:
        """Save a tool's result under the current reply; images it made are kept as the reply's
        attached files (stored once by content hash, exported with the reply)."""
        if self._reply is not None:
            self.store.submit_tool_result(self._reply, call_id, output, ok, elapsed_s)
            if attachments:
                self._reply_files.extend(attachments)
                self.store.submit_attachments(self._reply, tuple(self._reply_files))


def _failed(ref: RowRef) -> bool:
    """A conversation whose creation finished without an id (history could not be written)."""
    return isinstance(ref, Future) and ref.done() and ref.result() is None


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
