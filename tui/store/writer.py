"""One background thread that owns the history's write connection and runs writes in order.

Why: a second app instance (two SSH logins share one WAL file) may hold the write lock for
seconds; a write on the UI thread would freeze typing for that long. Here the UI only queues
a write and gets a ``Future`` back; this thread runs the queue first-in first-out, each write
in its own ``BEGIN IMMEDIATE`` transaction, retrying for as long as the database is locked
(nothing queued is dropped for being locked). Other errors (full or read-only disk) resolve
the write's future to None and are reported through ``on_error``.
"""

from __future__ import annotations

import collections
import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeVar

T = TypeVar("T")

Operation = Callable[[sqlite3.Connection], Any]

_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
_RETRY_PAUSE_S = 0.05
"""Pause between attempts while locked (on top of the connection's own busy timeout)."""


def is_busy(exc: sqlite3.Error) -> bool:
    """The error means "another connection holds the lock, try again", not a broken disk."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _BUSY_CODES
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _rollback(conn: sqlite3.Connection) -> None:
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass  # SQLite already rolled back (it does on some errors, e.g. a full disk)


class WriteQueue:
    """Runs queued write operations on one thread, in order, with its own connection.

    ``connect`` is called on the writer thread. ``shared_lock`` is held around every
    operation when the connection is shared with readers (the in-memory fallback store).
    ``on_error`` gets each non-busy failure; ``on_idle`` runs (on this thread) when the queue
    drains after ``notify_when_idle`` was asked or a write failed.
    """

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        *,
        shared_lock: threading.Lock | None = None,
        on_error: Callable[[sqlite3.Error], None] = lambda exc: None,
        on_idle: Callable[[], None] = lambda: None,
        name: str = "history-writer",
    ) -> None:
        self._connect = connect
        self._shared_lock = shared_lock
        self._on_error = on_error
        self._on_idle = on_idle
        self._queue: collections.deque[tuple[Operation, Future[Any], Hashable | None]] = collections.deque()
        self._cond = threading.Condition()
        self._submitted = 0
        self._done = 0
        self._closing = False
        self._abandon = False
        self._notify = False
        self.blocked = False
        """The write in progress has found the database locked by another connection."""
        self._conn: sqlite3.Connection | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # ----- the caller's side ---------------------------------------------------------------
    def submit(
        self, operation: Callable[[sqlite3.Connection], T], *, replaces: Hashable | None = None
    ) -> Future[T | None]:
        """Queue ``operation(conn)``; its future resolves to its result (None if it failed).

        With ``replaces``, an operation with the same key waiting last in the queue (not yet
        started) is replaced instead, so that a long lock does not pile up superseded saves of
        the same streaming reply; the order of everything else is unchanged.
        """
        future: Future[T | None] = Future()
        with self._cond:
            if self._closing:
                future.set_result(None)
                return future
            if replaces is not None and len(self._queue) > 1 and self._queue[-1][2] == replaces:
                _, waiting, _ = self._queue[-1]
                self._queue[-1] = (operation, waiting, replaces)
                return waiting
            self._queue.append((operation, future, replaces))
            self._submitted += 1
            self._cond.notify_all()
        return future

    @property
    def pending(self) -> int:
        """How many queued writes have not finished yet."""
        with self._cond:
            return self._submitted - self._done

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every write queued before this call has finished; False on timeout."""
        with self._cond:
            target = self._submitted
            return self._cond.wait_for(lambda: self._done >= target, timeout_s)

    def notify_when_idle(self) -> None:
        """Call ``on_idle`` once the queue drains (a reader went ahead without waiting)."""
        with self._cond:
            self._notify = True

    def close(self, timeout_s: float | None = 5.0) -> bool:
        """Finish the queue (waiting at most ``timeout_s``), stop the thread; False if writes were left."""
        flushed = self.flush(timeout_s)
        with self._cond:
            self._closing = True
            self._abandon = not flushed
            self._cond.notify_all()
        self._thread.join(timeout_s if flushed else 1.0)
        return flushed

    # ----- the writer thread ---------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._conn = self._connect()
        except (OSError, sqlite3.Error) as exc:
            self._report(exc if isinstance(exc, sqlite3.Error) else sqlite3.OperationalError(str(exc)))
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._queue) or self._closing)
                if not self._queue or self._abandon:
                    break
                operation, future, _ = self._queue[0]
            result = self._execute(operation)
            with self._cond:
                self._queue.popleft()
                self._done += 1
                idle = not self._queue and self._notify
                if idle:
                    self._notify = False
                self._cond.notify_all()
            future.set_result(result)
            if idle:
                self._idle()
        self._drop_rest()
        if self._conn is not None and self._shared_lock is None:
            self._conn.close()

    def _execute(self, operation: Operation) -> Any:
        """Run one operation in its own transaction, retrying while the database is locked."""
        conn = self._conn
        if conn is None:
            return None
        while True:
            lock: AbstractContextManager[Any] = self._shared_lock or nullcontext()
            with lock:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    result = operation(conn)
                    conn.execute("COMMIT")
                    self.blocked = False
                    return result
                except sqlite3.Error as exc:
                    _rollback(conn)
                    if not is_busy(exc):
                        self.blocked = False
                        self._report(exc)
                        return None
                    self.blocked = True
            with self._cond:
                if self._abandon:
                    return None
            time.sleep(_RETRY_PAUSE_S)

    def _report(self, exc: sqlite3.Error) -> None:
        with self._cond:
            self._notify = True
        self._on_error(exc)

    def _idle(self) -> None:
        # A listener (e.g. on an event loop that has closed) must not stop the writer.
        with contextlib.suppress(Exception):
            self._on_idle()

    def _drop_rest(self) -> None:
        """After an abandoned close: resolve what could not be written, so no caller waits for ever."""
        with self._cond:
            left = list(self._queue)
            self._queue.clear()
            self._done += len(left)
            self._cond.notify_all()
        for _, future, _ in left:
            future.set_result(None)
