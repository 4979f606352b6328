"""Sends a terminal only the cells that changed, so a streamed word costs bytes, not a repaint.

Textual repaints whole widget regions: a reply that grows by one word rewrites every line of its
paragraph, and a pane whose content changes height rewrites the whole pane. Over SSH those bytes
are the latency a user feels. ``ScreenDiff`` sits between Textual and the terminal: it reads each
frame (cursor moves, SGR colours and text, nothing else), keeps a model of every cell the
terminal shows, and forwards each written piece of a row only from its first to its last changed
cell. The terminal ends up showing exactly what the full frame would have shown.

It never guesses: any write it does not fully understand (mode switches, clipboard, title) goes
through untouched and makes it forget everything, as does a change of terminal size, so the next
frame is sent in full.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from rich.cells import get_character_cell_size

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


Cell = tuple[str, str]
"""One screen column: its style and its character (with any combining marks); the column right
of a wide character holds ``_WIDE_TAIL``."""

_WIDE_TAIL: Cell = ("", "")


def _cells(runs: tuple[Run, ...]) -> list[Cell]:
    """The columns that ``runs`` cover, one cell per column."""
    cells: list[Cell] = []
    for style, text in runs:
        for character in text:
            width = get_character_cell_size(character)
            if width == 0 and cells:  # a combining mark belongs to the character before it
                previous_style, previous = cells[-1]
                cells[-1] = (previous_style, previous + character)
            else:
                cells.append((style, character))
                if width == 2:
                    cells.append(_WIDE_TAIL)
    return cells


def _encode(cells: list[Cell]) -> str:
    """Cells as text, one SGR run per style, each closed by a reset like Rich writes them."""
    out: list[str] = []
    drawn = (cell for cell in cells if cell != _WIDE_TAIL)  # a wide character draws its tail
    for style, group in itertools.groupby(drawn, key=lambda cell: cell[0]):
        text = "".join(character for _, character in group)
        out.append(f"{style}{text}{_RESET}" if style else text)
    return "".join(out)


class ScreenDiff:
    """Remembers what the terminal shows and trims frames to what changed."""

    def __init__(self) -> None:
        self._screen: list[list[Cell | None]] = []
        self._size: tuple[int, int] | None = None

    def forget(self) -> None:
        """The terminal may show anything now: send the next frame in full."""
        columns, rows = self._size or (0, 0)
        self._screen = [[None] * columns for _ in range(rows)]

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
            elif item.runs:
                out.append(self._update(item))
            elif number == last:  # where the frame leaves the cursor
                out.append(f"\x1b[{item.row};{item.col}H")
        return "".join(out)

    def _update(self, piece: Piece) -> str:
        """The bytes that make the screen show ``piece``, given what it shows now."""
        cells = _cells(piece.runs)
        row, start = piece.row - 1, piece.col - 1
        if not (0 <= row < len(self._screen) and start >= 0 and start + len(cells) <= len(self._screen[row])):
            self.forget()  # off the screen as we know it: send it and trust nothing
            return f"\x1b[{piece.row};{piece.col}H{_encode(cells)}"
        line = self._screen[row]
        changed = [index for index, cell in enumerate(cells) if line[start + index] != cell]
        if not changed:
            return ""
        first, last = changed[0], changed[-1] + 1
        if cells[first] == _WIDE_TAIL:  # start with the wide character itself
            first -= 1
        if last < len(cells) and cells[last] == _WIDE_TAIL:
            last += 1
        # Overwriting half of a wide character may blank its other half: no longer known.
        if line[start + first] == _WIDE_TAIL and start + first > 0:
            line[start + first - 1] = None
        end = start + last
        if end < len(line) and line[end] == _WIDE_TAIL:
            line[end] = None
        line[start + first : end] = cells[first:last]
        return f"\x1b[{piece.row};{piece.col + first}H{_encode(cells[first:last])}"
