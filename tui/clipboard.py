"""How copied text reaches the user: OSC 52 to the terminal (over SSH too), or a file.

Textual's ``App.copy_to_clipboard`` writes a plain OSC 52 sequence. Inside tmux that sequence
only reaches the outer terminal when tmux's ``set-clipboard`` allows it, so there it is also
sent wrapped in tmux's passthrough (DCS ``tmux;``), which works with ``allow-passthrough on``.
Terminals that cannot take OSC 52 at all (the Linux console, ``dumb``) get a file instead, and
``--clipboard file`` forces that anywhere.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from tui.private_files import private_dir, write_private_text
from tui.sanitize import storable

Method = Literal["osc52", "file"]

NO_OSC52_TERMS = frozenset({"linux", "dumb", "vt100", "vt102", "vt220", "cons25", "unknown"})
"""Terminals known to ignore OSC 52; ``auto`` writes a file for them."""


@runtime_checkable
class CopiesText(Protocol):
    """An app that copies text and tells the user how it went (``InternLMApp``)."""

    def copy_text(self, text: str, what: str) -> None: ...


def choose_method(mode: str, environ: Mapping[str, str]) -> Method:
    """``auto`` is OSC 52 unless the terminal is known not to support it."""
    if mode == "file":
        return "file"
    if mode == "osc52":
        return "osc52"
    term = environ.get("TERM", "").strip().lower()
    return "file" if not term or term in NO_OSC52_TERMS else "osc52"


def osc52(text: str) -> str:
    """The OSC 52 "set clipboard" sequence for ``text``."""
    data = storable(text).encode("utf-8")  # a lone surrogate in a reply must not make copying fail
    return f"\x1b]52;c;{base64.b64encode(data).decode('ascii')}\x07"


def tmux_passthrough(sequence: str) -> str:
    """``sequence`` wrapped so tmux forwards it to the outer terminal unchanged."""
    return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"


def copy_file_path() -> Path:
    """Where copies go when the terminal cannot take them."""
    from platformdirs import user_state_path

    return user_state_path("internlm-tui") / "copied.txt"


def write_copy_file(text: str, path: Path | None = None) -> Path:
    """Write ``text`` to the copy file, readable by this user only (it may hold private text)."""
    target = path or copy_file_path()
    private_dir(target.parent, tighten_existing=path is None)
    return write_private_text(target, text)
