"""The interface every model backend implements, and the errors they raise while loading."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, runtime_checkable

from backends.events import BackendEvent, BackendInfo, ChatMessage, GenerationParams

ProgressCallback = Callable[[str, float | None], None]
"""Reports loading progress: a one-line stage description and a fraction (or None if unknown)."""


class BackendConfigError(Exception):
    """The user asked for something that cannot work (bad path, unknown backend, bad file).

    The message is one line that names the problem and what to do; the CLI prints it and exits
    with code 2, the app shows it instead of a traceback.
    """


class BackendLoadError(Exception):
    """A backend could not be created at run time (model failed to load, server unreachable)."""


@runtime_checkable
class ChatBackend(Protocol):
    """A source of streamed replies.

    ``stream`` yields events and always ends with exactly one ``Done`` or ``Error``. Expected
    failures are yielded as ``Error``, never raised. When ``cancel`` is set the backend stops
    as soon as it can and ends with ``Done(reason="cancelled")``.
    """

    info: BackendInfo

    def stream(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        *,
        cancel: threading.Event,
    ) -> Iterator[BackendEvent]: ...

    def close(self) -> None: ...


@runtime_checkable
class Approver(Protocol):
    """A backend that asks before running a tool: the UI answers each ``ApprovalRequest``."""

    def answer(self, call_id: str, approved: bool, reason: str = "") -> None: ...


@runtime_checkable
class ChoosesTools(Protocol):
    """A backend whose tools each chat chooses (the agent): None means the launch default."""

    def choose_tools(self, names: tuple[str, ...] | None) -> None: ...


def no_progress(_stage: str, _fraction: float | None) -> None:
    """A progress callback that ignores everything."""


@runtime_checkable
class CountsTokens(Protocol):
    """A backend that can count a conversation's prompt tokens exactly (its own tokenizer)."""

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int | None: ...
