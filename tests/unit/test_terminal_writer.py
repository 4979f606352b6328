"""The terminal writer never blocks the app on a terminal that is gone or has stopped reading.

Textual's own ``WriterThread`` died on the first failed write after a hang-up, and the app
then blocked for ever once 30 more writes were queued; these files reproduce both ends.
"""

from __future__ import annotations

import errno
import io
import threading
import time

from textual.drivers._writer_thread import MAX_QUEUED_WRITES

from tui.terminal_writer import TerminalWriter


class HungUpTerminal(io.StringIO):
    """Every write fails as on a tty after a hang-up."""

    def write(self, text: str) -> int:
        raise OSError(errno.EIO, "Input/output error")


class StuckTerminal(io.StringIO):
    """The first write never returns (a terminal that stopped reading) until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()

    def write(self, text: str) -> int:
        self.entered.set()
        self.release.wait()
        return super().write(text)


def run_with_limit(action: object, limit_s: float) -> bool:
    """Run ``action`` in a thread; True if it returned within ``limit_s`` (the test must not hang)."""
    assert callable(action)
    done = threading.Event()

    def target() -> None:
        action()
        done.set()

    threading.Thread(target=target, daemon=True).start()
    return done.wait(limit_s)


def test_writes_reach_a_working_terminal_in_order() -> None:
    terminal = io.StringIO()
    writer = TerminalWriter(terminal)
    writer.start()
    for number in range(200):
        writer.write(f"{number},")
    writer.stop()
    assert terminal.getvalue() == "".join(f"{number}," for number in range(200))
    assert not writer.is_alive() and not writer.gone


def test_a_failed_write_marks_the_terminal_gone_and_nothing_blocks_afterwards() -> None:
    writer = TerminalWriter(HungUpTerminal())
    writer.start()

    def many_writes_then_stop() -> None:
        for _ in range(MAX_QUEUED_WRITES * 10):
            writer.write("frame")
        writer.stop()

    assert run_with_limit(many_writes_then_stop, 20), "blocked on a hung-up terminal"
    assert writer.gone and not writer.is_alive()


def test_after_hang_up_writes_are_dropped_even_with_a_full_queue() -> None:
    terminal = StuckTerminal()
    writer = TerminalWriter(terminal)
    writer.start()
    writer.write("first")  # the thread takes it and blocks in the terminal's write
    assert terminal.entered.wait(10)
    for _ in range(MAX_QUEUED_WRITES):
        writer.write("fills the queue")
    writer.hang_up()
    assert run_with_limit(lambda: [writer.write("dropped") for _ in range(100)], 10)
    assert writer.dropped == 100
    terminal.release.set()


def test_a_stuck_terminal_at_exit_is_given_up_within_the_patience() -> None:
    terminal = StuckTerminal()
    writer = TerminalWriter(terminal, patience_s=0.3)
    writer.start()
    writer.write("first")
    assert terminal.entered.wait(10)
    for _ in range(MAX_QUEUED_WRITES):
        writer.write("fills the queue")
    writer.closing()
    started = time.monotonic()
    assert run_with_limit(lambda: (writer.write("restore the terminal"), writer.stop(timeout=0.5)), 20)
    assert writer.gone
    assert time.monotonic() - started < 10
    terminal.release.set()
