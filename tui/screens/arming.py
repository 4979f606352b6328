"""When a key may count as consent: only after a pause since the dialog opened and since the last key.

A dialog that opens while the user is typing must not take the next letter of a sentence as
an answer, so the arming delay restarts on every key press: a key counts only when no key was
pressed (and the dialog was not opened) in the ``arming_s`` before it. Textual-free and driven
by an injectable clock so tests do not depend on the machine's speed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

ARMING_S = 0.5
"""Seconds of quiet before a key press counts as an answer."""


class KeyArming:
    """Tracks key presses of one dialog and says whether the latest one counts as an answer."""

    def __init__(self, arming_s: float = ARMING_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.arming_s = arming_s
        self.clock = clock
        self._quiet_since = clock()
        self.key_counts = False
        """Whether the latest key press came after ``arming_s`` of quiet."""

    def opened(self) -> None:
        """The dialog is on screen now: the quiet period starts again."""
        self._quiet_since = self.clock()
        self.key_counts = False

    def key_pressed(self) -> None:
        """Record a key press (any key): it counts only after a quiet period, and restarts it."""
        now = self.clock()
        self.key_counts = now - self._quiet_since >= self.arming_s
        self._quiet_since = now

    @property
    def quiet(self) -> bool:
        """True when a key pressed now would count."""
        return self.clock() - self._quiet_since >= self.arming_s
