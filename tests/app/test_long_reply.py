"""A long streamed reply through the real app: cut into Markdown pieces, far pieces folded.

The reply (about 3,000 tokens of headings, paragraphs, lists and code) must arrive whole (in
the view, in the pieces and in the database), render as Markdown in every piece, fold the
pieces far above the view while following the stream, and show the first piece again when the
user goes to the top.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets._markdown import MarkdownFence, MarkdownH2

from backends.events import Done, TokenDelta
from testkit.app import reply_tokens, scripted_app, wait_for
from tui.screens.chat import ChatScreen
from tui.settings import AppSettings
from tui.store.store import open_store
from tui.widgets.assistant_message import AssistantMessage
from tui.widgets.chat_pane import ChatPane


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
        pieces = view.segments
        assert view.text == reply
        assert len(pieces) >= 5 and all(piece.sealed for piece in pieces)
        assert "".join(piece.source for piece in pieces) == reply
        sections = reply.count("## Section")
        # Every piece was parsed as Markdown: all the headings and code blocks are widgets.
        assert sum(len(piece.query(MarkdownH2)) for piece in pieces) == sections
        assert sum(len(piece.query(MarkdownFence)) for piece in pieces) == sections
        pane = screen.query_one(ChatPane)
        assert pieces[0].folded and not pieces[-1].folded
        assert pane.region.overlaps(pieces[-1].region) and not pane.region.overlaps(pieces[0].region)
        pane.focus()
        await pilot.press("home")
        await wait_for(pilot, lambda: not pieces[0].folded)
        await pilot.pause(0.3)
        first_heading = pieces[0].query(MarkdownH2).first()
        assert "Section 1" in first_heading.source
        assert pane.region.overlaps(first_heading.region)  # shown again, at the top of the view
        assert pieces[-1].folded
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
