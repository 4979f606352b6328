"""Ask the terminal, in one round trip before the app starts, what graphics it can draw.

Hand-written rather than textual-image's own detection, which sends a Sixel query, then a Kitty
graphics query, then a cell-size query, one after the other, each waiting at most 0.1 s: three
round trips at start-up, a wrong answer over any SSH link slower than 100 ms, and a late answer
left in stdin for Textual to read as key presses. Here the Kitty graphics query, the cell-size
query (``CSI 16 t``) and the primary device attributes query (DA1, ``CSI c``) go out together, as
the Kitty protocol's documentation recommends: every terminal answers DA1, and answers in order,
so once the DA1 answer is in, every other answer the terminal will give is in too. Nothing is
waited for past that, and the wait for DA1 itself is ``timeout_s`` (long enough for a slow link).
When DA1's answer does not come in time, the answers may still come later, while Textual reads
the keyboard: ``strip_late`` takes them out of its input (``tui.driver``) until DA1's has gone by,
so they are never typed into the prompt.
"""

from __future__ import annotations

import os
import re
import select
import sys
import termios
import time
import tty
from dataclasses import dataclass

KITTY_QUERY = "\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"
CELL_SIZE_QUERY = "\x1b[16t"
DA1_QUERY = "\x1b[c"
_DA1 = re.compile(rb"\x1b\[\?([\d;]*)c")
_KITTY_OK = re.compile(rb"\x1b_G[^\x1b]*;OK\x1b\\")
_CELL = re.compile(rb"\x1b\[6;(\d+);(\d+)t")
_LATE = re.compile(r"\x1b_G[^\x1b]*\x1b\\|\x1b\[6;\d+;\d+t|\x1b\[\?[\d;]*c")
_LATE_DA1 = re.compile(r"\x1b\[\?[\d;]*c")
LATE_WINDOW_S = 60.0
"""How long after a query that timed out its answers are still taken out of the input."""
_late_until: float | None = None


@dataclass(frozen=True, slots=True)
class Answers:
    """What the terminal said: Kitty graphics, Sixel (DA1 attribute 4), its cell size in pixels."""

    kitty: bool = False
    sixel: bool = False
    cell_width: int | None = None
    cell_height: int | None = None
    answered: bool = False
    """False when the terminal did not answer DA1 in time (nothing is known)."""


def parse(reply: bytes) -> Answers:
    """Read the terminal's answers out of what came back on stdin."""
    da1 = _DA1.search(reply)
    cell = _CELL.search(reply)
    return Answers(
        kitty=bool(_KITTY_OK.search(reply)),
        sixel=da1 is not None and "4" in da1.group(1).decode().split(";"),
        cell_width=int(cell.group(2)) if cell else None,
        cell_height=int(cell.group(1)) if cell else None,
        answered=bool(da1),
    )


def inside_multiplexer(environ: dict[str, str] | None = None) -> bool:
    """True inside tmux or screen: they draw no Kitty graphics, and tmux takes the Kitty query
    (an APC string) as the pane's new title."""
    env = os.environ if environ is None else environ
    term = env.get("TERM", "")
    return bool(env.get("TMUX") or env.get("STY")) or term.startswith(("screen", "tmux"))


def ask(timeout_s: float = 1.0) -> Answers:
    """Send the queries and read the answers until DA1's (stdin and stdout must be the
    terminal; the app has not started, so nothing else reads stdin). No Kitty query inside
    tmux or screen (see ``inside_multiplexer``)."""
    stdin, stdout = sys.__stdin__, sys.__stdout__
    if stdin is None or stdout is None or not stdin.isatty() or not stdout.isatty():
        return Answers()
    fd = stdin.fileno()
    saved = termios.tcgetattr(fd)
    reply = b""
    try:
        tty.setcbreak(fd, termios.TCSANOW)  # no echo, no line buffering, while we read answers
        stdout.write((KITTY_QUERY if kitty_query_allowed() else "") + CELL_SIZE_QUERY + DA1_QUERY)
        stdout.flush()
        deadline = time.monotonic() + timeout_s
        while not _DA1.search(reply):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                break
            piece = os.read(fd, 4096)
            if not piece:
                break
            reply += piece
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)
    answers = parse(reply)
    if not answers.answered:
        expect_late_answers()
    return answers


def kitty_query_allowed() -> bool:
    """Not inside tmux or GNU screen: neither passes Kitty graphics through, and both take an
    APC string (what the Kitty query is) as the pane's title, which tmux shows in its status line."""
    return not inside_multiplexer()


def expect_late_answers(window_s: float = LATE_WINDOW_S) -> None:
    """The query timed out: answers arriving in the next ``window_s`` are not keys."""
    global _late_until
    _late_until = time.monotonic() + window_s


def strip_late(data: str) -> str:
    """``data`` read from the terminal without the answers of a query that timed out.

    Only while they are expected (see ``expect_late_answers``); DA1's answer comes last, so once
    it has gone by nothing more is taken out. A chunk of input that is only the user's keys is
    returned as it is."""
    global _late_until
    if _late_until is None or "\x1b" not in data:
        return data
    if time.monotonic() > _late_until:
        _late_until = None
        return data
    if _LATE_DA1.search(data):
        _late_until = None
    return _LATE.sub("", data)
