"""``reveal``: every character that can make code read differently from what runs is shown as a marker."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui.sanitize import reveal

HIDDEN = [
    "\u034f",  # combining grapheme joiner
    "\ufe00",
    "\ufe0f",  # variation selectors
    "\U000e0100",
    "\U000e01ef",  # variation selectors supplement
    "\U000e0041",  # tag latin capital A
    "\u200b",
    "\u200d",
    "\u2060",
    "\ufeff",  # zero-width characters
    "\u202e",
    "\u2066",  # bidi override / isolate
    "\u00ad",  # soft hyphen
    "\u2028",
    "\u2029",  # line / paragraph separator
    "\u00a0",
    "\u3000",
    "\u2007",  # spaces that are not U+0020
    "\u3164",
    "\u115f",
    "\u2800",  # blank-looking letters
    "\ue000",  # private use
    "\x1b",
    "\r",
    "\x0c",
    "\x85",
    "\x9b",  # controls
]

MARKER = re.compile(r"⟨U\+[0-9A-F]{4,6}⟩")


@pytest.mark.parametrize("char", HIDDEN)
def test_each_hidden_character_becomes_its_marker(char: str) -> None:
    assert reveal(f"name{char} = 1") == f"name⟨U+{ord(char):04X}⟩ = 1"


def test_newline_tab_space_and_ordinary_text_stay() -> None:
    code = "def f(x):\n\treturn x  # 平方 é ü\n"
    assert reveal(code) == code


def test_a_written_marker_cannot_pass_for_a_revealed_one() -> None:
    assert reveal("⟨U+202E⟩") == "⟨U+27E8⟩U+202E⟩"


@given(st.text())
def test_what_is_left_is_visible_and_every_marker_stands_for_one_character(text: str) -> None:
    shown = reveal(text)
    rest = MARKER.sub("", shown)
    assert "⟨" not in rest
    for char in rest:
        assert char in "\n\t " or unicodedata.category(char)[0] not in "CZ"
        assert not 0xFE00 <= ord(char) <= 0xFE0F and not 0xE0000 <= ord(char) <= 0xE0FFF and char != "\u034f"
    assert len(MARKER.findall(shown)) == len(text) - len(rest)
