"""The terminal driver: Textual's own, with safe output and frames trimmed to the changed cells.

Output goes through a ``TerminalWriter`` (``tui.terminal_writer``) so that a terminal that is
gone never blocks the app. See ``tui.terminal_diff`` for the trimming; ``INTERNLM_TUI_FULL_REDRAW=1``
turns it off (for a terminal that misbehaves, and for the benchmarks' side-by-side figures).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from textual._xterm_parser import XTermParser
from textual.driver import Driver
from textual.drivers import linux_driver
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

from tui import terminal_query
from tui.terminal_diff import ScreenDiff
from tui.terminal_writer import TerminalWriter

FULL_REDRAW_VARIABLE = "INTERNLM_TUI_FULL_REDRAW"


class _InputParser(XTermParser):
    """Textual's input parser, without the late answers of the start-up terminal query.

    ``LinuxDriver.run_input_thread`` builds its parser by this module-level name, and has no
    other place where the bytes read can be seen before they become keys."""

    def feed(self, data: str) -> Iterable[Message]:
        kept = terminal_query.strip_late(data)
        if data and not kept:  # feeding "" would tell the parser the input has ended
            return ()
        return super().feed(kept)


setattr(linux_driver, "XTermParser", _InputParser)  # noqa: B010  (mypy: a class cannot be assigned)


class SafeLinuxDriver(LinuxDriver):
    """``LinuxDriver`` writing through a ``TerminalWriter`` (drops output once the terminal is gone)."""

    _terminal_writer: TerminalWriter | None = None

    def start_application_mode(self) -> None:
        """Textual's start, with our writer in place of the thread Textual creates (and stops at once)."""
        assert self._file is not None, "LinuxDriver always has a file"
        writer = self._terminal_writer = TerminalWriter(self._file)
        writer.start()
        before = self._writer_thread
        super().start_application_mode()  # type: ignore[no-untyped-call]  # untyped in Textual
        created = self._writer_thread
        self._writer_thread = writer  # Textual's ``close`` stops this one
        if created is not None and created is not before and created is not writer:
            created.stop()  # never written to, so its queue is empty and it ends at once

    def resume_application_mode(self) -> None:
        """Resume after Ctrl+Z, unless the terminal is gone: a hang-up sends SIGCONT after SIGHUP."""
        if not self.terminal_gone:
            super().resume_application_mode()

    def write(self, data: str) -> None:
        """Queue ``data`` for the terminal (dropped once it is gone)."""
        if self._terminal_writer is not None:
            self._terminal_writer.write(data)

    @property
    def terminal_gone(self) -> bool:
        """True once the terminal hung up or a write to it failed."""
        return self._terminal_writer is not None and self._terminal_writer.gone

    def hang_up(self) -> None:
        """The terminal is gone (SIGHUP): drop all output from now on. Safe in a signal handler."""
        if self._terminal_writer is not None:
            self._terminal_writer.hang_up()

    def closing(self) -> None:
        """The app is exiting: a terminal that stops draining is given up on. Safe in a signal handler."""
        if self._terminal_writer is not None:
            self._terminal_writer.closing()


class DiffingDriver(SafeLinuxDriver):
    """``SafeLinuxDriver`` whose writes go through a ``ScreenDiff``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._diff = ScreenDiff()

    def _size_now(self) -> tuple[int, int]:
        try:
            size = os.get_terminal_size(self.fileno)
        except OSError:
            return self._get_terminal_size()
        return size.columns, size.lines

    def write(self, data: str) -> None:
        """Write only what changes the screen.

        A new terminal size, and any write that is not a plain frame (the alternate screen
        switch on start and on resuming after Ctrl+Z among them), make it forget what it showed.
        """
        if self.terminal_gone:
            return
        super().write(self._diff.filter(data, self._size_now()))


def driver_class(default: type[Driver]) -> type[Driver]:
    """The driver to use in place of Textual's ``default`` one."""
    if default is not LinuxDriver:
        return default
    if os.environ.get(FULL_REDRAW_VARIABLE, "") in ("", "0"):
        return DiffingDriver
    return SafeLinuxDriver
