"""Sends a terminal only the cells that changed, so a streamed word costs bytes, not a repaint.

Textual repaints whole widget regions: a reply that grows by one word rewrites every line of its
paragraph, and a pane whose content changes height rewrites the whole pane. Over SSH those bytes
are the latency a user feels. ``ScreenDiff`` sits between Textual and the terminal: it reads each
frame (cursor moves, SGR colours and text, nothing else), remembers what every piece of a row
written at a (row, column) holds, and forwards a piece only from its first changed cell. The
terminal ends up showing exactly what the full frame would have shown.

It never guesses: any write it does not fully understand (mode switches, clipboard, title) goes
through untouched and makes it forget everything, as does a change of terminal size, so the next
frame is sent in full.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rich.cells import cell_len

_TOKENS = re.compile(
    r"(?P<move>\x1b\[(?P<row>\d+);(?P<col>\d+)H)"
    r"|(?P<sgr>\x1b\[[0-9;:]*m)"
    r"|(?P<mode>\x1b\[\?(?:2026|25)[hl])"
    r"|(?P<text>[^\x1b]+)"
)
_RESET = "\x1b[0m"
_NEWLINES = frozenset("\r\n")

Run = tuple[str, str]
"""Text and the SGR sequences in force for it ("" for the terminal's default style)."""


@dataclass(frozen=True)
class Piece:
    """What one cursor move in a frame wrote: styled runs from (row, col) on."""

    row: int
    col: int
    runs: tuple[Run, ...]

    @property
    def width(self) -> int:
        """How many cells the piece covers."""
        return sum(cell_len(text) for _, text in self.runs)


def _parse(frame: str) -> list[Piece | str] | None:
    """A frame as pieces and mode sequences (kept as they are), or None if it is not a frame."""
    items: list[Piece | str] = []
    row = col = -1
    runs: list[Run] = []
    style = ""

    def close_piece() -> None:
        if row >= 0:
            items.append(Piece(row, col, tuple(runs)))

    position = 0
    for match in _TOKENS.finditer(frame):
        if match.start() != position:
            return None  # an escape sequence this module does not understand
        position = match.end()
        if match["move"]:
            close_piece()
            row, col, runs, style = int(match["row"]), int(match["col"]), [], ""
        elif match["sgr"]:
            sequence = match["sgr"]
            style = "" if sequence in (_RESET, "\x1b[m") else style + sequence
        elif match["mode"]:
            items.append(match["mode"])
        else:
            text = match["text"]
            if set(text) <= _NEWLINES:
                continue  # rows are separated by newlines, but every row starts with a move
            if row < 0 or "\r" in text or "\n" in text:
                return None
            runs.append((style, text))
    if position != len(frame):
        return None
    close_piece()
    return items


def _encode(runs: tuple[Run, ...] | list[Run]) -> str:
    return "".join(f"{style}{text}{_RESET}" if style else text for style, text in runs)


def _changed_tail(old: Piece, new: Piece) -> str | None:
    """What to send so the cells ``old`` drew show ``new``; None when nothing changed."""
    if old.runs == new.runs:
        return None
    skipped = 0
    pairs = zip(old.runs, new.runs, strict=False)
    for index, ((old_style, old_text), (new_style, new_text)) in enumerate(pairs):
        if (old_style, old_text) == (new_style, new_text):
            skipped += cell_len(new_text)
            continue
        same = 0
        if old_style == new_style:
            limit = min(len(old_text), len(new_text))
            while same < limit and old_text[same] == new_text[same]:
                same += 1
            # never split a character from the accents combined with it
            while same and (
                (same < len(new_text) and unicodedata.combining(new_text[same]))
                or (same < len(old_text) and unicodedata.combining(old_text[same]))
            ):
                same -= 1
        tail = [(new_style, new_text[same:]), *new.runs[index + 1 :]]
        return f"\x1b[{new.row};{new.col + skipped + cell_len(new_text[:same])}H{_encode(tail)}"
    # one piece's runs are a prefix of the other's: send the new runs after the shared ones
    shared = min(len(old.runs), len(new.runs))
    tail_runs = new.runs[shared:]
    return f"\x1b[{new.row};{new.col + skipped}H{_encode(tail_runs)}" if tail_runs else None


class ScreenDiff:
    """Remembers what the terminal shows and trims frames to what changed."""

    def __init__(self) -> None:
        self._rows: dict[int, dict[int, Piece]] = {}
        self._size: tuple[int, int] | None = None

    def forget(self) -> None:
        """The terminal may show anything now: send the next frame in full."""
        self._rows.clear()

    def filter(self, data: str, size: tuple[int, int]) -> str:
        """What to write instead of ``data`` on a terminal of ``size`` (columns, rows)."""
        if size != self._size:
            self._size = size
            self.forget()
        items = _parse(data)
        if items is None:
            self.forget()
            return data
        out: list[str] = []
        last = len(items) - 1
        for number, item in enumerate(items):
            if isinstance(item, str):
                out.append(item)
                continue
            if not item.runs:
                if number == last:  # where the frame leaves the cursor
                    out.append(f"\x1b[{item.row};{item.col}H")
                continue
            out.append(self._update(item))
        return "".join(out)

    def _update(self, piece: Piece) -> str:
        row = self._rows.setdefault(piece.row, {})
        start, end = piece.col, piece.col + piece.width
        previous = row.get(start)
        for col, other in list(row.items()):
            if col != start and col < end and start < col + other.width:
                del row[col]  # overwritten, so no longer known
        row[start] = piece
        if previous is None or previous.width > piece.width:
            return f"\x1b[{piece.row};{piece.col}H{_encode(piece.runs)}"
        return _changed_tail(previous, piece) or ""
