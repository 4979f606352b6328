"""Where a long Markdown reply can be cut into independent pieces that render the same.

Textual lays out every block of a ``Markdown`` widget again whenever its last block grows, so
one widget holding a 4,000-token reply makes each streamed word cost time in proportion to the
whole reply. A reply shown as a column of Markdown widgets, each a few thousand characters, costs
the same per word at any length. A cut is only made at a blank line outside a code fence and
before a line that starts flush left, so no fence, list item or paragraph is split in two.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

SEGMENT_CHARS = 2000
"""A piece is cut off once it is at least this long and a safe place comes."""

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CONTINUES = re.compile(r"[-*+>|]|\d+[.)]")  # a list item, quote or table row goes on


def lines_of(text: str) -> list[str]:
    """``text`` cut after each newline, as markdown-it counts lines (``str.splitlines`` also cuts
    at form feeds, U+2028 and others, which would put a cut or a block's end on the wrong line)."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def _safe_cuts(text: str) -> Iterator[int]:
    """Every safe cut in ``text``, in order: just after a blank line outside a code fence,
    before a line that starts flush left and does not go on with a list, quote or table."""
    fence: str | None = None
    position = 0
    lines = lines_of(text)
    for index, line in enumerate(lines):
        position += len(line)
        opened = _FENCE.match(line)
        if opened:
            marker = opened.group(1)
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence):
                fence = None
            continue
        if fence is not None or line.strip() or index + 1 >= len(lines):
            continue
        following = lines[index + 1]
        if following[:1].strip() and not _CONTINUES.match(following):
            yield position


def safe_split_point(text: str, min_length: int = SEGMENT_CHARS) -> int | None:
    """The index of the first safe cut at or after ``min_length`` in ``text``, if any.

    The cut falls just after a blank line; the text from it on starts a new piece.
    """
    if len(text) < min_length:
        return None
    return next((cut for cut in _safe_cuts(text) if cut >= min_length), None)


def last_block_end(text: str) -> int:
    """Where the last finished block(s) of a streamed ``text`` end: its last safe cut, or 0.

    Everything before the cut renders the same whatever comes after it; the rest is the block
    still being written.
    """
    last = 0
    for last in _safe_cuts(text):  # noqa: B007 - the last one is wanted
        pass
    return last


def split_segments(text: str, min_length: int = SEGMENT_CHARS) -> list[str]:
    """``text`` cut at every safe place once each piece is ``min_length`` long."""
    segments: list[str] = []
    while (cut := safe_split_point(text, min_length)) is not None:
        segments.append(text[:cut])
        text = text[cut:]
    segments.append(text)
    return segments
