"""The history store: conversations, messages and tool events in one SQLite file.

Design points (see issue 3): WAL so two app instances (two SSH logins) can share the file,
a busy timeout instead of "database is locked" errors, ordered migrations recorded in
``PRAGMA user_version`` with a backup taken through the SQLite backup API before migrating,
FTS5 search kept in sync by triggers, and graceful degradation: when the disk is read-only
or full, writes stop, ``warning`` says so, and the chat itself keeps working.

Writes never run on the caller's thread (issue 14): they are queued to one writer thread
(``tui.store.writer``) that owns its own connection and retries while another instance holds
the lock. ``submit_*`` methods return a ``Future`` of the new row id at once; an id argument may
be such a future, resolved inside the writer, so a caller never waits for one. The plain write
methods wait for their result (scripts, the CLI, tests). Reads use their own connection (WAL
readers do not wait for a writer) and first wait up to ``read_wait_s`` for this process's
queued writes, so they see them; a read that could not wait makes the writer call
``on_change`` once its queue drains, so the view can read again.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backends.events import Attachment
from tui.private_files import create_private_file, private_dir, private_umask, tighten
from tui.sanitize import storable
from tui.store import search as search_sql
from tui.store.blobs import BlobFolder
from tui.store.migrations import LATEST_VERSION, MIGRATIONS
from tui.store.writer import WriteQueue

BUSY_TIMEOUT_MS = 5000
WRITER_BUSY_TIMEOUT_MS = 250
"""The writer's own wait per attempt; it then checks whether it is asked to stop and retries."""
RECOVERY_WAIT_S = 5.0
"""How long opening the store waits to mark replies of crashed processes as interrupted."""

RowRef = int | Future[int | None]
"""A row id, or the future id of a row queued to be written before the operation using it."""


def _resolve(ref: RowRef) -> int | None:
    """The id behind ``ref`` (inside the writer a future is already resolved, the queue being FIFO)."""
    return ref if isinstance(ref, int) else ref.result()


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
    tools: dict[str, Any] = field(default_factory=dict)
    """The chat's tool choice and remembered approvals (``tui.chat_tools.ChatTools.as_dict``)."""


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


def _connect(path: Path | str, busy_ms: int = BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    """A connection in autocommit mode; it may be used from any thread (callers serialise)."""
    conn = sqlite3.connect(str(path), timeout=busy_ms / 1000, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
    return conn


def _writer_connection(path: Path) -> sqlite3.Connection:
    """The writer thread's own connection (foreign keys and sync level are per connection)."""
    conn = _connect(path, WRITER_BUSY_TIMEOUT_MS)
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
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
        store = HistoryStore(memory, path, shared=True)
        store.warning = f"history is not being saved ({path}: {exc})"
        return store
    store = HistoryStore(conn, path)
    store.notice = notice
    store.recovered = store.mark_interrupted(RECOVERY_WAIT_S)
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
        tools=json.loads(row["tools_json"] or "{}") if "tools_json" in row.keys() else {},  # noqa: SIM118
    )


def _newest_leaf(conn: sqlite3.Connection, message_id: int) -> int:
    """The end of the newest branch below ``message_id`` (itself if nothing follows it)."""
    row = conn.execute(
        "WITH RECURSIVE down(id) AS (SELECT ? UNION ALL"
        " SELECT (SELECT MAX(c.id) FROM messages c WHERE c.parent_id = down.id) FROM down"
        " WHERE down.id IS NOT NULL)"
        " SELECT MAX(id) FROM down",
        (message_id,),
    ).fetchone()
    return int(row[0]) if row and row[0] is not None else message_id


def title_from_prompt(prompt: str, limit: int = 60) -> str:
    """A one-line title: the first non-empty line of the prompt, shortened."""
    line = next((part.strip() for part in prompt.splitlines() if part.strip()), "New chat")
    return line if len(line) <= limit else line[: limit - 1] + "…"


class HistoryStore:
    """All reads and writes of history: reads on the caller's thread, writes on the writer's.

    ``shared`` means readers and the writer use the one connection (the in-memory fallback,
    which another connection could not see); a lock then keeps them apart.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, *, shared: bool = False) -> None:
        self._conn = conn
        self.path = path
        self.warning: str | None = None
        self.notice: str | None = None
        self.recovered = 0
        self.read_wait_s: float | None = None
        """How long a read waits for this process's queued writes (None: until they are done)."""
        self.on_change: Callable[[], None] | None = None
        """Called on the writer thread when its queue drains after a read went ahead without
        waiting for it, or after a write failed: must be quick and thread-safe."""
        self._read_lock = threading.Lock()
        self._closed = False
        self.blobs = BlobFolder(None if shared else BlobFolder.beside(path))
        """Attached files by content hash (in memory when the database is)."""
        self._writer = WriteQueue(
            (lambda: conn) if shared else (lambda: _writer_connection(path)),
            shared_lock=self._read_lock if shared else None,
            on_error=self._write_failed,
            on_idle=self._changed,
        )

    # ----- plumbing --------------------------------------------------------------------
    def _write_failed(self, exc: sqlite3.Error) -> None:
        """A failing disk turns writes off with a warning, not a crash."""
        self.warning = f"history is not being saved: {exc}"

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _read_wait(self) -> float | None:
        """``read_wait_s``, or no wait at all while another instance holds the lock (a bounded
        wait would then only delay the read)."""
        if self.read_wait_s is not None and self._writer.blocked:
            return 0.0
        return self.read_wait_s

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """The read connection, after this process's queued writes (waiting ``read_wait_s``)."""
        if not self._writer.flush(self._read_wait()):
            self._writer.notify_when_idle()
        with self._read_lock:
            yield self._conn

    def _submit_write(
        self,
        sql: str,
        args: tuple[Any, ...],
        refs: tuple[RowRef, ...] = (),
        replaces: tuple[str, int] | None = None,
    ) -> Future[int | None]:
        """Queue one statement; ``refs`` are ids it needs (it is skipped if one was never written).

        The statement's ``?`` placeholders take ``args``, each ``_REF`` in it replaced by the
        next resolved ref, in order.
        """

        def operation(conn: sqlite3.Connection) -> int | None:
            ids = [_resolve(ref) for ref in refs]
            if any(i is None for i in ids):
                return None
            resolved = iter(ids)
            cursor = conn.execute(sql, _safe(tuple(next(resolved) if a is _REF else a for a in args)))
            return cursor.lastrowid

        return self._writer.submit(operation, replaces=replaces)

    def peek(self, ref: RowRef) -> int | None:
        """The id behind ``ref``, waiting for it like a read (None if it is not written yet)."""
        if isinstance(ref, int):
            return ref
        try:
            return ref.result(self._read_wait())
        except FutureTimeout:
            self._writer.notify_when_idle()
            return None

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every write queued so far is done; False if ``timeout_s`` passed first."""
        return self._writer.flush(timeout_s)

    @property
    def pending_writes(self) -> int:
        """Writes queued and not done yet (more than a few: another instance holds the lock)."""
        return self._writer.pending

    def close(self, timeout_s: float | None = 5.0) -> bool:
        """Finish queued writes (at most ``timeout_s``), then close; False if some were lost."""
        if self._closed:
            return True
        self._closed = True
        flushed = self._writer.close(timeout_s)
        if not flushed:
            self.warning = f"history: some writes could not be saved (the database {self.path} stayed locked)"
        with self._read_lock:
            self._conn.close()
        return flushed

    def integrity_ok(self) -> bool:
        """``PRAGMA integrity_check`` says ok."""
        with self._reading() as conn:
            row = conn.execute("PRAGMA integrity_check").fetchone()
        return row is not None and row[0] == "ok"

    # ----- conversations ---------------------------------------------------------------
    def submit_conversation(
        self,
        title: str,
        *,
        backend: str = "",
        model: str = "",
        system: str | None = None,
        params: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
    ) -> Future[int | None]:
        """Queue a new conversation; the future gives its id (None when history cannot be written).

        ``params`` are the generation settings and ``options`` how the backend was launched,
        both kept so that reopening the conversation continues it the same way.
        """
        now = time.time()
        return self._submit_write(
            "INSERT INTO conversations(title, created_at, updated_at, backend, model, system, params_json,"
            " options_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (title, now, now, backend, model, system, json.dumps(params or {}), json.dumps(options or {})),
        )

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
        """``submit_conversation`` and wait for the id."""
        return self.submit_conversation(
            title, backend=backend, model=model, system=system, params=params, options=options
        ).result()

    def submit_rename(self, conversation_id: int, title: str) -> Future[int | None]:
        """Queue a change of a conversation's title."""
        return self._submit_write("UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id))

    def submit_settings(
        self, conversation: RowRef, system: str | None, params: dict[str, Any]
    ) -> Future[int | None]:
        """Queue saving a chat's own system prompt and generation settings (its next replies use
        them); ``conversation`` may be a row still queued."""
        return self._submit_write(
            "UPDATE conversations SET system = ?, params_json = ? WHERE id = ?",
            (system, json.dumps(params), _REF),
            refs=(conversation,),
        )

    def submit_tools(self, conversation: RowRef, tools: dict[str, Any]) -> Future[int | None]:
        """Queue saving a chat's tool choice and remembered approvals (``conversation`` may be
        a row still queued)."""
        return self._submit_write(
            "UPDATE conversations SET tools_json = ? WHERE id = ?",
            (json.dumps(tools), _REF),
            refs=(conversation,),
        )

    def rename(self, conversation_id: int, title: str) -> None:
        """Change a conversation's title (waits for the write)."""
        self.submit_rename(conversation_id, title).result()

    def submit_delete(self, conversation_id: int) -> Future[int | None]:
        """Queue deleting a conversation with its messages, tool events and the attached files no
        other message uses."""
        deleted = self._submit_write("DELETE FROM conversations WHERE id = ?", (conversation_id,))
        self._submit_collect()
        return deleted

    def delete(self, conversation_id: int) -> None:
        """Delete a conversation with its messages and tool events (waits for the write)."""
        self.submit_delete(conversation_id).result()

    def get_conversation(self, conversation_id: int) -> ConversationSummary | None:
        """One conversation's summary, or None."""
        with self._reading() as conn:
            row = conn.execute("SELECT * FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        return _row_to_summary(row) if row else None

    def list_conversations(self, limit: int = 5000, offset: int = 0) -> list[ConversationSummary]:
        """Newest first."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT * FROM conversations ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return [_row_to_summary(row) for row in rows]

    def latest_conversation_id(self) -> int | None:
        """The most recently used conversation."""
        with self._reading() as conn:
            row = conn.execute(
                "SELECT id FROM conversations ORDER BY updated_at DESC, id DESC LIMIT 1"
            ).fetchone()
        return int(row[0]) if row else None

    # ----- messages --------------------------------------------------------------------
    def submit_message(
        self,
        conversation: RowRef,
        role: str,
        content: str,
        *,
        status: str = "done",
        backend: str = "",
        model: str = "",
        params: dict[str, Any] | None = None,
    ) -> Future[int | None]:
        """Queue adding a message below the conversation's current leaf, which it becomes (and
        touching the conversation so it sorts first); gives its id. The parent is read inside the
        write, so writes queued in order build the branch in order."""
        now = time.time()
        owner = _owner_tag()
        params_json = json.dumps(params or {})

        def operation(conn: sqlite3.Connection) -> int | None:
            conversation_id = _resolve(conversation)
            if conversation_id is None:
                return None
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
                        params_json,
                        owner,
                        conversation_id,
                    )
                ),
            )
            conn.execute(
                "UPDATE conversations SET updated_at = ?, leaf_id = ? WHERE id = ?",
                (now, cursor.lastrowid, conversation_id),
            )
            return cursor.lastrowid

        return self._writer.submit(operation)

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
        """``submit_message`` and wait for the id."""
        return self.submit_message(
            conversation_id, role, content, status=status, backend=backend, model=model, params=params
        ).result()

    def submit_update(
        self,
        message: RowRef,
        *,
        content: str | None = None,
        status: str | None = None,
        ttft_s: float | None = None,
        tokens_per_s: float | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
    ) -> Future[int | None]:
        """Queue saving streamed text so far and/or the final status and figures."""
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
        if not sets:
            done: Future[int | None] = Future()
            done.set_result(None)
            return done
        # A save of the text alone supersedes an earlier one of the same row still waiting.
        text_only = sets == ["content = ?"]
        return self._submit_write(
            f"UPDATE messages SET {', '.join(sets)} WHERE id = ?",
            (*args, _REF),
            (message,),
            replaces=("content", message if isinstance(message, int) else id(message)) if text_only else None,
        )

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
        """``submit_update`` and wait for it."""
        self.submit_update(
            message_id,
            content=content,
            status=status,
            ttft_s=ttft_s,
            tokens_per_s=tokens_per_s,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        ).result()

    def get_messages(
        self, conversation_id: int, *, limit: int | None = None, before_id: int | None = None
    ) -> list[StoredMessage]:
        """Messages in order; with ``limit``, only the newest ones (before ``before_id``)."""
        where = "conversation_id = ?" + (" AND id < ?" if before_id is not None else "")
        args: tuple[Any, ...] = (conversation_id,) + ((before_id,) if before_id is not None else ())
        with self._reading() as conn:
            if limit is None:
                rows = conn.execute(f"SELECT * FROM messages WHERE {where} ORDER BY id", args).fetchall()
            else:
                newest = f"SELECT * FROM messages WHERE {where} ORDER BY id DESC LIMIT ?"
                rows = conn.execute(
                    f"SELECT * FROM ({newest}) ORDER BY id",
                    (*args, limit),
                ).fetchall()
        return [_row_to_message(row) for row in rows]

    # ----- branches ------------------------------------------------------------------
    def submit_leaf(self, conversation_id: int, message_id: int | None) -> Future[int | None]:
        """Queue showing the branch ending at ``message_id`` (None: an empty path, before the first
        prompt). Queued like every write, so a message added after it grows from this leaf."""
        return self._submit_write(
            "UPDATE conversations SET leaf_id = ? WHERE id = ?", (message_id, conversation_id)
        )

    def set_leaf(self, conversation_id: int, message_id: int | None) -> None:
        """``submit_leaf`` and wait for the write."""
        self.submit_leaf(conversation_id, message_id).result()

    def get_path(self, conversation_id: int) -> list[StoredMessage]:
        """The messages of the current branch, first prompt to leaf."""
        with self._reading() as conn:
            rows = conn.execute(
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
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT id, parent_id FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
            ).fetchall()
        for message_id, parent_id in rows:
            tree.setdefault(parent_id, []).append(message_id)
        return tree

    def newest_leaf(self, message_id: int) -> int:
        """The end of the newest branch below ``message_id`` (itself if nothing follows it)."""
        with self._reading() as conn:
            return _newest_leaf(conn, message_id)

    def submit_delete_branch(self, message_id: int) -> Future[int | None]:
        """Queue deleting a message and everything below it; the chat then shows the newest
        remaining branch."""

        def operation(conn: sqlite3.Connection) -> int | None:
            row = conn.execute("SELECT conversation_id, parent_id FROM messages WHERE id = ?", (message_id,))
            found = row.fetchone()
            if found is None:
                return None
            conversation_id, parent = found[0], found[1]
            conn.execute(
                "WITH RECURSIVE doomed(id) AS (SELECT ? UNION ALL"
                " SELECT m.id FROM messages m JOIN doomed ON m.parent_id = doomed.id)"
                " DELETE FROM messages WHERE id IN (SELECT id FROM doomed)",
                (message_id,),
            )
            leaf: int | None = _newest_leaf(conn, parent) if parent is not None else None
            if leaf is None:
                first = conn.execute(
                    "SELECT MAX(id) FROM messages WHERE conversation_id = ? AND parent_id IS NULL",
                    (conversation_id,),
                ).fetchone()[0]
                leaf = _newest_leaf(conn, int(first)) if first is not None else None
            conn.execute("UPDATE conversations SET leaf_id = ? WHERE id = ?", (leaf, conversation_id))
            return message_id

        deleted = self._writer.submit(operation)
        self._submit_collect()
        return deleted

    def delete_branch(self, message_id: int) -> None:
        """``submit_delete_branch`` and wait for the write."""
        self.submit_delete_branch(message_id).result()

    # ----- attachments -----------------------------------------------------------------
    def submit_attachments(self, message: RowRef, attachments: tuple[Attachment, ...]) -> Future[int | None]:
        """Queue saving a message's attached files: rows first (so another instance's clean-up
        sees them as used), then each file once by content hash beside the database."""
        if not attachments:
            done: Future[int | None] = Future()
            done.set_result(None)
            return done
        rows = [(i, a.sha256, a.name, a.mime, len(a.data)) for i, a in enumerate(attachments)]

        def operation(conn: sqlite3.Connection) -> int | None:
            message_id = _resolve(message)
            if message_id is None:
                return None
            conn.executemany(
                "INSERT OR REPLACE INTO attachments(message_id, position, sha256, name, mime, size)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [_safe((message_id, *row)) for row in rows],
            )
            try:
                for attachment in attachments:
                    self.blobs.put(attachment.data)
            except OSError as exc:
                self.warning = f"history: an attached file could not be saved ({exc.strerror or exc})"
            return message_id

        return self._writer.submit(operation)

    def attachments(self, message_ids: list[int]) -> dict[int, tuple[Attachment, ...]]:
        """The attached files of these messages, in order; a file missing from the folder (or
        not matching its hash) is left out."""
        if not message_ids:
            return {}
        marks = ",".join("?" * len(message_ids))
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT message_id, sha256, name, mime FROM attachments WHERE message_id IN ({marks})"
                " ORDER BY message_id, position",
                tuple(message_ids),
            ).fetchall()
        found: dict[int, list[Attachment]] = {}
        for row in rows:
            data = self.blobs.get(row["sha256"])
            if data is not None:
                found.setdefault(row["message_id"], []).append(Attachment(row["name"], row["mime"], data))
        return {key: tuple(value) for key, value in found.items()}

    def _submit_collect(self) -> Future[int | None]:
        """Queue removing attached files that no message references any more."""

        def operation(conn: sqlite3.Connection) -> int | None:
            used = {row[0] for row in conn.execute("SELECT DISTINCT sha256 FROM attachments")}
            return self.blobs.keep_only(used)

        return self._writer.submit(operation)

    def count_messages(self, conversation_id: int) -> int:
        """How many messages a conversation has."""
        with self._reading() as conn:
            row = conn.execute("SELECT COUNT(*) FROM messages WHERE conversation_id = ?", (conversation_id,))
            return int(row.fetchone()[0])

    def mark_interrupted(self, timeout_s: float | None = None) -> int:
        """After a crash: replies left ``streaming`` by a dead process become ``interrupted``.

        Rows of a live process (another app instance on the same file) are left alone; the
        text saved so far is always kept. Returns how many were marked (0 if not done within
        ``timeout_s``; the write then still happens when the lock is free).
        """

        def operation(conn: sqlite3.Connection) -> int:
            rows = conn.execute("SELECT id, owner FROM messages WHERE status = 'streaming'").fetchall()
            dead = [row["id"] for row in rows if not _owner_alive(row["owner"])]
            conn.executemany("UPDATE messages SET status = 'interrupted' WHERE id = ?", [(i,) for i in dead])
            return len(dead)

        try:
            return self._writer.submit(operation).result(timeout_s) or 0
        except FutureTimeout:
            return 0

    # ----- tool events -----------------------------------------------------------------
    def submit_tool_call(
        self, message: RowRef, call_id: str, name: str, arguments: str
    ) -> Future[int | None]:
        """Queue recording a tool call of an agent reply."""
        return self._submit_write(
            "INSERT INTO tool_events(message_id, call_id, name, arguments, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (_REF, call_id, name, arguments, time.time()),
            (message,),
        )

    def add_tool_call(self, message_id: int, call_id: str, name: str, arguments: str) -> int | None:
        """``submit_tool_call`` and wait for the id."""
        return self.submit_tool_call(message_id, call_id, name, arguments).result()

    def submit_tool_result(
        self, message: RowRef, call_id: str, output: str, ok: bool, elapsed_s: float | None
    ) -> Future[int | None]:
        """Queue recording what a tool call returned."""
        return self._submit_write(
            "UPDATE tool_events SET output = ?, ok = ?, elapsed_s = ? WHERE message_id = ? AND call_id = ?",
            (output, int(ok), elapsed_s, _REF, call_id),
            (message,),
        )

    def set_tool_result(
        self, message_id: int, call_id: str, output: str, ok: bool, elapsed_s: float | None
    ) -> None:
        """``submit_tool_result`` and wait for it."""
        self.submit_tool_result(message_id, call_id, output, ok, elapsed_s).result()

    def tool_events(self, message_id: int) -> list[StoredToolEvent]:
        """The tool calls of one reply, in order."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT * FROM tool_events WHERE message_id = ? ORDER BY id", (message_id,)
            ).fetchall()
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
            for r in rows
        ]

    # ----- search ----------------------------------------------------------------------
    def search(self, query: str, limit: int = 100) -> list[SearchHit]:
        """Every message holding all the terms (any substring of 3+ characters, a word prefix
        for short words, a literal match for short CJK terms); the hit shows the matching line."""
        planned = search_sql.build(query, limit)
        if planned is None:
            return []
        try:
            with self._reading() as conn:
                rows = conn.execute(planned.sql, planned.args).fetchall()
        except sqlite3.Error:
            return []
        return [
            SearchHit(
                row["conversation_id"],
                row["message_id"],
                row["title"],
                _matching_line(row["content"], list(planned.needles)),
            )
            for row in rows
        ]


class _RefSlot:
    """Marks the place of a resolved ref in a statement's arguments."""


_REF: Any = _RefSlot()


def _matching_line(content: str, needles: list[str]) -> str:
    return search_sql.matching_line(content, needles)
