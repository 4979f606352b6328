"""Conversation history in SQLite. No Textual import: usable from the CLI and tests."""

from tui.store.store import (
    ConversationSummary,
    HistoryStore,
    SearchHit,
    StoredMessage,
    StoredToolEvent,
    StoreError,
    StoreVersionError,
    default_db_path,
    open_store,
)

__all__ = [
    "ConversationSummary",
    "HistoryStore",
    "SearchHit",
    "StoreError",
    "StoreVersionError",
    "StoredMessage",
    "StoredToolEvent",
    "default_db_path",
    "open_store",
]
