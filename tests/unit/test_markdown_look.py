"""``markdown_lines``: the block being written, drawn as the Markdown widget will draw it."""

from __future__ import annotations

import pytest

from tui.markdown_look import TRUE_COLOUR, Look, drawn_runs, markdown_lines


def _plain(text: str, width: int = 30, *, above: int = 0, look: Look = TRUE_COLOUR) -> list[str]:
    return [line.plain for line in markdown_lines(text, width, above=above, look=look)]


def test_inline_markers_become_styles_and_list_items_hang() -> None:
    lines = markdown_lines("a **bold** and `code`\n\n- one two three four five six seven", 20)
    assert lines[0].plain == "a bold and code"
    assert {span.style for span in lines[0].spans} == {".strong", ".code_inline"}
    assert [line.plain for line in lines[2:]] == ["• one two three four", "  five six seven"]


def test_margins_collapse_with_the_blank_row_already_above() -> None:
    assert _plain("## Title\n\ntext", above=1) == ["", "Title", "", "text"]
    assert _plain("text", above=1) == ["text"]


def test_fences_are_indented_and_padded_except_in_ansi_colours() -> None:
    fenced = "```\nx = 1\n```"
    assert _plain(fenced, 10) == ["", " " * 10, "  x = 1   ", " " * 10]  # a margin, then padding
    assert _plain(fenced, 10, look=Look(ansi=True)) == ["", "x = 1", ""]


def test_blocks_it_does_not_draw_are_shown_as_their_source() -> None:
    assert _plain("| a | b |\n|---|---|\n| 1 | 2 |")[1:] == ["| a | b |", "|---|---|", "| 1 | 2 |"]


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("a\n\nb\n\n", [True]),
        ("| a | b |\n|---|---|\n| 1 | 2 |\n\nafter\n\n", [False, True]),
        ("intro\n\n> quote\n> more\n\n---\n\npara\n\n", [True, False, True]),
        ("- item\n\n```\ncode\n```\n\n<div>x</div>\n\n", [True, False]),
        # a list holding a quote, a fence or a table is drawn here a few rows shorter
        ("intro\n\n- item\n\n  > nested quote\n\n- two\n\nend\n\n", [True, False, True]),
        ("- a\n  - b\n\n1. c\n   ```\n   x\n   ```\n\n", [True, False]),
        # U+2028 and form feeds are not line ends for markdown-it: the table is cut whole
        ("para\u2028x\u2028y\ncont\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nafter\n\n", [True, False, True]),
        ("", [True]),
    ],
)
def test_drawn_runs_cut_the_text_where_the_look_stops_drawing(text: str, kinds: list[bool]) -> None:
    runs = drawn_runs(text)
    assert "".join(run for run, _ in runs) == text
    assert [drawn for _, drawn in runs] == kinds


def test_a_run_the_look_draws_has_the_rows_of_its_markdown() -> None:
    text = "para\u2028x\u2028y\ncont\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nafter\n\n"
    runs = drawn_runs(text)
    assert [run for run, _ in runs] == [
        "para\u2028x\u2028y\ncont\n\n",
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n",
        "after\n\n",
    ]
