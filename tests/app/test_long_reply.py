"""A long streamed reply through the real app: cut into pieces, Markdown built only near the view.

The reply (about 3,000 tokens of headings, paragraphs, lists and code) must arrive whole (in
the view, in the pieces and in the database). When it ends, the pieces near the view become
Markdown and those far above keep their plain drawing (building them all would hold the UI);
going to the top builds the first piece's Markdown at the height it had, folds the ones now far
below, and shows the first heading.
"""

from __future__ import annotations

from pathlib import Path

from textual.widget import Widget
from textual.widgets._markdown import MarkdownFence, MarkdownH2

from backends.events import Done, TokenDelta
from testkit.app import reply_tokens, scripted_app, wait_for
from tui.markdown_split import SEGMENT_CHARS
from tui.screens.chat import ChatScreen
from tui.settings import AppSettings
from tui.store.store import open_store
from tui.widgets.assistant_message import AssistantMessage
from tui.widgets.chat_pane import ChatPane
from tui.widgets.reply_segment import ReplySegment
from tui.widgets.stream_tail import StreamTail


async def test_long_reply_is_whole_cut_into_pieces_and_folds_far_off_screen(tmp_path: Path) -> None:
    words = reply_tokens(3000)
    reply = "".join(words)
    db = tmp_path / "history.sqlite3"
    app, _ = scripted_app([[*(TokenDelta(w) for w in words), Done("stop")]], settings=AppSettings(db_path=db))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: screen.session.backend is not None)
        await pilot.press(*"write a lot", "enter")
        await wait_for(pilot, lambda: not screen.busy and bool(screen.query(AssistantMessage)), timeout=60)
        await pilot.pause(0.3)
        view = screen.query_one(AssistantMessage)
        boxes = view.boxes
        assert view.text == reply and len(boxes) >= 5

        def markdown(box: Widget) -> ReplySegment | None:
            return next(iter(box.query_children(ReplySegment)), None)

        def source(box: Widget) -> str:
            segment = markdown(box)
            return segment.source if segment is not None else box.query_one(StreamTail).text

        assert "".join(source(box) for box in boxes) == reply
        last, first = markdown(boxes[-1]), boxes[0]
        assert last is not None and last.sealed and not last.folded  # near the view: Markdown
        assert markdown(first) is None and first.query(StreamTail)  # far above: never built
        # It streamed as one plain drawing, cut into its pieces' boxes once it ended.
        assert all(len(source(box)) < 2 * SEGMENT_CHARS for box in boxes)
        # Each piece that became Markdown was parsed whole: its headings and code are widgets.
        for segment in view.segments:
            assert len(segment.query(MarkdownH2)) == segment.source.count("## Section")
            assert len(segment.query(MarkdownFence)) == segment.source.count("```") // 2
        pane = screen.query_one(ChatPane)
        height = first.outer_size.height
        assert height > 10 and not pane.region.overlaps(first.region)
        pane.focus()
        await pilot.press("home")
        await wait_for(pilot, lambda: markdown(first) is not None and not first.query(StreamTail))
        await pilot.pause(0.3)
        assert first.outer_size.height == height  # the Markdown took the plain drawing's place
        segment = markdown(first)
        assert segment is not None
        first_heading = segment.query(MarkdownH2).first()
        assert "Section 1" in first_heading.source
        assert pane.region.overlaps(first_heading.region)  # shown, at the top of the view
        await wait_for(pilot, lambda: last.folded)
    store = open_store(db)
    try:
        saved = store.get_messages(store.list_conversations()[0].id)
    finally:
        store.close()
    assert saved[-1].content == reply and saved[-1].status == "done"


async def test_a_reopened_chat_with_long_replies_folds_what_is_far_from_the_view(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    reply = "".join(reply_tokens(2000))
    store = open_store(db)
    try:
        cid = store.create_conversation("long replies")
        assert cid
        for number in range(3):
            store.add_message(cid, "user", f"question {number}")
            store.add_message(cid, "assistant", reply)
    finally:
        store.close()
    app, _ = scripted_app(settings=AppSettings(db_path=db, resume=cid))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: len(screen.query(AssistantMessage)) == 3)
        replies = list(screen.query(AssistantMessage))
        await wait_for(pilot, lambda: replies[0].segments[0].folded)
        assert not replies[-1].segments[-1].folded  # the end of the last reply is in view
        assert all(view.text == reply for view in replies)
