"""A streamed piece looks like the Markdown it becomes: ``StreamTail`` fed a reply a few
characters at a time (finished blocks drawn once, the block being written redrawn) gives the
same cells (text and style) as one Markdown widget holding it, so nothing jumps (and no byte is
sent) when the Markdown takes its place."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.strip import Strip
from textual.widgets import Markdown

from tui.markdown_split import last_block_end
from tui.widgets.stream_tail import StreamTail

FINISHED = "Intro **x** paragraph.\n\n"
BLOCKS = (
    "## Section 1\n\n"
    "w00002 w00003 **bold** and *it* and `code` and ~~gone~~, more words to wrap at the edge.\n\n"
    "- item 0: a **short** point\n- item 1: a short point about it and more words to wrap\n\n"
    "1. one\n2. two\n\n"
    "```python\ndef step_1(x):\n    return x * 1\n```\n\n"
    "after\n"
)
CSS = "Markdown { margin: 0; padding: 0; } StreamTail { height: 30; }"


class _OneMarkdown(App[None]):
    CSS = CSS

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Markdown(FINISHED + BLOCKS)


class _Tail(App[None]):
    CSS = CSS

    def compose(self) -> ComposeResult:
        with Vertical():
            yield StreamTail()


def _stream(tail: StreamTail, text: str, step: int) -> None:
    """Feed ``text`` as ``AssistantMessage`` does: finished blocks for good, then the rest."""
    writing = ""
    for start in range(0, len(text), step):
        writing += text[start : start + step]
        end = last_block_end(writing)
        tail.show(writing[end:], finished=writing[:end])
        writing = writing[end:]


def _cells(strip: Strip) -> list[tuple[str, str]]:
    """Each cell's character and style (blank cells by background only, as a terminal sees them)."""
    cells = []
    for segment in strip:
        style = segment.style
        for char in segment.text:
            shown = style if char != " " or style is None else style.__class__(bgcolor=style.bgcolor)
            cells.append((char, str(shown)))
    return cells


async def _screen(app: App[None], theme: str, step: int = 0) -> list[list[tuple[str, str]]]:
    async with app.run_test(size=(50, 30)) as pilot:
        app.theme = theme
        await pilot.pause(0.2)
        if step:
            _stream(app.query_one(StreamTail), FINISHED + BLOCKS, step)
            await pilot.pause(0.2)
        return [_cells(strip) for strip in app.screen._compositor.render_strips()]


@pytest.mark.parametrize("step", [7, 1000])
@pytest.mark.parametrize("theme", ["textual-dark", "textual-light", "ansi-dark"])
async def test_the_tail_draws_the_same_cells_as_the_markdown_it_becomes(theme: str, step: int) -> None:
    expected = await _screen(_OneMarkdown(), theme)
    shown = await _screen(_Tail(), theme, step)
    texts = ["".join(char for char, _ in row).rstrip() for row in shown]
    assert "Section 1" in texts and not any("**" in text or "```" in text for text in texts)
    for row, (want, got) in enumerate(zip(expected, shown, strict=True)):
        assert got == want, f"row {row}: {texts[row]!r}"
