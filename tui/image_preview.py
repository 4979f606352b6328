"""Which way attached images are drawn in this terminal: Kitty graphics, Sixel, half-blocks, or text.

The terminal is asked once, before Textual starts (its input thread would take the answers as
keys), by ``tui.terminal_query``: one round trip, waiting for the DA1 answer that every terminal
gives, so a slow SSH link still gets the right answer. The pictures are drawn by textual-image's
widgets for the mode found here, imported when the first picture is drawn (it costs about 0.2 s,
kept out of the start-up); its own import-time detection (three sequential queries with 0.1 s
timeouts) is kept from running by importing it while stdout does not look like a terminal.

Inside tmux (and GNU screen) the Kitty query is not sent (it would become the pane title) and
tmux answers DA1 itself (with Sixel when tmux was built with it, 3.4+), so tmux gets Sixel or
half-blocks. A terminal that does not
answer within a second gets half-blocks. ``INTERNLM_TUI_IMAGES=kitty|sixel|halfcell|text``
overrides the detection. Half-blocks are ordinary coloured cells; on a 16-colour terminal, with
``--no-image-preview`` or without a terminal, images are a line of text (name, size, pixels).
"""

from __future__ import annotations

import fcntl
import os
import struct
import sys
import termios
from collections.abc import Callable
from typing import Literal, TextIO

from tui import terminal_query

Mode = Literal["kitty", "sixel", "halfcell", "text"]
MODES: tuple[Mode, ...] = ("kitty", "sixel", "halfcell", "text")
OVERRIDE_VARIABLE = "INTERNLM_TUI_IMAGES"

_mode: Mode = "text"
_answers = terminal_query.Answers()
_loaded = False
_graphics_writer: Callable[[str], None] | None = None


def mode() -> Mode:
    """How images are drawn (``text`` until ``detect`` or ``set_mode`` says otherwise)."""
    return _mode


def set_mode(value: Mode) -> None:
    """Choose the mode (tests, and ``detect``)."""
    global _mode
    _mode = value


def detect(enabled: bool) -> Mode:
    """Ask the terminal what it can draw and load textual-image for it; call before the app starts."""
    override = os.environ.get(OVERRIDE_VARIABLE, "").strip().lower()
    stdout = sys.__stdout__
    if not enabled or override == "text" or stdout is None or not stdout.isatty():
        set_mode("text")
        return _mode
    if os.environ.get("TERM", "") in ("dumb", "linux", ""):
        set_mode("text")  # the Linux console has 16 colours and no graphics
        return _mode
    global _answers
    forced = next((m for m in MODES if m == override), None)
    try:
        _answers = terminal_query.ask() if forced is None else terminal_query.Answers()
    except (OSError, ValueError):  # a terminal we cannot put in cbreak mode: no graphics asked
        _answers = terminal_query.Answers()
    answers = _answers
    set_mode(forced or ("kitty" if answers.kitty else "sixel" if answers.sixel else "halfcell"))
    return _mode


def load_widgets() -> None:
    """Import textual-image for the first picture (about 0.2 s, so not at start-up), without its
    own terminal queries; raises if it cannot be loaded (the caller then shows text)."""
    global _loaded
    if _loaded:
        return
    _load_textual_image(_answers)
    _loaded = True
    if _graphics_writer is not None:
        _route(_graphics_writer)


class _NotATerminal:
    """Stands in for ``sys.__stdout__`` while textual-image is imported, so that its import-time
    queries (see the module docstring) are skipped; everything else goes to the real stream."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def _load_textual_image(answers: terminal_query.Answers) -> None:
    """Import textual-image's widgets without its own terminal queries, with the cell size the
    terminal reported (else its ioctl / default guess, which needs no query)."""
    real = sys.__stdout__
    assert real is not None
    from textual_image import _terminal

    width, height = answers.cell_width, answers.cell_height
    if not (width and height):
        try:  # the size in pixels the kernel knows for the terminal, if it knows one
            packed = fcntl.ioctl(real.fileno(), termios.TIOCGWINSZ, b"\0" * 8)
            rows, columns, pixels_wide, pixels_high = struct.unpack("HHHH", packed)
            width, height = pixels_wide // max(columns, 1), pixels_high // max(rows, 1)
        except OSError:
            width = height = 0
    if width and height:  # else textual-image's default guess (10×20), made without a query
        setattr(_terminal.get_cell_size, "_result", _terminal.CellSize(width, height))  # noqa: B010  (its cache)
    sys.__stdout__ = _NotATerminal(real)  # type: ignore[misc,assignment]
    try:
        import textual_image.widget  # noqa: F401
    finally:
        sys.__stdout__ = real  # type: ignore[misc]


def route_graphics(write: Callable[[str], None]) -> None:
    """Kitty graphics data goes through ``write`` once textual-image is loaded (see ``_route``)."""
    global _graphics_writer
    _graphics_writer = write
    if _loaded:
        _route(write)


def _route(write: Callable[[str], None]) -> None:
    """Send Kitty graphics data through ``write`` (the app's terminal writer) instead of
    textual-image's direct writes to ``sys.__stdout__``.

    Why: Textual's frames go out on our writer thread (``tui.terminal_writer``); a direct write
    from the render path could land in the middle of a frame being written and break both
    escape sequences, and would block if the terminal stalls. Through the writer, an image's data
    is queued just before the frame that places it, in order, and dropped once the terminal is
    gone. (Sixel data is part of the frame already; half-blocks are plain cells.)
    """
    from textual_image.renderable import tgp

    def send(*, payload: str | None = None, **keys: int | str | None) -> None:
        fields = ",".join(f"{key}={value}" for key, value in keys.items() if value is not None)
        write(f"\x1b_G{fields}{';' + payload if payload else ''}\x1b\\")

    tgp._send_tgp_message = send
