"""Attached files in history: stored once by hash beside the database (private), read back
with their messages, removed when no message uses them any more."""

from __future__ import annotations

import stat
from pathlib import Path

from backends.events import Attachment, Done, GenerationParams, TokenDelta
from backends.scripted import ScriptedBackend
from testkit import images
from tui.attachments import Loaded
from tui.session import ChatSession, Submitted
from tui.settings import AppSettings
from tui.store.blobs import BlobFolder
from tui.store.store import open_store


def files_in(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def test_one_copy_per_content_private_and_read_back(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    store = open_store(db)
    image = Attachment("a.png", "image/png", images.png())
    chat = store.create_conversation("t")
    first = store.add_message(chat, "user", "look")
    second = store.add_message(chat, "user", "again")
    assert first is not None and second is not None
    store.submit_attachments(first, (image,)).result()
    store.submit_attachments(second, (Attachment("same.png", "image/png", image.data),)).result()
    folder = BlobFolder.beside(db)
    assert files_in(folder) == {image.sha256}
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / image.sha256).stat().st_mode) == 0o600
    found = store.attachments([first, second])
    assert found[first] == (image,) and found[second][0].name == "same.png"
    store.close()


def test_a_tampered_file_is_left_out_not_sent(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    store = open_store(db)
    image = Attachment("a.png", "image/png", images.png())
    chat = store.create_conversation("t")
    message = store.add_message(chat, "user", "look")
    assert message is not None
    store.submit_attachments(message, (image,)).result()
    (BlobFolder.beside(db) / image.sha256).write_bytes(b"swapped")
    assert store.attachments([message]) == {}
    store.close()


def test_deleting_removes_only_files_no_other_chat_uses(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    store = open_store(db)
    shared = Attachment("s.png", "image/png", images.png(seed=1))
    own = Attachment("o.png", "image/png", images.png(seed=2))
    one, two = store.create_conversation("one"), store.create_conversation("two")
    m1 = store.add_message(one, "user", "a")
    m2 = store.add_message(two, "user", "b")
    assert m1 is not None and m2 is not None
    store.submit_attachments(m1, (shared, own)).result()
    store.submit_attachments(m2, (shared,)).result()
    store.delete(one)
    store.flush()
    assert files_in(BlobFolder.beside(db)) == {shared.sha256}
    store.delete_branch(m2)
    store.flush()
    assert files_in(BlobFolder.beside(db)) == set()
    store.close()


def test_the_session_sends_saves_and_reopens_a_prompt_with_images(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    store = open_store(db)
    session = ChatSession(AppSettings(params=GenerationParams()), store)
    session.backend_ready(ScriptedBackend())
    image = Attachment("cat.png", "image/png", images.png())
    assert session.files.add(Loaded(image, 64, 48)) is None
    assert session.submit("what is it?") is Submitted.START
    assert len(session.files) == 0
    turn = session.begin_turn()
    assert turn.messages[-1].attachments == (image,)
    store.flush()
    chat_id = session.conversation_id
    assert chat_id is not None
    reopened = ChatSession(AppSettings(), open_store(db))
    opened = reopened.open(chat_id)
    assert opened is not None
    prompt = next(m for m in opened.messages if m.role == "user")
    assert opened.files[prompt.id] == (image,)
    assert reopened.conversation.for_backend()[-1].attachments == (image,)
    store.close()


def test_a_text_only_backend_refuses_before_anything_is_saved(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.sqlite3")
    session = ChatSession(AppSettings(), store)
    session.backend_ready(ScriptedBackend(capabilities=frozenset()))
    session.files.add(Loaded(Attachment("cat.png", "image/png", images.png())))
    assert session.submit("what is it?") is Submitted.REFUSED
    assert session.refusal is not None and "text-only" in session.refusal
    assert len(session.files) == 1 and session.conversation.messages == []
    store.flush()
    assert store.list_conversations() == []
    store.close()


def test_json_export_carries_images_as_data_urls_and_markdown_names_them(tmp_path: Path) -> None:
    import base64
    import json

    from tui.store.export import export

    store = open_store(tmp_path / "h.sqlite3")
    image = Attachment("cat.png", "image/png", images.png())
    chat = store.create_conversation("t")
    prompt = store.add_message(chat, "user", "what is it?")
    store.add_message(chat, "assistant", "a cat")
    assert prompt is not None
    store.submit_attachments(prompt, (image,)).result()
    data = json.loads(export(store, chat, "json"))
    user = data["messages"][0]
    assert user["content"][0] == {"type": "text", "text": "what is it?"}
    url = user["content"][1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,") and base64.b64decode(url.split(",", 1)[1]) == image.data
    assert user["x_attachments"][0]["sha256"] == image.sha256
    assert data["tree"][0]["x_attachments"][0]["name"] == "cat.png"
    markdown = export(store, chat, "md")
    assert "what is it?" in markdown and "*Attached: cat.png (image/png," in markdown
    store.close()


def test_regenerate_and_edit_send_the_images_again(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.sqlite3")
    session = ChatSession(AppSettings(), store)
    backend = ScriptedBackend()
    session.backend_ready(backend)
    image = Attachment("cat.png", "image/png", images.png())
    session.files.add(Loaded(image))
    assert session.submit("what is it?") is Submitted.START
    turn = session.begin_turn()
    session.apply(turn.turn_id, TokenDelta("a cat"))
    session.finish(turn.turn_id, Done())
    store.flush()
    assert session.regenerate() is Submitted.START
    assert session.begin_turn().messages[-1].attachments == (image,)
    session.finish(session.turn.turn_id, Done())  # type: ignore[union-attr]
    store.flush()
    prompt = next(m for m in session.path if m.role == "user")
    assert session.edit(prompt.id, "and this?") is Submitted.START
    sent = session.begin_turn().messages[-1]
    assert sent.content == "and this?" and sent.attachments == (image,)
    store.close()
