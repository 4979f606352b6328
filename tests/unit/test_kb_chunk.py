"""Chunking follows headings and paragraphs and keeps the file's line ranges."""

from __future__ import annotations

import itertools

from kb.chunk import chunk
from kb.extract import html_text


def test_markdown_headings_start_passages_and_lines_are_the_files() -> None:
    text = "# One\n\nfirst para\nstill first\n\n## Two\n\nsecond\n\n```\ncode\n\nmore code\n```\n"
    chunks = chunk(text, "markdown")
    assert [(c.heading, c.first, c.last) for c in chunks] == [("One", 3, 4), ("Two", 8, 14)]
    lines = text.splitlines()
    for c in chunks:  # every passage's text is made of exactly its lines
        assert all(part in "\n".join(lines[c.first - 1 : c.last]) for part in c.text.split("\n\n"))
    assert "more code" in chunks[1].text  # the fence's blank line does not cut it


def test_rst_underlined_titles_are_headings() -> None:
    chunks = chunk("Title\n=====\n\nBody text.\n\nSub\n---\n\nMore.\n", "rst")
    assert [(c.heading, c.text, c.first, c.last) for c in chunks] == [
        ("Title", "Body text.", 4, 4),
        ("Sub", "More.", 9, 9),
    ]


def test_small_paragraphs_pack_and_big_ones_split() -> None:
    paragraphs = "\n\n".join(f"paragraph {i} " + "word " * 30 for i in range(10))
    chunks = chunk(paragraphs, "text", target=400, limit=600)
    assert len(chunks) > 1
    assert all(len(c.text) <= 600 for c in chunks)
    assert chunks[0].first == 1 and chunks[-1].last == 19
    assert all(a.last < b.first for a, b in itertools.pairwise(chunks))


def test_a_long_line_without_breaks_is_cut_at_characters() -> None:
    line = "模型部署" * 1000  # Chinese paragraphs are often one long line
    chunks = chunk(f"intro\n\n{line}\n", "text", limit=1500)
    assert len(chunks) >= 3
    assert all(len(c.text) <= 1500 for c in chunks)
    assert {(c.first, c.last) for c in chunks[1:]} == {(3, 3)}
    assert "".join(c.text for c in chunks[1:]) == line


def test_html_text_stays_on_its_source_lines_without_scripts() -> None:
    source = "<html><head><script>\nevil()\n</script></head>\n<body><h2>Head\ning</h2>\n<p>a\nb</p></body>"
    text = html_text(source)
    lines = text.splitlines()
    assert len(lines) == source.count("\n") + 1
    assert lines[3] == "## Head ing"
    assert lines[5:7] == ["a", "b"]
    assert "evil" not in text
    chunks = chunk(text, "html")
    assert chunks[0].heading == "Head ing"
    assert (chunks[0].first, chunks[0].last) == (6, 7)


def test_empty_and_blank_documents_have_no_passages() -> None:
    assert chunk("", "markdown") == []
    assert chunk("\n\n   \n", "text") == []
    assert chunk("# Only a heading\n", "markdown") == []
