"""The history store: conversations, messages and tool events in one SQLite file.

Design points (see issue 3): WAL so two app instances (two SSH logins) can share the file,
a busy timeout instead of "database is locked" errors, ordered migrations recorded in
``PRAGMA user_version`` with a backup taken through the SQLite backup API before migrating,
FTS5 search kept in sync by triggers, and graceful degradation: when the disk is read-only
or full, writes stop, ``warning`` says so, and the chat itself keeps working.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.private_files import create_private_file, private_dir, private_umask, tighten
from tui.sanitize import storable
from tui.store.migrations import LATEST_VERSION, MIGRATIONS

BUSY_TIMEOUT_MS = 5000


def _process_start(pid: int) -> str | None:
    """The start time of ``pid`` from /proc ("" where /proc is missing); None if it is a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None if Path("/proc/self/stat").exists() else ""
    except OSError:
        return ""
    fields = stat[stat.rfind(")") + 2 :].split()
    if not fields or fields[0] in ("Z", "X"):
        return None
    return fields[19] if len(fields) > 19 else ""


def _owner_tag() -> str:
    """Identifies this process in ``streaming`` rows, so another instance can tell if it died.

    The start time is part of the tag so that a new process that reuses the pid is not taken
    for the owner.
    """
    pid = os.getpid()
    return f"{os.uname().nodename}:{pid}:{_process_start(pid) or ''}"


def _owner_alive(owner: str | None) -> bool:
    if not owner or ":" not in owner:
        return False
    host, pid_text, *rest = owner.split(":")
    if host != os.uname().nodename or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    started = _process_start(pid)
    if started is None:  # a zombie: dead, just not reaped yet
        return False
    recorded = rest[0] if rest else ""
    return not (recorded and started and recorded != started)


class StoreError(Exception):
    """The history database cannot be used; the message is one line for the user."""


class StoreVersionError(StoreError):
    """The database was written by a newer internlm-tui; it is left untouched."""


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """One row of the sidebar."""

    id: int
    title: str
    created_at: float
    updated_at: float
    backend: str
    model: str
    system: str | None
    params: dict[str, Any]
    options: dict[str, Any]
    leaf_id: int | None = None
    """The last message of the branch being shown (None for an empty chat)."""


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One saved message with the figures of the reply that produced it."""

    id: int
    conversation_id: int
    role: str
    content: str
    status: str
    created_at: float
    backend: str = ""
    model: str = ""
    params: dict[str, Any] | None = None
    ttft_s: float | None = None
    tokens_per_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    parent_id: int | None = None
    """The message this one answers or follows (None for a first prompt)."""


@dataclass(frozen=True, slots=True)
class StoredToolEvent:
    """A tool call of an agent reply, with its result once known."""

    id: int
    message_id: int
    call_id: str
    name: str
    arguments: str
    output: str | None
    ok: bool | None
    elapsed_s: float | None


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A message matching a search, with the matching line."""

    conversation_id: int
    message_id: int
    title: str
    snippet: str


def default_db_path() -> Path:
    """``INTERNLM_TUI_DB`` if set, else ``history.sqlite3`` in the user data dir."""
    override = os.environ.get("INTERNLM_TUI_DB")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_path

    return user_data_path("internlm-tui") / "history.sqlite3"


def _connect(path: Path | str) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def _safe(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Text arguments as UTF-8 can store them (lone surrogates become U+FFFD), so no write
    ever fails with an encoding error; everything else is stored exactly."""
    return tuple(storable(arg) if isinstance(arg, str) else arg for arg in args)


def _private_db_files(path: Path) -> None:
    """The database is created 0600 (SQLite gives ``-wal``/``-shm`` the same mode), and an
    existing one, with its ``-wal``/``-shm``, loses any group/other access."""
    create_private_file(path)
    for side in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        tighten(side)


def _is_healthy(conn: sqlite3.Connection) -> bool:
    try:
        row = conn.execute("PRAGMA quick_check").fetchone()
    except sqlite3.DatabaseError:
        return False
    return row is not None and row[0] == "ok"


def _move_aside(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    path.rename(target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))
    return target


def _migrate(conn: sqlite3.Connection, path: Path | None) -> None:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > LATEST_VERSION:
        raise StoreVersionError(
            f"history database {path} was written by a newer internlm-tui (schema {version}, "
            f"this version knows {LATEST_VERSION}); upgrade internlm-tui or use --db to pick another file"
        )
    if 0 < version < LATEST_VERSION and path is not None:
        backup_path = path.with_name(f"{path.name}.v{version}.bak")
        create_private_file(backup_path)
        backup = sqlite3.connect(str(backup_path))
        with backup:
            conn.backup(backup)
        backup.close()
    for number in range(version + 1, LATEST_VERSION + 1):
        script = MIGRATIONS[number - 1]
        try:
            conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def open_store(path: Path | None = None) -> HistoryStore:
    """Open (creating or migrating) the history database at ``path`` or the default place.

    Raises ``StoreVersionError`` for a file from a newer version. A corrupt file is moved
    aside and a fresh one started (``notice`` says where the old one went). A read-only file
    is opened for reading with ``warning`` set; if the file cannot be opened at all, an
    in-memory store is returned with ``warning`` set. Either way the chat keeps working.
    """
    own_folder = path is None and not os.environ.get("INTERNLM_TUI_DB")
    path = path or default_db_path()
    notice: str | None = None
    try:
        private_dir(path.parent, tighten_existing=own_folder)
        _private_db_files(path)
        with private_umask():
            conn = _connect(path)
            if not _is_healthy(conn):
                conn.close()
                moved = _move_aside(path)
                notice = f"history database was damaged; it was moved to {moved} and a new one started"
                _private_db_files(path)
                conn = _connect(path)
            _migrate(conn, path)
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except StoreVersionError:
        raise
    except (OSError, sqlite3.Error) as exc:
        memory = _connect(":memory:")
        _migrate(memory, None)
        memory.execute("PRAGMA foreign_keys = ON")
        store = HistoryStore(memory, path)
        store.warning = f"history is not being saved ({path}: {exc})"
        return store
    store = HistoryStore(conn, path)
    store.notice = notice
    store.recovered = store.mark_interrupted()
    if not os.access(path, os.W_OK):
        store.warning = f"history file {path} is read-only: old chats can be read, new ones are not saved"
    return store


def _row_to_message(row: sqlite3.Row) -> StoredMessage:
    return StoredMessage(
        id=row["id"],
        conversation_id=row["conversation_id"],
        role=row["role"],
        content=row["content"],
        status=row["status"],
        created_at=row["created_at"],
        backend=row["backend"],
        model=row["model"],
        params=json.loads(row["params_json"] or "{}"),
        ttft_s=row["ttft_s"],
        tokens_per_s=row["tokens_per_s"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        parent_id=row["parent_id"],
    )


def _row_to_summary(row: sqlite3.Row) -> ConversationSummary:
    return ConversationSummary(
        id=row["id"],
        title=row["title"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        backend=row["backend"],
        model=row["model"],
        system=row["system"],
        params=json.loads(row["params_json"] or "{}"),
        options=json.loads(row["options_json"] or "{}"),
        leaf_id=row["leaf_id"],
    )


def title_from_prompt(prompt: str, limit: int = 60) -> str:
    """A one-line title: the first non-empty line of the prompt, shortened."""
    line = next((part.strip() for part in prompt.splitlines() if part.strip()), "New chat")
    return line if len(line) <= limit else line[: limit - 1] + "…"


class HistoryStore:
    """All reads and writes of history. Use from one thread (the UI's), like sqlite3 wants."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self.warning: str | None = None
        self.notice: str | None = None
        self.recovered = 0

    # ----- plumbing --------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; a failing disk turns writes off with a warning, not a crash."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            yield self._conn
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError):
                self.warning = f"history is not being saved: {exc}"
            raise

    def _try_write(self, sql: str, args: tuple[Any, ...]) -> int | None:
        try:
            with self._write() as conn:
                cursor = conn.execute(sql, _safe(args))
                return cursor.lastrowid
        except sqlite3.Error:
            return None

    def close(self) -> None:
        """Close the connection (checkpointing the WAL)."""
        self._conn.close()

    def integrity_ok(self) -> bool:
        """``PRAGMA integrity_check`` says ok."""
        row = self._conn.execute("PRAGMA integrity_check").fetchone()
        return row is not None and row[0] == "ok"

    # ----- conversations ---------------------------------------------------------------
    def create_conversation(
        self,
        title: str,
        *,
        backend: str = "",
        model: str = "",
        system: str | None = None,
        params: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
    ) -> int | None:
        """A new conversation; returns its id (None when history cannot be written).

        ``params`` are the generation settings and ``options`` how the backend was launched,
        both kept so that reopening the conversation continues it the same way.
        """
        now = time.time()
        return self._try_write(
            "INSERT INTO conversations(title, created_at, updated_at, backend, model, system, params_json,"
            " options_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (title, now, now, backend, model, system, json.dumps(params or {}), json.dumps(options or {})),
        )

    def update_settings(self, conversation_id: int, system: str | None, params: dict[str, Any]) -> None:
        """Save a chat's own system prompt and generation settings (its next replies use them)."""
        self._try_write(
            "UPDATE conversations SET system = ?, params_json = ? WHERE id = ?",
            _safe((system, json.dumps(params), conversation_id)),
        )

    def rename(self, conversation_id: int, title: str) -> None:
        """Change a conversation's title."""
        self._try_write("UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id))

    def delete(self, conversation_id: int) -> None:
        """Delete a conversation with its messages and tool events."""
        self._try_write("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def get_conversation(self, conversation_id: int) -> ConversationSummary | None:
        """One conversation's summary, or None."""
        row = self._conn.execute("SELECT * FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        return _row_to_summary(row) if row else None

    def list_conversations(self, limit: int = 5000, offset: int = 0) -> list[ConversationSummary]:
        """Newest first."""
        rows = self._conn.execute(
            "SELECT * FROM conversations ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?", (limit, offset)
        ).fetchall()
        return [_row_to_summary(row) for row in rows]

    def latest_conversation_id(self) -> int | None:
        """The most recently used conversation."""
        row = self._conn.execute(
            "SELECT id FROM conversations ORDER BY updated_at DESC, id DESC LIMIT 1"
        ).fetchone()
        return int(row[0]) if row else None

    # ----- messages --------------------------------------------------------------------
    def add_message(
        self,
        conversation_id: int,
        role: str,
        content: str,
        *,
        status: str = "done",
        backend: str = "",
        model: str = "",
        params: dict[str, Any] | None = None,
    ) -> int | None:
        """Add a message below the conversation's current leaf, which it becomes (and touch the
        conversation so it sorts first). The parent is read inside the write, so writes queued in
        order build the branch in order."""
        now = time.time()
        try:
            with self._write() as conn:
                cursor = conn.execute(
                    "INSERT INTO messages(conversation_id, role, content, status, created_at, backend, model,"
                    " params_json, owner, parent_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,"
                    " (SELECT leaf_id FROM conversations WHERE id = ?))",
                    _safe(
                        (
                            conversation_id,
                            role,
                            content,
                            status,
                            now,
                            backend,
                            model,
                            json.dumps(params or {}),
                            _owner_tag(),
                            conversation_id,
                        )
                    ),
                )
                conn.execute(
                    "UPDATE conversations SET updated_at = ?, leaf_id = ? WHERE id = ?",
                    (now, cursor.lastrowid, conversation_id),
                )
                return cursor.lastrowid
        except sqlite3.Error:
            return None

    def update_message(
        self,
        message_id: int,
        *,
        content: str | None = None,
        status: str | None = None,
        ttft_s: float | None = None,
        tokens_per_s: float | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
    ) -> None:
        """Save streamed text so far and/or the final status and figures."""
        sets: list[str] = []
        args: list[Any] = []
        for column, value in (
            ("content", content),
            ("status", status),
            ("ttft_s", ttft_s),
            ("tokens_per_s", tokens_per_s),
            ("prompt_tokens", prompt_tokens),
            ("completion_tokens", completion_tokens),
        ):
            if value is not None:
                sets.append(f"{column} = ?")
                args.append(value)
        if sets:
            self._try_write(f"UPDATE messages SET {', '.join(sets)} WHERE id = ?", (*args, message_id))

    def get_messages(
        self, conversation_id: int, *, limit: int | None = None, before_id: int | None = None
    ) -> list[StoredMessage]:
        """Messages in order; with ``limit``, only the newest ones (before ``before_id``)."""
        where = "conversation_id = ?" + (" AND id < ?" if before_id is not None else "")
        args: tuple[Any, ...] = (conversation_id,) + ((before_id,) if before_id is not None else ())
        if limit is None:
            rows = self._conn.execute(f"SELECT * FROM messages WHERE {where} ORDER BY id", args).fetchall()
        else:
            rows = self._conn.execute(
                f"SELECT * FROM (SELECT * FROM messages WHERE {where} ORDER BY id DESC LIMIT ?) ORDER BY id",
                (*args, limit),
            ).fetchall()
        return [_row_to_message(row) for row in rows]

    # ----- branches ------------------------------------------------------------------
    def set_leaf(self, conversation_id: int, message_id: int | None) -> None:
        """Show the branch ending at ``message_id`` (None: an empty path, before the first prompt)."""
        self._try_write("UPDATE conversations SET leaf_id = ? WHERE id = ?", (message_id, conversation_id))

    def get_path(self, conversation_id: int) -> list[StoredMessage]:
        """The messages of the current branch, first prompt to leaf."""
        rows = self._conn.execute(
            "WITH RECURSIVE path(id) AS ("
            " SELECT leaf_id FROM conversations WHERE id = ?"
            " UNION ALL SELECT m.parent_id FROM messages m JOIN path ON m.id = path.id"
            " WHERE m.parent_id IS NOT NULL)"
            " SELECT messages.* FROM messages JOIN path USING (id)"
            " WHERE messages.conversation_id = ? ORDER BY messages.id",
            (conversation_id, conversation_id),
        ).fetchall()
        return [_row_to_message(row) for row in rows]

    def children(self, conversation_id: int) -> dict[int | None, list[int]]:
        """Every message's children in order of creation, keyed by parent id (None: first prompts)."""
        tree: dict[int | None, list[int]] = {}
        rows = self._conn.execute(
            "SELECT id, parent_id FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
        )
        for row in rows:
            tree.setdefault(row["parent_id"], []).append(row["id"])
        return tree

    def newest_leaf(self, message_id: int) -> int:
        """The end of the newest branch below ``message_id`` (itself if nothing follows it)."""
        row = self._conn.execute(
            "WITH RECURSIVE down(id) AS (SELECT ? UNION ALL"
            " SELECT (SELECT MAX(c.id) FROM messages c WHERE c.parent_id = down.id) FROM down"
            " WHERE down.id IS NOT NULL)"
            " SELECT MAX(id) FROM down",
            (message_id,),
        ).fetchone()
        return int(row[0]) if row and row[0] is not None else message_id

    def delete_branch(self, message_id: int) -> None:
        """Delete a message and everything below it; the chat then shows the newest remaining branch."""
        try:
            with self._write() as conn:
                row = conn.execute(
                    "SELECT conversation_id, parent_id FROM messages WHERE id = ?", (message_id,)
                ).fetchone()
                if row is None:
                    return
                conn.execute(
                    "WITH RECURSIVE doomed(id) AS (SELECT ? UNION ALL"
                    " SELECT m.id FROM messages m JOIN doomed ON m.parent_id = doomed.id)"
                    " DELETE FROM messages WHERE id IN (SELECT id FROM doomed)",
                    (message_id,),
                )
                parent = row["parent_id"]
                leaf = self.newest_leaf(parent) if parent is not None else None
                if leaf is None:
                    first = conn.execute(
                        "SELECT MAX(id) FROM messages WHERE conversation_id = ? AND parent_id IS NULL",
                        (row["conversation_id"],),
                    ).fetchone()[0]
                    leaf = self.newest_leaf(int(first)) if first is not None else None
                conn.execute(
                    "UPDATE conversations SET leaf_id = ? WHERE id = ?", (leaf, row["conversation_id"])
                )
        except sqlite3.Error:
            return

    def count_messages(self, conversation_id: int) -> int:
        """How many messages a conversation has."""
        row = self._conn.execute(
            "SELECT COUNT(*) FROM messages WHERE conversation_id = ?", (conversation_id,)
        )
        return int(row.fetchone()[0])

    def mark_interrupted(self) -> int:
        """After a crash: replies left ``streaming`` by a dead process become ``interrupted``.

        Rows of a live process (another app instance on the same file) are left alone; the
        text saved so far is always kept.
        """
        try:
            with self._write() as conn:
                rows = conn.execute("SELECT id, owner FROM messages WHERE status = 'streaming'").fetchall()
                dead = [row["id"] for row in rows if not _owner_alive(row["owner"])]
                conn.executemany(
                    "UPDATE messages SET status = 'interrupted' WHERE id = ?", [(i,) for i in dead]
                )
                return len(dead)
        except sqlite3.Error:
            return 0

    # ----- tool events -----------------------------------------------------------------
    def add_tool_call(self, message_id: int, call_id: str, name: str, arguments: str) -> int | None:
        """Record a tool call of an agent reply."""
        return self._try_write(
            "INSERT INTO tool_events(message_id, call_id, name, arguments, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (message_id, call_id, name, arguments, time.time()),
        )

    def set_tool_result(
        self, message_id: int, call_id: str, output: str, ok: bool, elapsed_s: float | None
    ) -> None:
        """Record what a tool call returned."""
        self._try_write(
            "UPDATE tool_events SET output = ?, ok = ?, elapsed_s = ? WHERE message_id = ? AND call_id = ?",
            (output, int(ok), elapsed_s, message_id, call_id),
        )

    def tool_events(self, message_id: int) -> list[StoredToolEvent]:
        """The tool calls of one reply, in order."""
        rows = self._conn.execute("SELECT * FROM tool_events WHERE message_id = ? ORDER BY id", (message_id,))
        return [
            StoredToolEvent(
                id=r["id"],
                message_id=r["message_id"],
                call_id=r["call_id"],
                name=r["name"],
                arguments=r["arguments"],
                output=r["output"],
                ok=None if r["ok"] is None else bool(r["ok"]),
                elapsed_s=r["elapsed_s"],
            )
            for r in rows.fetchall()
        ]

    # ----- search ----------------------------------------------------------------------
    def search(self, query: str, limit: int = 100) -> list[SearchHit]:
        """Full-text search over every message; the hit shows the matching line."""
        terms = [term.replace('"', '""') for term in query.split() if term]
        if not terms:
            return []
        match = " ".join(f'"{term}"*' for term in terms)
        rows = self._conn.execute(
            "SELECT m.id AS message_id, m.conversation_id, c.title, m.content"
            " FROM messages_fts f JOIN messages m ON m.id = f.rowid"
            " JOIN conversations c ON c.id = m.conversation_id"
            " WHERE messages_fts MATCH ? ORDER BY m.id DESC LIMIT ?",
            (match, limit),
        ).fetchall()
        needles = [t.lower() for t in query.split()]
        return [
            SearchHit(
                row["conversation_id"],
                row["message_id"],
                row["title"],
                _matching_line(row["content"], needles),
            )
            for row in rows
        ]


def _matching_line(content: str, needles: list[str]) -> str:
    for line in content.splitlines():
        lowered = line.lower()
        if any(needle in lowered for needle in needles):
            return line.strip()[:200]
    return content.strip().splitlines()[0][:200] if content.strip() else ""
