"""Any text from outside can be saved: a lone surrogate never makes a history write fail."""

from __future__ import annotations

from pathlib import Path

from backends.events import Usage
from tui.recorder import ChatRecorder
from tui.store.export import export
from tui.store.store import open_store

RAW = "\x1b]0;title\x07 kept raw"


def test_every_write_takes_a_lone_surrogate(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.sqlite3")
    recorder = ChatRecorder(store, flush_interval_s=0)
    recorder.record_user("hi \ud800", backend="remote", model="m\udfff", system="s\ud800", params={})
    recorder.begin_reply(backend="remote", model="m\udfff", params={})
    recorder.progress("part \ud800")
    recorder.tool_call("c1", "py\ud800", "print('\ud800')")
    recorder.tool_result("c1", "out \ud800", True, 0.1)
    recorder.finish_reply(f"done \ud800 {RAW} \ud83d\ude00", "done", Usage(completion_tokens=3))
    cid = recorder.conversation_id
    assert cid is not None and store.warning is None
    store.rename(cid, "title \ud800")
    user, reply = store.get_messages(cid)
    assert user.content == "hi \ufffd" and reply.model == "m\ufffd"
    assert reply.content == f"done \ufffd {RAW} \U0001f600"  # pair joined, controls kept raw
    (tool,) = store.tool_events(reply.id)
    assert (tool.name, tool.arguments, tool.output) == ("py\ufffd", "print('\ufffd')", "out \ufffd")
    summary = store.get_conversation(cid)
    assert summary is not None and summary.title == "title \ufffd" and summary.system == "s\ufffd"
    assert "\ufffd" in export(store, cid, "json") and "\ufffd" in export(store, cid, "md")
