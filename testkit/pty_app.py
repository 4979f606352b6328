"""The real app on a real pseudo-terminal, for benchmarks that count bytes, frames and CPU time.

A reader thread drains the pty all the time (an app whose output is not read would block) and
keeps every chunk with the moment it arrived, so a benchmark can ask when something first
appeared on the wire and how many bytes had been written by then. ``hang_up`` closes the
terminal's master side, so the kernel sends the app SIGHUP exactly as when sshd drops a session.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import termios
import threading
import time
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PLAIN_DA1 = b"\x1b[?62;22c"
"""What a terminal without graphics answers to the device attributes query (every terminal
answers it; the app asks once at start-up, see ``tui.terminal_query``)."""


class PtyApp:
    """One process on its own pty of ``columns`` x ``rows``; ``close`` ends it."""

    def __init__(
        self,
        argv: list[str],
        *,
        columns: int,
        rows: int,
        env: dict[str, str],
        answers: dict[bytes, bytes] | None = None,
        answer_delay_s: float = 0.0,
    ) -> None:
        self.answer_delay_s = answer_delay_s
        """How long the fake terminal takes to answer (a slow SSH link)."""
        self.answers = answers if answers is not None else {b"\x1b[c": PLAIN_DA1}
        """A fake terminal's replies: when the app writes a key, the value is typed back at once
        (from the reader thread, so within the 0.1 s a terminal query waits)."""
        self.started = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # the child: becomes the app, with the pty as its controlling terminal
            try:
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        os.kill(pid, signal.SIGWINCH)
        self._lock = threading.Condition()
        self._chunks: list[tuple[float, bytes]] = []
        self._total = 0
        self._buffer = bytearray()
        self._closed = False
        self._stop_reading = False
        self._hung_up = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                if self._stop_reading:
                    data = b""
                elif not select.select([self.fd], [], [], 0.1)[0]:
                    continue
                else:
                    data = os.read(self.fd, 65536)
            except OSError:
                data = b""
            with self._lock:
                if not data:
                    self._closed = True
                    self._lock.notify_all()
                    return
                self._chunks.append((time.perf_counter(), data))
                replies = b"".join(reply for query, reply in self.answers.items() if query in data)
                if replies and self.answer_delay_s:
                    threading.Timer(self.answer_delay_s, os.write, (self.fd, replies)).start()
                elif replies:
                    os.write(self.fd, replies)
                self._buffer += data
                self._total += len(data)
                self._lock.notify_all()

    @property
    def bytes_written(self) -> int:
        """How many bytes the app has written to its terminal so far."""
        with self._lock:
            return self._total

    def output(self) -> bytes:
        """Everything written so far."""
        with self._lock:
            return bytes(self._buffer)

    def chunks(self) -> list[tuple[float, bytes]]:
        """Every read so far, each with the ``perf_counter`` moment it arrived."""
        with self._lock:
            return list(self._chunks)

    def wait_for(self, pattern: bytes, *, since: int = 0, timeout: float = 60.0) -> tuple[float, int]:
        """Wait until ``pattern`` (a regex) appears after byte ``since``; (moment, bytes written then)."""
        compiled = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                if compiled.search(self._buffer, since):
                    return self._chunks[-1][0], self._total
                if self._closed:
                    raise RuntimeError(f"the app exited before {pattern!r} appeared")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {pattern!r} within {timeout:.0f} s")
                self._lock.wait(left)

    def send(self, data: bytes) -> None:
        """Type ``data`` as if at the keyboard."""
        os.write(self.fd, data)

    def cpu_seconds(self) -> float:
        """User plus system CPU time the app process has used (from ``/proc``)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime

    def stop_reading(self) -> None:
        """Stop draining the pty but keep it open: a stalled terminal, whose writes soon block."""
        self._stop_reading = True
        self._reader.join()

    def hang_up(self) -> None:
        """Close the master side of the pty (the kernel then sends the app SIGHUP), as sshd does."""
        self._stop_reading = True
        self._reader.join()  # no read may be left on the descriptor when it closes (or is reused)
        os.close(self.fd)
        self._hung_up = True

    def wait_exit(self, timeout: float) -> int | None:
        """Reap the app within ``timeout`` s: its exit code (-N for signal N), or None if still running."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return None
            if pid:
                self.exit_code = os.waitstatus_to_exitcode(status)
                return self.exit_code
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.02)

    exit_code: int | None = None

    def close(self) -> None:
        """End the app (terminate, then kill) and release the pty."""
        if self.exit_code is not None:
            self._release()
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
            for _ in range(50):
                if os.waitpid(self.pid, os.WNOHANG)[0]:
                    break
                time.sleep(0.1)
            else:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        self._release()

    def _release(self) -> None:
        self._reader.join(timeout=5)
        if not self._hung_up:
            self._hung_up = True
            os.close(self.fd)
