"""Ordered schema migrations; ``PRAGMA user_version`` records how many have been applied.

Each migration runs in one transaction together with the version bump, so a crash mid-way
leaves the previous version intact. Never edit a released migration: append a new one.
"""

from __future__ import annotations

V1 = """
CREATE TABLE conversations (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    backend TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    system TEXT,
    params_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX conversations_updated ON conversations(updated_at DESC);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'done',
    created_at REAL NOT NULL,
    backend TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    params_json TEXT NOT NULL DEFAULT '{}',
    ttft_s REAL,
    tokens_per_s REAL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER
);
CREATE INDEX messages_conversation ON messages(conversation_id, id);
"""

V2 = """
ALTER TABLE messages ADD COLUMN owner TEXT;
CREATE TABLE tool_events (
    id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    call_id TEXT NOT NULL,
    name TEXT NOT NULL,
    arguments TEXT NOT NULL,
    output TEXT,
    ok INTEGER,
    elapsed_s REAL,
    created_at REAL NOT NULL
);
CREATE INDEX tool_events_message ON tool_events(message_id, id);
CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='id');
INSERT INTO messages_fts(rowid, content) SELECT id, content FROM messages;
CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER messages_au AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
"""

V3 = """
ALTER TABLE conversations ADD COLUMN options_json TEXT NOT NULL DEFAULT '{}';
"""
"""How the backend was launched (backend name, model as given, server URL), so that
``--resume`` continues a conversation with the same backend."""

V4 = """
CREATE VIRTUAL TABLE messages_trigram USING fts5(
    content, content='messages', content_rowid='id', tokenize='trigram'
);
INSERT INTO messages_trigram(messages_trigram) VALUES ('rebuild');
CREATE TRIGGER messages_trigram_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_trigram(rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER messages_trigram_ad AFTER DELETE ON messages BEGIN
    INSERT INTO messages_trigram(messages_trigram, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER messages_trigram_au AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_trigram(messages_trigram, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO messages_trigram(rowid, content) VALUES (new.id, new.content);
END;
"""
"""A second full-text index with the ``trigram`` tokenizer (SQLite >= 3.34): any substring of
three or more characters is found, in any script; ``unicode61`` (which keeps a run of Chinese
characters as one token) stays for word-prefix search of short words such as "AI"."""

TREE = """
ALTER TABLE messages ADD COLUMN parent_id INTEGER;
ALTER TABLE conversations ADD COLUMN leaf_id INTEGER;
UPDATE messages SET parent_id = (
    SELECT MAX(p.id) FROM messages AS p
    WHERE p.conversation_id = messages.conversation_id AND p.id < messages.id
);
UPDATE conversations SET leaf_id = (
    SELECT MAX(m.id) FROM messages AS m WHERE m.conversation_id = conversations.id
);
CREATE INDEX messages_parent ON messages(conversation_id, parent_id, id);
"""
"""Conversations become trees: each message has a parent (NULL for a first prompt) and the
conversation remembers its current leaf. A linear chat becomes one path, its messages in order."""

ATTACHMENTS = """
CREATE TABLE attachments (
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    mime TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (message_id, position)
);
CREATE INDEX attachments_sha256 ON attachments(sha256);
"""
"""Files attached to messages (images for vision models): each row names its file by content
hash; the bytes live once in a private folder beside the database (``tui.store.blobs``)."""


TOOLS = """
ALTER TABLE conversations ADD COLUMN tools_json TEXT NOT NULL DEFAULT '{}';
"""
"""Which tools a chat may call and which it approved "always" (``tui.chat_tools``)."""

MIGRATIONS: tuple[str, ...] = (V1, V2, V3, V4, TREE, ATTACHMENTS, TOOLS)
LATEST_VERSION = len(MIGRATIONS)
