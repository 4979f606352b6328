"""History at scale: open a generated 10,000-message conversation next to 1,000 saved chats.

Figures (headless app at 120x40, scripted backend, real SQLite file in a temp folder):
time from creating the app to the first screen showing the conversation, the median key
round-trip in the prompt and in the sidebar list, and the time to load older messages on scroll.

``key_roundtrip_locked_ms``: the key round-trip in the prompt while a reply streams and a second
process, from just after the reply began, holds ``BEGIN IMMEDIATE`` on the same file (as another
app instance in a write would), next to the same figure with no lock
(``key_roundtrip_streaming_ms``); ``send_locked_ms`` is the Enter that sends the next prompt
while the lock is still held, and ``locked_turn_saved`` says whether every prompt and reply was
in the database, in order, once the lock was released.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

REPLY = (
    "Here is **a step** by step answer:\n\n1. first point with `code`\n2. second point\n\n"
    "```python\nprint('hello')\n```\n"
)


def generate_history(path: Path, messages: int, conversations: int) -> int:
    """Write ``conversations`` small chats plus one with ``messages`` messages; return its id."""
    import sqlite3

    from tui.store.store import open_store

    open_store(path).close()  # create the schema through the real migrations
    now = time.time()
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("BEGIN")
    for i in range(conversations):
        stamp = now - 3600.0 * (i + 1)
        cursor = conn.execute(
            "INSERT INTO conversations(title, created_at, updated_at) VALUES (?, ?, ?)",
            (f"saved chat number {i}", stamp, stamp),
        )
        conn.executemany(
            "INSERT INTO messages(conversation_id, role, content, created_at) VALUES (?, ?, ?, ?)",
            [
                (cursor.lastrowid, "user", f"question {i}", stamp),
                (cursor.lastrowid, "assistant", REPLY, stamp),
            ],
        )
    cursor = conn.execute(
        "INSERT INTO conversations(title, created_at, updated_at) VALUES (?, ?, ?)",
        ("the long conversation", now, now),
    )
    long_id = int(cursor.lastrowid or 0)
    conn.executemany(
        "INSERT INTO messages(conversation_id, role, content, created_at) VALUES (?, ?, ?, ?)",
        [
            (long_id, "user" if i % 2 == 0 else "assistant", f"prompt {i}" if i % 2 == 0 else REPLY, now)
            for i in range(messages)
        ],
    )
    # Each chat is one branch: every message follows the one before, the last is the leaf.
    conn.execute(
        "UPDATE messages SET parent_id = (SELECT MAX(p.id) FROM messages p"
        " WHERE p.conversation_id = messages.conversation_id AND p.id < messages.id)"
    )
    conn.execute(
        "UPDATE conversations SET leaf_id ="
        " (SELECT MAX(m.id) FROM messages m WHERE m.conversation_id = conversations.id)"
    )
    conn.execute("COMMIT")
    conn.close()
    return long_id


async def _measure(db: Path, conversation_id: int, messages: int, presses: int) -> dict[str, Any]:
    from textual.pilot import Pilot
    from textual.widgets import OptionList

    from testkit.app import scripted_app
    from tui.screens.chat import ChatScreen
    from tui.settings import AppSettings
    from tui.widgets.assistant_message import AssistantMessage
    from tui.widgets.prompt_input import PromptInput
    from tui.widgets.user_message import UserMessage

    async def until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.perf_counter() + timeout
        while not condition():
            if time.perf_counter() > deadline:
                raise TimeoutError("benchmark condition not met")
            await pilot.pause()

    started = time.perf_counter()
    app, _ = scripted_app(settings=AppSettings(db_path=db, resume=conversation_id))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)

        def mounted() -> int:
            return len(screen.query(UserMessage)) + len(screen.query(AssistantMessage))

        await until(pilot, lambda: len(screen.session.conversation.messages) == messages and mounted() > 0)
        await pilot.pause()
        first_screen = time.perf_counter() - started
        window = mounted()

        prompt = screen.query_one(PromptInput)
        prompt.focus()
        await pilot.pause()
        typing: list[float] = []
        for i in range(presses):
            t0 = time.perf_counter()
            await pilot.press("x")
            await until(pilot, partial(lambda n: len(prompt.text) == n, i + 1))
            typing.append(time.perf_counter() - t0)

        options = screen.query_one("#history-list", OptionList)
        options.focus()
        await pilot.pause()
        moving: list[float] = []
        for i in range(presses):
            before = options.highlighted
            t0 = time.perf_counter()
            await pilot.press("up" if i % 2 else "down")
            await until(pilot, partial(lambda b: options.highlighted != b, before))
            moving.append(time.perf_counter() - t0)

        load_older = None
        if messages > window:
            t0 = time.perf_counter()
            screen.chat_pane.scroll_home(animate=False)
            await until(pilot, lambda: mounted() > window)
            load_older = round(time.perf_counter() - t0, 3)
        rows = options.option_count
    return {
        "messages": messages,
        "sidebar_rows": rows,
        "mounted_window": window,
        "time_to_first_screen_s": round(first_screen, 3),
        "key_round_trip_prompt_ms": round(statistics.median(typing) * 1000, 2),
        "key_round_trip_sidebar_ms": round(statistics.median(moving) * 1000, 2),
        "load_older_on_scroll_s": load_older,
    }


def _spread(samples: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(samples) * 1000, 2),
        "max": round(max(samples) * 1000, 2),
        "n": len(samples),
    }


async def _measure_locked(db: Path, presses: int, hold_s: float) -> dict[str, Any]:
    """Key round-trips while a reply streams, first with the database free, then locked.

    Keys are typed (at least ``presses``, for at least ``hold_s`` seconds) while a long
    scripted reply streams; then Esc stops the reply.
    """
    from textual.pilot import Pilot

    from testkit.app import scripted_app, tokens
    from testkit.store import WriteLockHolder
    from tui.screens.chat import ChatScreen
    from tui.settings import AppSettings
    from tui.store.store import open_store
    from tui.widgets.prompt_input import PromptInput

    reply = " ".join(f"word{i}" for i in range(20_000))
    app, _ = scripted_app([tokens(reply)] * 4, delay_s=0.01, settings=AppSettings(db_path=db))

    async def until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 120.0) -> None:
        deadline = time.perf_counter() + timeout
        while not condition():
            if time.perf_counter() > deadline:
                raise TimeoutError("benchmark condition not met")
            await pilot.pause()

    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await until(pilot, lambda: screen.session.backend is not None)
        prompt = screen.query_one(PromptInput)
        prompt.focus()

        async def send(text: str) -> float:
            await pilot.press(*text)
            await until(pilot, lambda: prompt.text == text)
            t0 = time.perf_counter()
            await pilot.press("enter")
            await until(pilot, lambda: prompt.text == "" and screen.busy)
            elapsed = time.perf_counter() - t0
            await until(pilot, lambda: screen.session.turn is not None and bool(screen.session.turn.text))
            return elapsed

        async def type_while_streaming(lock_db: Path | None = None) -> tuple[list[float], float]:
            samples: list[float] = []
            holder = WriteLockHolder(lock_db) if lock_db is not None else None
            started = time.perf_counter()
            while len(samples) < presses or time.perf_counter() - started < hold_s:
                t0 = time.perf_counter()
                await pilot.press("x")
                await until(pilot, partial(lambda n: len(prompt.text) == n, len(samples) + 1))
                samples.append(time.perf_counter() - t0)
            if not screen.busy:
                raise RuntimeError("the reply ended before the keys were typed: make it longer")
            await pilot.press("escape")
            await until(pilot, lambda: not screen.busy)
            prompt.clear()
            send_s = 0.0
            if holder is not None:  # the prompt after: sent while still locked
                send_s = await send("a question while another instance holds the lock")
                await pilot.press("escape")
                await until(pilot, lambda: not screen.busy)
                holder.release()
            return samples, send_s

        await send("a question with the database free")
        free, _ = await type_while_streaming()
        await send("a question, then another instance locks the database")
        lock_t0 = time.perf_counter()
        locked, send_locked = await type_while_streaming(db)
        held_s = time.perf_counter() - lock_t0
        store = screen.session.store
        assert store is not None
        saved = await asyncio.to_thread(store.flush, 60.0)
        await until(pilot, lambda: screen.session.conversation.conversation_id is not None)
        conversation_id = screen.session.conversation.conversation_id
        shown = [(m.role, m.content) for m in screen.session.conversation.messages]
    check = open_store(db)
    rows = check.get_messages(conversation_id) if conversation_id is not None else []
    check.close()
    return {
        "key_roundtrip_streaming_ms": _spread(free),
        "key_roundtrip_locked_ms": _spread(locked),
        "send_locked_ms": round(send_locked * 1000, 2),
        "lock_held_s": round(held_s, 2),
        "locked_turn_saved": saved and len(shown) == 6 and [(m.role, m.content) for m in rows] == shown,
    }


def run(quick: bool = False) -> dict[str, Any]:
    """Generate the history, open it headless and return the figures."""
    messages = 1_000 if quick else 10_000
    conversations = 100 if quick else 1_000
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "history.sqlite3"
        t0 = time.perf_counter()
        long_id = generate_history(db, messages, conversations)
        generated = time.perf_counter() - t0
        figures = asyncio.run(_measure(db, long_id, messages, presses=5 if quick else 20))
        locked_db = Path(folder) / "locked.sqlite3"
        figures.update(
            asyncio.run(_measure_locked(locked_db, presses=5 if quick else 30, hold_s=1.0 if quick else 4.0))
        )
    figures["generate_s"] = round(generated, 3)
    figures["conversations"] = conversations + 1
    return figures


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
