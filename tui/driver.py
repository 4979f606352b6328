"""The terminal driver: Textual's own, with frames trimmed to the cells that changed.

See ``tui.terminal_diff`` for why. ``INTERNLM_TUI_FULL_REDRAW=1`` turns the trimming off (for a
terminal that misbehaves, and for the benchmarks' side-by-side figures).
"""

from __future__ import annotations

import os
from typing import Any

from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver

from tui.terminal_diff import ScreenDiff

FULL_REDRAW_VARIABLE = "INTERNLM_TUI_FULL_REDRAW"


class DiffingDriver(LinuxDriver):
    """``LinuxDriver`` whose writes go through a ``ScreenDiff``."""

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
        super().write(self._diff.filter(data, self._size_now()))


def driver_class(default: type[Driver]) -> type[Driver]:
    """The driver to use in place of Textual's ``default`` one."""
    if default is LinuxDriver and os.environ.get(FULL_REDRAW_VARIABLE, "") in ("", "0"):
        return DiffingDriver
    return default
