"""A streaming reply: finished blocks are Markdown, the block still being written is drawn by one
plain widget (with the Markdown look) in a box of fixed height, so new words repaint it without
moving anything; stopping renders all of it as Markdown."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from textual.widgets._markdown import MarkdownH2, MarkdownParagraph

from backends.base import ChatBackend, ProgressCallback
from backends.events import BackendEvent, ChatMessage, Done, GenerationParams, TokenDelta
from backends.scripted import ScriptedBackend
from testkit.app import ready_screen, wait_for
from tui.app import InternLMApp
from tui.sanitize import sanitize
from tui.settings import AppSettings
from tui.widgets.assistant_message import AssistantMessage
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


def _app() -> InternLMApp:
    backend = HoldsTheStream([[TokenDelta(FINISHED), TokenDelta(UNFINISHED)]])

    def factory(progress: ProgressCallback) -> ChatBackend:
        return backend

    return InternLMApp(AppSettings(), backend_factory=factory)


async def test_the_block_being_written_is_plain_text_and_new_words_move_nothing() -> None:
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready_screen(pilot)
        await pilot.press(*"hello", "enter")
        await wait_for(pilot, lambda: bool(screen.query(AssistantMessage)))
        view = screen.query_one(AssistantMessage)
        await wait_for(pilot, lambda: "still" in view.query_one(StreamTail).text)
        tail = view.query_one(StreamTail)
        # The finished blocks are Markdown; the unfinished one is shown as it is, sanitised.
        piece = view.segments[-1]
        assert "Heading" in piece.query_one(MarkdownH2).source
        paragraph = piece.query_one(MarkdownParagraph)
        assert "bold" in paragraph.source and "**" not in str(paragraph.render())
        assert tail.text == sanitize(UNFINISHED) and "\x1b" not in tail.text
        await pilot.pause(0.3)
        height, top = view.outer_size.height, tail.region.y
        for word in (" and", " more", " words"):
            await view.append(word)
            await wait_for(pilot, lambda word=word: tail.text.endswith(word))
        await pilot.pause(0.2)
        assert view.outer_size.height == height and tail.region.y == top
        await pilot.press("escape")
        await wait_for(pilot, lambda: view.finished and not view.query(StreamTail))
        await pilot.pause(0.2)
        text = FINISHED + UNFINISHED + " and more words"
        assert view.text == text
        assert "".join(segment.source for segment in view.segments) == sanitize(text)
        last = view.segments[-1].query(MarkdownParagraph).last()
        assert "Second paragraph" in last.source and "words" in last.source
