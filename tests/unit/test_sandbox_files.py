"""Files in and out of the Python sandbox (real sandbox): images a program saves come back
checked by content, capped and with safe names, whatever hostile things it leaves in its folder
(links, fifos, huge files, thousands of files, lying names); the user's attached files are
copied in read-only under safe names and the model is told them."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path

from PIL import Image

from backends.agent.backend import AgentBackend
from backends.agent.files_in import MAX_INPUT_BYTES, describe_inputs, gather_inputs, with_inputs_note
from backends.agent.files_out import MAX_FILES, parse_files, safe_file_name
from backends.agent.sandbox import SandboxLimits, run_python
from backends.events import Attachment, ChatMessage, Done, GenerationParams, ToolCall, ToolResult
from backends.options import AgentOptions
from backends.scripted import ScriptedBackend
from testkit.agent import words

LIMITS = SandboxLimits(wall_s=15.0, cpu_s=10)

SAVE_PNG = """
import zlib, struct
def png(w, h):
    raw = b"".join(b"\\x00" + b"\\xff\\x00\\x00" * w for _ in range(h))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + \\
        chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
"""


def test_an_image_saved_in_the_working_folder_comes_back() -> None:
    result = run_python(SAVE_PNG + "open('chart.png', 'wb').write(png(9, 4)); print('ok')", limits=LIMITS)
    assert result.ok and result.output.strip() == "ok"
    (image,) = result.images
    assert image.name == "chart.png" and image.mime == "image/png"
    assert Image.open(io.BytesIO(image.data)).size == (9, 4)


HOSTILE = (
    SAVE_PNG
    + """
import os
os.symlink('/etc/passwd', 'passwd.png')
os.symlink('/proc/self/environ', 'environ.png')
os.mkfifo('fifo.png')
with open('huge.png', 'wb') as f:
    f.write(png(2, 2)); f.truncate(6 * 1024 * 1024)
open('fake.png', 'w').write('not an image')
open('\\x1b]0;PWNED\\x07.png', 'wb').write(png(1, 1))
open('..evil.png', 'wb').write(png(1, 1))
os.mkdir('dir.png')
for i in range(20):
    open(f'many-{i:02d}.png', 'wb').write(png(1, 1))
for i in range(10000):
    open(f'junk-{i}', 'w').close()
print('done')
"""
)


def test_hostile_leftovers_are_skipped_or_capped_and_nothing_hangs() -> None:
    started = time.monotonic()
    result = run_python(HOSTILE, limits=LIMITS)
    assert time.monotonic() - started < LIMITS.wall_s
    assert result.ok, result.output
    names = [image.name for image in result.images]
    assert len(names) == MAX_FILES
    assert all(image.mime == "image/png" and image.data.startswith(b"\x89PNG") for image in result.images)
    assert not any(n.startswith(("passwd", "environ", "fifo", "huge", "fake", "dir", ".")) for n in names)
    assert all(
        set(n) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") for n in names
    )
    assert b"root:" not in b"".join(image.data for image in result.images)


def test_the_stream_parser_trusts_nothing() -> None:
    stream = b"5 ../../etc/x.png\nhello" + b"999999999999 big.png\n" + b"zzz"
    images, notes = parse_files(stream)
    assert images == [] and notes == ["x.png is not an image and was left out"]
    assert safe_file_name("../../etc/passwd", set()) == "passwd"
    assert safe_file_name(".bashrc", set()) == "bashrc"
    taken: set[str] = set()
    assert [safe_file_name("a.csv", taken) for _ in range(3)] == ["a.csv", "a-2.csv", "a-3.csv"]


def attachment(name: str, data: bytes, mime: str = "text/plain") -> Attachment:
    return Attachment(name, mime, data)


def test_attached_files_are_copied_in_under_safe_names_and_the_model_is_told() -> None:
    messages = [
        ChatMessage(
            "user",
            "first",
            attachments=(
                attachment("../../etc/passwd", b"not the real one"),
                attachment("data.csv", b"a,b\n1,2\n"),
            ),
        ),
        ChatMessage("assistant", "ok"),
        ChatMessage(
            "user",
            "second",
            attachments=(
                attachment("data.csv", b"x,y\n3,4\n"),
                attachment("main.py", b"print('replaced?')"),
                attachment("big.bin", b"\0" * (MAX_INPUT_BYTES + 1)),
                attachment("data.csv", b"a,b\n1,2\n"),  # the same file again: one copy
            ),
        ),
    ]
    inputs, notes = gather_inputs(messages)
    assert [i.name for i in inputs] == ["passwd", "data.csv", "data-2.csv", "main-2.py"]
    assert notes == ("big.bin: left out (too large)",)
    note = describe_inputs(inputs, notes)
    assert "passwd" in note and "data-2.csv" in note and "big.bin" in note
    sent = with_inputs_note(messages, note)
    assert sent[-1].content.startswith("second\n\n[Files in the Python tool's working folder")
    program = (
        "import os\n"
        "print(sorted(os.listdir('.')))\n"
        "print(open('data-2.csv').read().strip())\n"
        "try:\n    open('data.csv', 'w').write('changed')\n"
        "except OSError as e:\n    print('read-only', e.errno)\n"
    )
    result = run_python(program, limits=LIMITS, inputs=inputs)
    assert result.ok, result.output
    lines = result.output.splitlines()
    assert lines[0] == "['data-2.csv', 'data.csv', 'main-2.py', 'main.py', 'passwd']"
    assert lines[1:3] == ["x,y", "3,4"]
    assert lines[-1].startswith("read-only")
    assert result.images == ()  # inputs are not sent back as outputs


def test_the_agent_gives_the_python_tool_the_chats_files() -> None:
    step = "Thought: read it\nAction: python\nAction Input: print(open('notes.txt').read())\n"
    llm = ScriptedBackend([words(step), words("Thought: done\nFinal Answer: read")])
    agent = AgentBackend(llm, AgentOptions(approve="auto"), limits=LIMITS)
    messages = [ChatMessage("user", "read my notes", attachments=(attachment("notes.txt", b"secret plan"),))]
    events = list(agent.stream(messages, GenerationParams(), cancel=threading.Event()))
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.ok and result.output == "secret plan"
    assert "notes.txt" in "\n".join(m.content for m in llm.seen[0])


def test_a_tools_image_is_saved_with_the_reply_and_exported(tmp_path: Path) -> None:
    from tui.session import ChatSession
    from tui.settings import AppSettings
    from tui.store.export import export
    from tui.store.store import open_store

    store = open_store(tmp_path / "h.sqlite3")
    try:
        session = ChatSession(AppSettings(), store)
        session.backend_ready(ScriptedBackend())
        session.submit("plot")
        turn = session.begin_turn()
        png = run_python(SAVE_PNG + "open('p.png', 'wb').write(png(3, 2))", limits=LIMITS).images[0]
        session.apply(turn.turn_id, ToolCall("c1", "python", "plot()"))
        session.apply(turn.turn_id, ToolResult("c1", "[saved p.png]", attachments=(png,)))
        session.finish(turn.turn_id, Done())
        store.flush(5)
        conversation = session.conversation_id
        assert conversation is not None
        reply = next(m for m in store.get_path(conversation) if m.role == "assistant")
        (saved,) = store.attachments([reply.id])[reply.id]
        assert saved.data == png.data and saved.name == "p.png"
        data = json.loads(export(store, conversation, "json"))
        assistant = next(m for m in data["messages"] if m["role"] == "assistant" and "x_id" in m)
        assert assistant["x_attachments"][0]["name"] == "p.png"
        assert "*Tool image: p.png (image/png" in export(store, conversation, "md")
    finally:
        store.close()
