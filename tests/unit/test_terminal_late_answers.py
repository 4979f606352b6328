"""Answers to the start-up terminal query that come after it gave up are taken out of the input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tui import terminal_query
from tui.driver import _InputParser


@pytest.fixture(autouse=True)
def _not_expected() -> Iterator[None]:
    yield
    terminal_query._late_until = None


LATE = "\x1b_Gi=31;OK\x1b\\\x1b[6;20;10t\x1b[?62;4;22c"


def test_nothing_is_taken_out_when_the_query_was_answered() -> None:
    assert terminal_query.strip_late("ab" + LATE) == "ab" + LATE


def test_late_answers_are_taken_out_and_the_keys_around_them_kept() -> None:
    terminal_query.expect_late_answers()
    assert terminal_query.strip_late("hi") == "hi"
    assert terminal_query.strip_late("a" + LATE + "b\x1b[A") == "ab\x1b[A"
    assert terminal_query.strip_late(LATE) == LATE  # DA1's answer came: nothing more is expected


def test_nothing_is_taken_out_after_the_window() -> None:
    terminal_query.expect_late_answers(window_s=-1.0)
    assert terminal_query.strip_late(LATE) == LATE


def test_the_parser_turns_late_answers_into_no_keys_at_all() -> None:
    terminal_query.expect_late_answers()
    parser = _InputParser()
    assert list(parser.feed(LATE)) == []
    keys = [getattr(event, "character", None) for event in parser.feed("x")]
    assert keys == ["x"]  # the parser is still reading (an empty feed would have ended it)
