"""Sources in the prompt and citations read back from the reply."""

from __future__ import annotations

from kb.grounding import cited, footer, label, sources_block, with_sources
from kb.hit import Hit

HITS = [
    Hit("guide/deploy.md", 3, 4, 0.03, "Use lmdeploy serve.", "Deploying"),
    Hit("notes.txt", 7, 7, 0.02, "Llamas hum."),
]


def test_sources_are_numbered_with_file_lines_and_heading() -> None:
    block = sources_block(HITS)
    assert "[1] guide/deploy.md:3-4 — Deploying\nUse lmdeploy serve." in block
    assert "[2] notes.txt:7\nLlamas hum." in block
    assert block.index("[1]") < block.index("[2]")
    assert "like [1]" in block  # the model is told how to cite


def test_the_users_system_prompt_comes_first() -> None:
    assert with_sources("Be brief.", HITS).startswith("Be brief.\n\nAnswer the question")
    assert with_sources(None, HITS).startswith("Answer the question")
    assert with_sources("   ", HITS).startswith("Answer the question")


def test_citations_are_read_in_order_and_out_of_range_ones_ignored() -> None:
    assert cited("See [2] and [1], again [2]; not [3] or [0] or [x].", 2) == [2, 1]
    assert cited("no markers", 2) == []
    assert footer("It hums [2].", HITS) == "sources: [2] notes.txt:7"
    assert footer("No citation.", HITS) == "retrieved: [1] guide/deploy.md:3-4 · [2] notes.txt:7"
    assert label(HITS[1]) == "notes.txt:7"


def test_a_line_break_in_a_file_name_stays_on_one_line() -> None:
    assert label(Hit("a\nb\r.md", 1, 2, 0.1, "x")) == "a␤b␍.md:1-2"
