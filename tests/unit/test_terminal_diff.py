"""The trimmed output draws exactly what the full frames draw (checked on a terminal emulator).

Random frames of styled pieces (wide characters, accents, overlapping pieces, growing and
shrinking text) go to two ``pyte`` screens: one gets every frame in full, the other what
``ScreenDiff`` lets through. After every frame both screens must show the same characters in
the same colours, and the trimmed stream must be smaller when little changed.
"""

from __future__ import annotations

import pyte
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.terminal_diff import ScreenDiff

COLUMNS, ROWS = 40, 6
STYLES = ["", "\x1b[1m", "\x1b[38;5;69;48;5;16m", "\x1b[7;38;5;23m", "\x1b[3m\x1b[31m"]
WORDS = ["a", "ab", "word", "世界", "é", "e\u0301", " ", "  ", "──", "x" * 7]


def styled(style: str, text: str) -> str:
    return f"{style}{text}\x1b[0m" if style else text


@st.composite
def pieces(draw: st.DrawFn) -> tuple[int, int, str]:
    """One piece: a move and up to four styled runs that fit on the row."""
    row = draw(st.integers(1, ROWS))
    col = draw(st.integers(1, COLUMNS - 28))  # four runs of at most 7 cells fit on the row
    runs = draw(st.lists(st.tuples(st.sampled_from(STYLES), st.sampled_from(WORDS)), min_size=1, max_size=4))
    return row, col, f"\x1b[{row};{col}H" + "".join(styled(style, text) for style, text in runs)


def as_frame(parts: list[tuple[int, int, str]]) -> str:
    """Pieces in row order, rows separated by newlines (none after the last), as Textual writes."""
    rows = sorted({row for row, _, _ in parts})
    lines = ["".join(text for row, _, text in sorted(parts) if row == wanted) for wanted in rows]
    return "\r\n".join(lines) + "\x1b[1;1H"


frames = st.lists(pieces(), min_size=1, max_size=6).map(as_frame)


def screen_state(screen: pyte.Screen) -> list[list[tuple[str, str, str, bool, bool, bool]]]:
    return [
        [
            (cell.data, cell.fg, cell.bg, cell.bold, cell.italics, cell.reverse)
            for cell in (screen.buffer[y][x] for x in range(COLUMNS))
        ]
        for y in range(ROWS)
    ]


def terminal() -> tuple[pyte.Screen, pyte.Stream]:
    screen = pyte.Screen(COLUMNS, ROWS)
    return screen, pyte.Stream(screen)


@settings(max_examples=300, deadline=None)
@given(st.lists(frames, min_size=1, max_size=12))
def test_trimmed_frames_draw_what_full_frames_draw(sequence: list[str]) -> None:
    full_screen, full = terminal()
    trimmed_screen, trimmed = terminal()
    diff = ScreenDiff()
    for frame in sequence:
        full.feed(frame)
        trimmed.feed(diff.filter(frame, (COLUMNS, ROWS)))
        assert screen_state(trimmed_screen) == screen_state(full_screen)
        assert trimmed_screen.cursor.x == full_screen.cursor.x
        assert trimmed_screen.cursor.y == full_screen.cursor.y


def test_only_changed_cells_are_sent() -> None:
    diff = ScreenDiff()
    blue = "\x1b[38;5;189m"
    line = f"\x1b[3;5H{blue}The reply so far\x1b[0m{blue}    \x1b[0m\x1b[9;1H"
    assert diff.filter(line, (80, 24)) == f"\x1b[3;5H{blue}The reply so far    \x1b[0m\x1b[9;1H"
    assert diff.filter(line, (80, 24)) == "\x1b[9;1H"  # unchanged: only where the cursor goes
    grown = f"\x1b[3;5H{blue}The reply so far, and\x1b[0m\x1b[9;1H"
    assert diff.filter(grown, (80, 24)) == f"\x1b[3;21H{blue}, and\x1b[0m\x1b[9;1H"
    edited = f"\x1b[3;5H{blue}The reply is far, and\x1b[0m\x1b[9;1H"
    assert diff.filter(edited, (80, 24)) == f"\x1b[3;15H{blue}is\x1b[0m\x1b[9;1H"


def test_a_new_size_or_a_foreign_sequence_sends_the_next_frame_in_full() -> None:
    diff = ScreenDiff()
    frame = "\x1b[1;1Hhello\x1b[1;6H"
    diff.filter(frame, (80, 24))
    assert diff.filter(frame, (100, 30)) == frame  # resized: the terminal may have reflowed
    assert diff.filter("\x1b]52;c;aGk=\x07", (100, 30)) == "\x1b]52;c;aGk=\x07"  # not a frame: passed on
    assert diff.filter(frame, (100, 30)) == frame  # and everything was forgotten


def test_synchronized_update_markers_pass_through_without_forgetting() -> None:
    diff = ScreenDiff()
    diff.filter("\x1b[1;1Hhello", (80, 24))
    assert diff.filter("\x1b[?2026h", (80, 24)) == "\x1b[?2026h"
    assert diff.filter("\x1b[1;1Hhello", (80, 24)) == ""
