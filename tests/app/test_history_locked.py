"""The chat keeps taking keys while another instance holds the history's write lock, and every
message reaches the database, in order, once the lock is released."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from textual.widgets import OptionList

from backends.base import ChatBackend, ProgressCallback
from backends.events import BackendEvent, BackendInfo, ChatMessage, Done, GenerationParams, TokenDelta, Usage
from testkit.app import ready_screen, wait_for
from testkit.store import WriteLockHolder
from tui.app import InternLMApp
from tui.settings import AppSettings
from tui.store.store import open_store
from tui.widgets.prompt_input import PromptInput


class GatedBackend:
    """Streams half a reply, then waits for ``gate`` before the rest (so the test decides when)."""

    info = BackendInfo(name="gated", model="m", device="none")

    def __init__(self) -> None:
        self.gate = threading.Event()

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams, *, cancel: threading.Event
    ) -> Iterator[BackendEvent]:
        yield TokenDelta("first half, ")
        while not self.gate.wait(0.01):
            if cancel.is_set():
                yield Done("cancelled")
                return
        yield TokenDelta("second half")
        yield Done("stop", Usage(prompt_tokens=2, completion_tokens=4))

    def close(self) -> None:
        """Nothing to release."""


async def test_keys_are_taken_while_another_instance_holds_the_lock(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    backend = GatedBackend()

    def factory(progress: ProgressCallback) -> ChatBackend:
        return backend

    app = InternLMApp(AppSettings(db_path=db), backend_factory=factory)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready_screen(pilot)
        store = screen.session.store
        assert store is not None
        prompt = screen.query_one(PromptInput)
        with WriteLockHolder(db) as holder:
            await pilot.press(*"first prompt", "enter")
            await wait_for(
                pilot, lambda: screen.session.turn is not None and screen.session.turn.text == "first half, "
            )
            await pilot.press(*"typed while locked")
            await wait_for(pilot, lambda: prompt.text == "typed while locked")
            # The keys were handled while the prompt, the new chat and the reply row still wait
            # for the lock: the UI thread did not wait for the database.
            assert screen.busy and store.pending_writes >= 3
            backend.gate.set()
            await wait_for(pilot, lambda: not screen.busy)
            assert store.pending_writes >= 4 and screen.session.conversation.conversation_id is None
            holder.release()
            assert await asyncio.to_thread(store.flush, 30)
        # Once saved, the sidebar lists the chat and the screen knows its id (store.on_change).
        options = screen.query_one("#history-list", OptionList)
        await wait_for(
            pilot,
            lambda: (
                screen.session.conversation.conversation_id is not None
                and any(
                    "first prompt" in str(options.get_option_at_index(i).prompt)
                    for i in range(options.option_count)
                )
            ),
        )
        cid = screen.session.conversation.conversation_id
        assert cid is not None and store.warning is None
    messages = open_store(db).get_messages(cid)
    assert [(m.role, m.content, m.status) for m in messages] == [
        ("user", "first prompt", "done"),
        ("assistant", "first half, second half", "done"),
    ]
    assert messages[1].completion_tokens == 4
