"""Makes sure a hang-up or SIGTERM ends the process, with the history saved first (no Textual).

A dropped SSH connection must never leave a process holding a model's memory. The first
SIGHUP or SIGTERM hands the exit to the app (``on_signal``: save, then a normal Textual exit);
a watchdog thread, started before any signal, ends the process with ``os._exit(128 + signum)``
if that exit has not finished ``grace_s`` seconds later, or at once on a second signal, in both
cases only after the app said the save is done (``saved``), waiting for that at most
``save_wait_s`` more. ``signal.alarm`` is the last resort should no Python code run at all.

Signal handlers run between bytecodes of the main thread, which may be inside anything (a
queue, a lock, a SQLite call), so the handler only writes a byte to a pipe and sets flags;
the watchdog thread reads the pipe.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

EXIT_SIGNALS = (signal.SIGHUP, signal.SIGTERM)
_SAVED = 0  # pipe byte for "history saved"; any other byte is a signal number


class ExitGuard:
    """One per process: the watchdog thread and the state it acts on."""

    def __init__(
        self,
        *,
        grace_s: float = 3.0,
        save_wait_s: float = 5.0,
        exit: Callable[[int], object] = os._exit,
        clock: Callable[[], float] = time.monotonic,
        alarm: Callable[[int], object] = signal.alarm,
    ) -> None:
        self.grace_s = grace_s
        self.save_wait_s = save_wait_s
        self._exit = exit
        self._clock = clock
        self._alarm = alarm
        self.signals = 0  # exit signals received so far
        self.code: int | None = None  # 128 + the first signal's number
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._write_fd, False)
        self._thread = threading.Thread(target=self._watch, name="exit-watchdog", daemon=True)
        self._thread.start()

    def install(self, on_signal: Callable[[int], None]) -> None:
        """Handle SIGHUP and SIGTERM in this process (main thread only); ``on_signal`` gets the first one.

        ``on_signal`` runs inside the signal handler: it may only set flags and hand work to
        the event loop (``loop.call_soon_threadsafe``).
        """

        def handler(signum: int, frame: FrameType | None) -> None:
            if self.signalled(signum):
                on_signal(signum)

        signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the last resort kills the process
        for signum in EXIT_SIGNALS:
            signal.signal(signum, handler)

    def signalled(self, signum: int) -> bool:
        """Note an exit signal (safe in a signal handler); True for the first one."""
        self.signals += 1
        first = self.code is None
        if first:
            self.code = 128 + signum
            self._alarm(int(self.grace_s + self.save_wait_s) + 5)
        self._send(signum)
        return first

    def saved(self) -> None:
        """The history is committed: from now on the watchdog may end the process."""
        self._send(_SAVED)

    def _send(self, byte: int) -> None:
        with contextlib.suppress(OSError):  # a full pipe: hundreds of signals already wait to be read
            os.write(self._write_fd, bytes([byte]))

    def _watch(self) -> None:
        signals, saved = 0, False
        started: float | None = None  # when the first signal arrived
        hurry: float | None = None  # when waiting for a clean exit stopped (second signal or grace over)
        while True:
            timeout = self._timeout(started, hurry, saved)
            readable, _, _ = select.select([self._read_fd], [], [], timeout)
            if readable:
                for byte in os.read(self._read_fd, 256):
                    if byte == _SAVED:
                        saved = True
                    else:
                        signals += 1
            now = self._clock()
            if signals and started is None:
                started = now
            if started is None:
                continue
            if hurry is None and (signals >= 2 or now >= started + self.grace_s):
                hurry = now
            if hurry is not None and (saved or now >= hurry + self.save_wait_s):
                self._exit(self.code or 128 + signal.SIGTERM)
                return

    def _timeout(self, started: float | None, hurry: float | None, saved: bool) -> float | None:
        if started is None:
            return None
        now = self._clock()
        if hurry is None:
            return max(0.0, started + self.grace_s - now)
        return 0.0 if saved else max(0.0, hurry + self.save_wait_s - now)


_guard: ExitGuard | None = None


def process_guard() -> ExitGuard:
    """The process's one guard (its watchdog thread starts on the first call)."""
    global _guard
    if _guard is None:
        _guard = ExitGuard()
    return _guard
