"""Textual messages that carry backend work from worker threads to the screen."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from backends.base import ChatBackend
from backends.events import BackendEvent


class TurnEvent(Message):
    """One backend event of one turn; the turn id lets the screen drop stale events."""

    def __init__(self, turn_id: int, event: BackendEvent) -> None:
        super().__init__()
        self.turn_id = turn_id
        self.event = event


class TokensWaiting(Message):
    """A turn's worker has put reply text in the turn's inbox (posted once per batch)."""

    def __init__(self, turn_id: int) -> None:
        super().__init__()
        self.turn_id = turn_id


class LoadProgress(Message):
    """A loading stage for the status banner."""

    def __init__(self, stage: str, fraction: float | None) -> None:
        super().__init__()
        self.stage = stage
        self.fraction = fraction


class BackendReady(Message):
    """The backend finished loading."""

    def __init__(self, backend: ChatBackend) -> None:
        super().__init__()
        self.backend = backend


class BackendFailed(Message):
    """The backend could not be created; ``message`` is one line for the user."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


class KbProgress(Message):
    """Knowledge-base indexing progress: stage ("scan", "index", "embed"), done of total."""

    def __init__(self, stage: str, done: int, total: int) -> None:
        super().__init__()
        self.stage = stage
        self.done = done
        self.total = total


class KbIndexed(Message):
    """A knowledge-base indexing run ended; ``error`` is one line when it failed."""

    def __init__(self, error: str | None = None) -> None:
        super().__init__()
        self.error = error


class SourcesFound(Message):
    """Knowledge-base passages were sent with turn ``turn_id`` (``kb.hit.Hit`` objects)."""

    def __init__(self, turn_id: int, hits: list[Any]) -> None:
        super().__init__()
        self.turn_id = turn_id
        self.hits = hits


class McpStatusChanged(Message):
    """An MCP server started, failed or died (posted from the MCP hub's thread)."""

    def __init__(self, status: Any) -> None:
        super().__init__()
        self.status = status
        """A ``backends.agent.mcp_client.ServerStatus``."""
