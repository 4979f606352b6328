"""Property tests for the one sanitiser every piece of displayed untrusted text goes through."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from tui.sanitize import one_line, reveal, sanitize

HOSTILE = ["\x1b]0;title\x07", "\x1b]52;c;aGk=\x07", "\x1b[2J", "\x1bP+q\x1b\\", "\x9b31m", "\x1b[6n", "\x00"]
texts = st.lists(st.one_of(st.text(), st.sampled_from(HOSTILE), st.sampled_from(["\u202e", "\u200b"]))).map(
    "".join
)


def controls(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) == "Cc" and c not in "\n\t"]


@given(texts)
def test_no_control_character_but_newline_and_tab_survives(text: str) -> None:
    assert controls(sanitize(text)) == []


@given(texts, st.integers(min_value=0))
def test_any_split_gives_the_same_output(text: str, cut: int) -> None:
    cut = cut % (len(text) + 1)
    assert sanitize(text[:cut]) + sanitize(text[cut:]) == sanitize(text)


@given(st.text())
def test_text_without_controls_is_unchanged(text: str) -> None:
    if not controls(text):
        assert sanitize(text) == text


@given(st.from_regex(r"\[(/?[a-z @=.]{0,12})\][a-z ]{0,8}(\[/\])?", fullmatch=True))
def test_markup_like_text_is_left_exactly_as_written(text: str) -> None:
    assert sanitize(text) == text


@given(texts)
def test_reveal_leaves_no_invisible_or_bidi_character(text: str) -> None:
    shown = reveal(text)
    assert controls(shown) == []
    assert all(unicodedata.category(c) != "Cf" for c in shown)


def test_reveal_names_a_bidi_override() -> None:
    assert reveal("x = 1 \u202e# comment") == "x = 1 ⟨U+202E⟩# comment"


def test_one_line_is_a_single_short_line() -> None:
    assert one_line("bad\x1b[31m thing\nsecond line") == "bad␛[31m thing"
    assert len(one_line("x" * 1000, limit=50)) == 50
