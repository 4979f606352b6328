"""Puts retrieved passages into a prompt as numbered sources, and reads the citations back.

The sources go into the system message (every chat template accepts one system message first,
not all accept one later); the user's own words are sent and stored as they typed them. The
reply's ``[1]``-style markers are matched back to the sources for the footer under the reply.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kb.hit import Hit

INSTRUCTION = (
    "Answer the question using the numbered sources below, which come from the user's documents. "
    "Cite each source you use with its number in square brackets, like [1]. If the sources do "
    "not contain the answer, say so."
)

_MARKER = re.compile(r"\[(\d{1,3})\]")


def label(hit: Hit) -> str:
    """``path:first-last`` (``path:line`` for one line); a line break in a file name is shown
    as ``␤`` so that a label is always one line."""
    lines = f"{hit.first}" if hit.first == hit.last else f"{hit.first}-{hit.last}"
    path = hit.path.replace("\r", "␍").replace("\n", "␤")
    return f"{path}:{lines}"


def sources_block(hits: Sequence[Hit]) -> str:
    """The instruction and the numbered sources, as one block of text."""
    parts = [INSTRUCTION, ""]
    for number, hit in enumerate(hits, start=1):
        heading = f" — {hit.heading}" if hit.heading else ""
        parts.append(f"[{number}] {label(hit)}{heading}\n{hit.text.strip()}\n")
    return "\n".join(parts).rstrip() + "\n"


def with_sources(system: str | None, hits: Sequence[Hit]) -> str:
    """The system prompt to send: the user's own system prompt (if any), then the sources."""
    block = sources_block(hits)
    return f"{system.rstrip()}\n\n{block}" if system and system.strip() else block


def cited(reply: str, count: int) -> list[int]:
    """The source numbers (1..count) the reply cites, in the order first cited."""
    numbers: list[int] = []
    for match in _MARKER.finditer(reply):
        number = int(match.group(1))
        if 1 <= number <= count and number not in numbers:
            numbers.append(number)
    return numbers


def footer(reply: str, hits: Sequence[Hit]) -> str:
    """One line under the reply naming each cited source's file and lines (all if none cited)."""
    numbers = cited(reply, len(hits)) or list(range(1, len(hits) + 1))
    prefix = "sources" if cited(reply, len(hits)) else "retrieved"
    return f"{prefix}: " + " · ".join(f"[{n}] {label(hits[n - 1])}" for n in numbers)
