"""Cuts a document's text into passages that follow its headings and paragraphs.

A heading (Markdown ``#``, a reST title underlined with ``===``/``---``/..., or an HTML heading
written as ``#`` by ``kb.extract``) always starts a new passage; paragraphs (blank-line
separated, a code fence kept whole) are packed into a passage up to ``target`` characters.
A paragraph longer than ``limit`` is cut at lines, and a single line longer than that (Chinese
text is often one line per paragraph) at characters. Every passage keeps the 1-based range of
file lines it came from, and the heading it sits under (which also goes into the search text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TARGET_CHARS = 800
LIMIT_CHARS = 1500

_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+.:_])\1{2,}\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One passage: its text, the heading above it, and its file lines ``first``..``last``."""

    first: int
    last: int
    heading: str
    text: str


@dataclass
class _Block:
    first: int
    last: int
    lines: list[str]
    heading: str | None = None  # set when this block is a heading line


def _blocks(lines: list[str], kind: str) -> list[_Block]:
    blocks: list[_Block] = []
    current: _Block | None = None
    in_fence = False
    i = 0
    while i < len(lines):
        line = lines[i]
        number = i + 1
        if _FENCE.match(line):
            in_fence = not in_fence
        if not in_fence:
            heading = _heading_at(lines, i, kind)
            if heading is not None:
                if current is not None:
                    blocks.append(current)
                    current = None
                skip = 2 if heading[1] else 1
                blocks.append(_Block(number, number + skip - 1, lines[i : i + skip], heading[0]))
                i += skip
                continue
            if not line.strip():
                if current is not None:
                    blocks.append(current)
                    current = None
                i += 1
                continue
        if current is None:
            current = _Block(number, number, [line])
        else:
            current.lines.append(line)
            current.last = number
        i += 1
    if current is not None:
        blocks.append(current)
    return blocks


def _heading_at(lines: list[str], i: int, kind: str) -> tuple[str, bool] | None:
    """(title, underlined) if line ``i`` starts a heading."""
    match = _MD_HEADING.match(lines[i])
    if match and kind != "text":
        return match.group(2).strip() or "#", False
    if kind in {"rst", "text", "markdown"} and i + 1 < len(lines):
        title, under = lines[i].strip(), lines[i + 1].rstrip()
        if (
            title
            and _RST_UNDERLINE.match(under)
            and len(under) >= len(title)
            and not _RST_UNDERLINE.match(title)
            and (kind != "markdown" or under[0] in "=-")
        ):
            return title, True
    return None


def _split_long(block: _Block, limit: int) -> list[_Block]:
    """A block over ``limit`` characters as several, cut at lines (a long line at characters)."""
    pieces: list[_Block] = []
    current: _Block | None = None
    size = 0
    for offset, line in enumerate(block.lines):
        number = block.first + offset
        parts = [line[i : i + limit] for i in range(0, len(line), limit)] or [""]
        for part in parts:
            if current is not None and size + len(part) + 1 > limit:
                pieces.append(current)
                current, size = None, 0
            if current is None:
                current = _Block(number, number, [part])
            else:
                current.lines.append(part)
                current.last = number
            size += len(part) + 1
    if current is not None:
        pieces.append(current)
    return pieces


def chunk(
    text: str, kind: str = "markdown", target: int = TARGET_CHARS, limit: int = LIMIT_CHARS
) -> list[Chunk]:
    """The passages of ``text`` (see the module docstring), in file order."""
    lines = text.splitlines()
    chunks: list[Chunk] = []
    heading = ""
    pending: list[_Block] = []
    size = 0

    def flush() -> None:
        nonlocal pending, size
        if pending:
            body = "\n\n".join("\n".join(b.lines) for b in pending).strip()
            if body:
                chunks.append(Chunk(pending[0].first, pending[-1].last, heading, body))
        pending, size = [], 0

    for block in _blocks(lines, kind):
        if block.heading is not None:
            flush()
            heading = block.heading
            continue
        length = sum(len(line) + 1 for line in block.lines)
        parts = _split_long(block, limit) if length > limit else [block]
        for part in parts:
            part_size = sum(len(line) + 1 for line in part.lines)
            if pending and size + part_size > target:
                flush()
            pending.append(part)
            size += part_size
    flush()
    return chunks
