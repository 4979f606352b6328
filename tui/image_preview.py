"""Which way attached images are drawn in this terminal: Kitty graphics, Sixel, half-blocks, or text.

textual-image finds out by asking the terminal (a Sixel query, ``ESC [ c``, then a Kitty graphics
query), once, when ``textual_image.renderable`` is first imported; the answer is read straight
from stdin with a 0.1 s timeout each. That only works before Textual starts (its input thread
would take the answers as keys), so ``detect`` is called by the CLI before the app runs and the
result kept here for the widgets.

Where detection falls short, and why: over SSH with more than ~100 ms round trip the answer
arrives after the timeout and the half-block fallback is used; inside tmux the Kitty query is not
passed through (and tmux answers the Sixel query itself: Sixel when tmux was built with it, 3.4+),
so tmux gets Sixel or half-blocks. ``INTERNLM_TUI_IMAGES=kitty|sixel|halfcell|text`` overrides
the detection. Half-blocks are ordinary coloured cells and work everywhere with 256 or true
colours; on a 16-colour terminal, with ``--no-image-preview`` or without a terminal, images are a
line of text (name, size, pixel dimensions).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Literal

Mode = Literal["kitty", "sixel", "halfcell", "text"]
MODES: tuple[Mode, ...] = ("kitty", "sixel", "halfcell", "text")
OVERRIDE_VARIABLE = "INTERNLM_TUI_IMAGES"

_mode: Mode = "text"


def mode() -> Mode:
    """How images are drawn (``text`` until ``detect`` or ``set_mode`` says otherwise)."""
    return _mode


def set_mode(value: Mode) -> None:
    """Choose the mode (tests, and ``detect``)."""
    global _mode
    _mode = value


def detect(enabled: bool) -> Mode:
    """Ask the terminal (through textual-image) what it can draw; call before the app starts."""
    override = os.environ.get(OVERRIDE_VARIABLE, "").strip().lower()
    stdout = sys.__stdout__
    if not enabled or override == "text" or stdout is None or not stdout.isatty():
        set_mode("text")
        return _mode
    for forced in MODES:
        if override == forced:
            set_mode(forced)
            return _mode
    if os.environ.get("TERM", "") in ("dumb", "linux", ""):
        set_mode("text")  # the Linux console has 16 colours and no graphics
        return _mode
    try:  # importing the widgets asks the terminal for Sixel, Kitty graphics and its cell size
        import textual_image.widget  # noqa: F401
        from textual_image import renderable
        from textual_image.renderable.sixel import Image as SixelImage
        from textual_image.renderable.tgp import Image as TGPImage
    except Exception:  # a terminal that answers oddly must never stop the app starting
        set_mode("halfcell")
        return _mode
    found = renderable.Image
    set_mode("sixel" if found is SixelImage else "kitty" if found is TGPImage else "halfcell")
    return _mode


def route_graphics(write: Callable[[str], None]) -> None:
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
