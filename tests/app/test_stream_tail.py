"""A streaming reply is drawn by one plain widget (with the Markdown look) in a box of fixed
height: nothing is mounted while it streams, new words repaint it without moving anything, and
stopping puts the Markdown in its place."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from textual.app import App
from textual.content import Content
from textual.geometry import Size
from textual.pilot import Pilot
from textual.widgets import Markdown
from textual.widgets._markdown import MarkdownBlockQuote, MarkdownH2, MarkdownParagraph, MarkdownTable

from backends.base import ChatBackend, ProgressCallback
from backends.events import BackendEvent, ChatMessage, Done, GenerationParams, TokenDelta
from backends.scripted import ScriptedBackend
from testkit.app import ready_screen, wait_for
from tui.app import InternLMApp
from tui.markdown_split import SEGMENT_CHARS
from tui.sanitize import sanitize
from tui.settings import AppSettings
from tui.widgets import stream_tail
from tui.widgets.assistant_message import AssistantMessage
from tui.widgets.prompt_input import PromptInput
from tui.widgets.stream_tail import StreamTail

FINISHED = "## Heading\n\nFirst **bold** paragraph.\n\n"
UNFINISHED = "Second paragraph \x1b[31m still"


class HoldsTheStream(ScriptedBackend):
    """Yields its tokens, then waits until the turn is stopped."""

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams, *, cancel: threading.Event
    ) -> Iterator[BackendEvent]:
        yield from (event for event in self._next_turn(messages) if not isinstance(event, Done))
        cancel.wait()
        yield Done("cancelled")


def _app(*pieces: str) -> InternLMApp:
    """The app on a backend that streams ``pieces`` (a heading, a paragraph and an unfinished
    one by default), then holds the reply open until it is stopped."""
    backend = HoldsTheStream([[TokenDelta(piece) for piece in pieces or (FINISHED, UNFINISHED)]])

    def factory(progress: ProgressCallback) -> ChatBackend:
        return backend

    return InternLMApp(AppSettings(), backend_factory=factory)


async def _streaming_reply(pilot: Pilot[None]) -> AssistantMessage:
    """Send a prompt and return the reply as soon as it is on screen."""
    screen = await ready_screen(pilot)
    await pilot.press(*"hello", "enter")
    await wait_for(pilot, lambda: bool(screen.query(AssistantMessage)))
    return screen.query_one(AssistantMessage)


async def test_the_block_being_written_is_plain_text_and_new_words_move_nothing() -> None:
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready_screen(pilot)
        prompt = screen.query_one(PromptInput)
        prompt.cursor_blink = True
        await pilot.press(*"hello", "enter")
        await wait_for(pilot, lambda: bool(screen.query(AssistantMessage)))
        view = screen.query_one(AssistantMessage)
        await wait_for(pilot, lambda: "still" in view.query_one(StreamTail).text)
        tail = view.query_one(StreamTail)
        # No Markdown while streaming: the tail draws the finished blocks and the one being
        # written with the Markdown look, sanitised, never as markup.
        assert not view.query(Markdown) and not view.segments
        assert not prompt.cursor_blink  # a lit cursor while streaming: no repaint twice a second
        assert tail.text == sanitize(FINISHED + UNFINISHED) and "\x1b" not in tail.text
        rows = [line.plain for line in tail.lines(tail.content_region.width)]
        assert [row for row in rows if row][:2] == ["Heading", "First bold paragraph."]
        assert rows[-1].startswith("Second paragraph") and not any("**" in row or "##" in row for row in rows)
        await pilot.pause(0.3)
        height, top = view.outer_size.height, tail.region.y
        for word in (" and", " more", " words"):
            await view.append(word)
            await wait_for(pilot, lambda word=word: tail.text.endswith(word))
        await pilot.pause(0.2)
        assert view.outer_size.height == height and tail.region.y == top
        await pilot.press("escape")
        await wait_for(pilot, lambda: view.finished and not view.query(StreamTail))
        assert prompt.cursor_blink  # blinking again, as before
        await pilot.pause(0.2)
        text = FINISHED + UNFINISHED + " and more words"
        assert view.text == text
        assert "".join(segment.source for segment in view.segments) == sanitize(text)
        assert "Heading" in view.segments[0].query_one(MarkdownH2).source  # Markdown once stopped
        last = view.segments[-1].query(MarkdownParagraph).last()
        assert "Second paragraph" in last.source and "words" in last.source


async def test_a_piece_cut_while_a_block_was_being_written_keeps_no_copy_of_it() -> None:
    # Thirteen paragraphs fill a piece (2,000 characters) exactly at their end, so the plain
    # drawing starts a new piece at the next redraw, while a code block was being written.
    full = "".join(f"Paragraph {n:02d} " + "word " * 30 + "\n\n" for n in range(13))
    assert len(full) >= SEGMENT_CHARS > len(full) - 200
    app = _app(full + "```python\ndef f(x):\n    return x *")
    async with app.run_test(size=(120, 40)) as pilot:
        view = await _streaming_reply(pilot)
        tail = view.query_one(StreamTail)
        await wait_for(pilot, lambda: tail.text.endswith("x *"))
        await view.append(" 2\n```\n\nThe end of it.\n\nMore")
        await wait_for(pilot, lambda: tail.text.endswith("More") and len(tail.pieces) == 2)
        await pilot.pause(0.2)
        assert len(view.boxes) == 1  # nothing mounted
        assert tail.pieces[0] == full and tail.pieces[1].startswith("```python")
        rows = [line.plain.strip() for line in tail.lines(tail.content_region.width)]
        code = [row for row in rows if "def f" in row or "return" in row]
        assert code == ["def f(x):", "return x * 2"]  # nothing left of the unfinished block
        # Drawn as the two pieces' own widgets will draw them, one under the other.
        first, second = StreamTail(), StreamTail()
        await view.mount_all([first, second])
        first.show("", finished=tail.pieces[0])
        second.show("More", finished=tail.pieces[1])
        await pilot.pause(0.1)
        width = tail.content_region.width
        stacked = first.lines(width) + [Content("")] * first.bottom + second.lines(width)
        assert [line.plain for line in tail.lines(width)] == [line.plain for line in stacked]
        await first.remove()
        await second.remove()
        # Stopped, it is cut into a box per piece and each becomes Markdown: as high as the
        # plain drawing of the whole reply was (nothing moves).
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(view.segments) == 2 and not view.query(StreamTail))
        await pilot.pause(0.2)
        whole = StreamTail()
        await view.mount(whole)
        whole.show("", finished=view.text)
        drawn = whole.get_content_height(Size(0, 0), Size(0, 0), width)  # its rows and bottom margin
        await whole.remove()
        assert [segment.source for segment in view.segments] == [full, view.text[len(full) :]]
        assert sum(box.outer_size.height for box in view.boxes) == drawn


async def test_a_finished_table_or_quote_is_markdown_while_the_reply_still_streams() -> None:
    table = "| tool | use |\n|------|-----|\n| lmdeploy | serve |\n| xtuner | tune |\n\n"
    quote = "> a quoted line\n\n"
    text = "Intro paragraph.\n\n" + table + "Between them.\n\n" + quote + "Still writ"
    async with _app(text).run_test(size=(120, 40)) as pilot:
        view = await _streaming_reply(pilot)
        await wait_for(pilot, lambda: len(view.segments) == 2)
        await pilot.pause(0.2)
        assert not view.finished  # still streaming: the table and the quote are Markdown already
        table_piece, quote_piece = view.segments
        assert table_piece.source == table and table_piece.query(MarkdownTable)
        assert quote_piece.source == quote and quote_piece.query(MarkdownBlockQuote)
        tails = [tail.text for tail in view.query(StreamTail)]
        assert tails == ["Intro paragraph.\n\n", "Between them.\n\n", "Still writ"]
        order = [box.query_one(StreamTail).text if box.query(StreamTail) else "md" for box in view.boxes]
        assert order == ["Intro paragraph.\n\n", "md", "Between them.\n\n", "md", "Still writ"]
        rows = [
            line.plain for tail in view.query(StreamTail) for line in tail.lines(tail.content_region.width)
        ]
        assert not any("|" in row or ">" in row for row in rows)  # no source of them left in the plain text


async def test_a_cut_hands_each_piece_the_rows_already_drawn(monkeypatch: pytest.MonkeyPatch) -> None:
    paragraphs = "".join(f"## Part {n}\n\nParagraph {n} " + "word " * 40 + "\n\n" for n in range(40))
    app = App[None]()
    async with app.run_test(size=(100, 30)) as pilot:
        app.screen.styles.overflow_y = "hidden"  # no scrollbar: the width stays the same
        whole = StreamTail()
        await app.screen.mount(whole)
        await pilot.pause()
        for block in paragraphs.split("\n\n")[:-1]:  # a block at a time, as a stream adds them
            whole.show("", finished=block + "\n\n")
        width = whole.content_region.width
        drawn = [line.plain for line in whole.lines(width)]
        assert len(whole.pieces) >= 3
        parsed: list[str] = []
        real = stream_tail.markdown_blocks

        def counting(text: str, *args: Any, **kwargs: Any) -> tuple[list[Content], int | None]:
            parsed.append(text)
            return real(text, *args, **kwargs)

        monkeypatch.setattr(stream_tail, "markdown_blocks", counting)
        pieces = whole.cut()
        await whole.remove()
        await app.screen.mount_all(pieces)
        await pilot.pause()
        stacked: list[str] = []
        gap = 0
        for piece in pieces:
            stacked += [""] * gap + [line.plain for line in piece.lines(width)]
            gap = piece.bottom
        assert [piece.text for piece in pieces] == whole.pieces
        assert stacked == drawn and not parsed  # the same rows, none parsed again
        for piece in pieces:  # and each draws what it would draw alone
            alone, bottom = real(piece.text, width, look=piece._look())
            assert piece.lines(width) == alone and piece.bottom == bottom
