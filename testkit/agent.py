"""Scripted agent turns shared by the agent tests."""

from __future__ import annotations

from backends.events import BackendEvent, TokenDelta

SOLVE = (
    "Thought: I will solve 2x+3=10 with Python.\n"
    "Action: python\n"
    "Action Input: ```python\nx = (10 - 3) / 2\nprint(x)\n```\n"
)


ANSWER = "Thought: the program printed 3.5.\nFinal Answer: x = 3.5"


def words(text: str) -> list[BackendEvent]:
    """A scripted LLM turn that streams ``text`` a few characters at a time."""
    return [TokenDelta(text[i : i + 5]) for i in range(0, len(text), 5)]
