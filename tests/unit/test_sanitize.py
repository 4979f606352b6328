"""Property tests for the one sanitiser every piece of displayed untrusted text goes through."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from tui.sanitize import REPLACEMENT, one_line, reveal, sanitize, storable

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


SURROGATES = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff", "\ud83d", "\ude00"])
with_surrogates = st.lists(st.one_of(st.text(), st.sampled_from(HOSTILE), SURROGATES)).map("".join)


@given(with_surrogates)
def test_no_surrogate_survives_and_the_result_can_be_written(text: str) -> None:
    shown = sanitize(text)
    assert all(unicodedata.category(c) != "Cs" for c in shown)
    shown.encode("utf-8")  # what the terminal gets never fails to encode
    assert len(shown) >= len(text)  # every character is still there, as itself or a placeholder


def test_a_lone_surrogate_is_shown_as_the_replacement_character() -> None:
    assert sanitize("a\ud800b") == f"a{REPLACEMENT}b"


def test_every_c1_control_is_shown_as_text() -> None:
    shown = sanitize("".join(chr(code) for code in range(0x80, 0xA0)))
    assert controls(shown) == [] and shown.startswith("\\x80\\x81") and shown.endswith("\\x9f")


@given(with_surrogates)
def test_storable_text_always_encodes_and_keeps_everything_else(text: str) -> None:
    stored = storable(text)
    stored.encode("utf-8")
    if not any(unicodedata.category(c) == "Cs" for c in text):
        assert stored is text  # control characters too: the database keeps the raw text


def test_storable_joins_a_split_pair_and_replaces_a_lone_half() -> None:
    assert storable("\ud83d\ude00 ok \ud800") == f"\U0001f600 ok {REPLACEMENT}"
