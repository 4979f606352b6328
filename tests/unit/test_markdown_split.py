"""Cutting a long Markdown reply into pieces: never inside a code fence, list, quote or table."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tui.markdown_split import last_block_end, lines_of, safe_split_point, split_segments

PARAGRAPH = "word " * 30 + "\n\n"


def test_short_text_is_not_cut() -> None:
    assert safe_split_point(PARAGRAPH, 1000) is None
    assert split_segments(PARAGRAPH, 1000) == [PARAGRAPH]


def test_cut_after_a_blank_line_once_long_enough() -> None:
    text = PARAGRAPH * 3
    cut = safe_split_point(text, len(PARAGRAPH) + 1)
    assert cut == 2 * len(PARAGRAPH)
    assert text[:cut].endswith("\n\n") and text[cut:].startswith("word")


def test_never_inside_a_code_fence_even_with_blank_lines_in_it() -> None:
    code = "```python\n" + "x = 1\n\n" * 50 + "```\n\n"
    text = PARAGRAPH + code + "After the code.\n"
    cut = safe_split_point(text, len(PARAGRAPH) + 1)
    assert cut == len(PARAGRAPH) + len(code)
    tilde = "~~~~\n" + "```\n\n" * 20 + "~~~~\n\nDone.\n"  # a shorter fence of another kind stays inside
    assert safe_split_point(PARAGRAPH + tilde, len(PARAGRAPH) + 1) == len(PARAGRAPH) + len(tilde) - 6


def test_not_before_a_list_item_quote_or_table_row() -> None:
    followers = ["- next item\n", "* next\n", "3. third\n", "> quoted\n", "| a | b |\n", "    indented\n"]
    for follower in followers:
        text = PARAGRAPH + PARAGRAPH + follower
        assert safe_split_point(text, len(PARAGRAPH) + 1) is None, follower


def test_unknown_next_line_means_no_cut_yet() -> None:
    assert safe_split_point(PARAGRAPH * 2, len(PARAGRAPH)) == len(PARAGRAPH)
    # the only blank line far enough in is the last line: what follows it is not known yet
    assert safe_split_point(PARAGRAPH * 2, len(PARAGRAPH) + 1) is None


BLOCKS = [PARAGRAPH, "```\ncode\n\nmore\n```\n\n", "- a\n\n- b\n\n", "# T\n\n"]


@given(st.lists(st.sampled_from(BLOCKS), max_size=30))
def test_pieces_join_back_to_the_text(parts: list[str]) -> None:
    text = "".join(parts)
    pieces = split_segments(text, 200)
    assert "".join(pieces) == text
    assert all(piece.count("```") % 2 == 0 for piece in pieces)


def test_last_block_end_is_the_last_safe_cut_of_a_streamed_text() -> None:
    heading, code = "## Title\n\n", "```\nx = 1\n\ny = 2\n```\n\n"
    assert last_block_end("") == 0
    assert last_block_end(PARAGRAPH) == 0  # what follows the paragraph is not known yet
    assert last_block_end(heading + "word") == len(heading)
    assert last_block_end(heading + PARAGRAPH + "more") == len(heading + PARAGRAPH)
    # no cut inside an open fence, nor before a list item that may continue the list
    assert last_block_end(heading + "```\nx = 1\n\ny") == len(heading)
    assert last_block_end(heading + code + "After") == len(heading + code)
    assert last_block_end(heading + PARAGRAPH + "- a\n\n- b") == len(heading)


@given(st.lists(st.sampled_from(BLOCKS), max_size=30), st.integers(min_value=0, max_value=2000))
def test_last_block_end_is_a_cut_split_segments_would_agree_with(parts: list[str], prefix: int) -> None:
    text = "".join(parts)[:prefix]
    end = last_block_end(text)
    assert 0 <= end <= len(text)
    if end:
        assert safe_split_point(text, end) == end  # a safe cut, and no later one exists
        assert safe_split_point(text, end + 1) is None


def test_lines_end_only_at_newlines_as_markdown_it_counts_them() -> None:
    assert lines_of("a\u2028b\x0cc\nd\n\ne") == ["a\u2028b\x0cc\n", "d\n", "\n", "e"]
    assert lines_of("a\n") == ["a\n"] and lines_of("") == []
    # a U+2028 pair inside a paragraph is no blank line: no cut there
    assert last_block_end("one\u2028\u2028two\nthree") == 0
