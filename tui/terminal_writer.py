"""Textual's terminal writer thread, made safe to use on a terminal that has gone away.

Textual queues its output for a thread (at most 30 writes) and blocks the app while the queue
is full. After a hang-up the terminal never drains again, and Textual's shutdown once waited
for ever on that queue, keeping the process (and a model's memory) alive. This writer drops
output once the terminal is gone (a write failed, or ``hang_up`` was called), waits at most
``patience_s`` for room once the app is exiting (``closing``), and ``stop`` waits a bounded time.
Subclassing keeps Textual's ``isatty``/``fileno`` API; the rest is small enough to own.
"""

from __future__ import annotations

import queue
import time
from typing import IO

from textual.drivers._writer_thread import WriterThread

SLICE_S = 0.1  # how often a blocked write looks at the flags again


class TerminalWriter(WriterThread):
    """A ``WriterThread`` that never blocks the app on a terminal that is gone or stuck at exit.

    The flags are plain booleans (set from signal handlers, so no locks), read by both threads.
    """

    def __init__(self, file: IO[str], *, patience_s: float = 1.0) -> None:
        super().__init__(file)
        self.patience_s = patience_s
        self.gone = False  # the terminal is gone: everything is dropped
        self.exiting = False  # the app is exiting: a full queue is waited on only so long
        self.dropped = 0

    def hang_up(self) -> None:
        """The terminal is gone (SIGHUP): drop every write from now on."""
        self.gone = True

    def closing(self) -> None:
        """The app is exiting: a terminal that does not drain within ``patience_s`` counts as gone."""
        self.exiting = True

    def write(self, text: str) -> None:
        """Queue ``text``; dropped once the terminal is gone; a full queue is waited on while it drains."""
        if not self._put(text):
            self.dropped += 1

    def _put(self, item: str | None) -> bool:
        waited = 0.0
        while not self.gone:
            try:
                self._queue.put(item, timeout=SLICE_S)
                return True
            except queue.Full:
                if self.exiting:
                    waited += SLICE_S
                    if waited >= self.patience_s:
                        self.gone = True
        return False

    def run(self) -> None:
        """Write queued text to the terminal; on a failed write, mark it gone and drain the rest."""
        while True:
            text = self._queue.get()
            if text is None:
                break
            if self.gone:
                continue
            try:
                self._file.write(text)
                if self._queue.qsize() == 0:
                    self._file.flush()
            except (OSError, ValueError):  # EIO after a hang-up; ValueError: file closed
                self.gone = True
        if not self.gone:
            try:
                self._file.flush()
            except (OSError, ValueError):
                self.gone = True

    def stop(self, timeout: float = 3.0) -> None:
        """End the thread after it has written what is queued, waiting at most ``timeout`` seconds.

        A slow terminal keeps its queued output (the sequences that restore it among them) while
        there is time; a terminal that is gone drops it, which frees the queue at once.
        """
        if not self.is_alive():
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self._queue.put(None, timeout=SLICE_S)
                break
            except queue.Full:
                continue
        self.join(max(0.0, deadline - time.monotonic()))
