"""Pilot test: switching model mid-chat; the conversation continues and each reply names its model."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from textual.widgets import Input

from backends.base import BackendLoadError, ChatBackend, ProgressCallback
from backends.events import Done
from backends.scripted import ScriptedBackend
from testkit.app import tokens, wait_for
from tui.app import InternLMApp
from tui.screens.chat import BackendFactory, ChatScreen
from tui.screens.switch_model import SwitchModelScreen
from tui.settings import AppSettings
from tui.store.store import open_store
from tui.widgets.assistant_message import AssistantMessage


async def test_the_chat_continues_on_the_new_model_and_a_failed_switch_keeps_the_old(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    first = ScriptedBackend([[*tokens("from the first"), Done("stop")]], model="first-model")
    second = ScriptedBackend([[*tokens("from the second"), Done("stop")]], model="second-model")

    def initial(progress: ProgressCallback) -> ChatBackend:
        return first

    def factory_for(settings: AppSettings) -> BackendFactory:
        def make(progress: ProgressCallback) -> ChatBackend:
            if settings.backend.model == "./missing":
                raise BackendLoadError("no model at ./missing")
            return second

        return make

    app = InternLMApp(AppSettings(db_path=db), backend_factory=initial, factory_for=factory_for)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: screen.session.backend is first)
        await pilot.press(*"hello", "enter")
        await wait_for(pilot, lambda: not screen.busy and len(first.seen) == 1)
        # a switch that fails says so in one line and keeps the model in use
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, SwitchModelScreen))
        app.screen.query_one(Input).value = "./missing"
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("no model at" in n.message for n in app._notifications))
        assert screen.session.backend is first and not screen.query("#loading")
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, SwitchModelScreen))
        app.screen.query_one(Input).value = "./other"
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.session.backend is second)
        assert screen.settings.backend.model == "./other"
        await pilot.press(*"and now?", "enter")
        await wait_for(pilot, lambda: not screen.busy and len(second.seen) == 1)
        assert [m.content for m in second.seen[0]] == ["hello", "from the first", "and now?"]
        notes = [str(m.query_one(".note").render()) for m in screen.query(AssistantMessage)]
        assert "first-model" in notes[0] and "second-model" in notes[1]
        cid = screen.session.conversation_id
    assert cid is not None
    store = open_store(db)
    assert [m.model for m in store.get_messages(cid) if m.role == "assistant"] == [
        "first-model",
        "second-model",
    ]
    store.close()


async def test_after_a_failed_first_load_f6_switches_to_a_model_that_loads(tmp_path: Path) -> None:
    second = ScriptedBackend([[*tokens("works"), Done("stop")]], model="second-model")

    def broken(progress: ProgressCallback) -> ChatBackend:
        raise BackendLoadError("no model at ./typo")

    def factory_for(settings: AppSettings) -> BackendFactory:
        return lambda progress: second

    app = InternLMApp(
        AppSettings(db_path=tmp_path / "h.sqlite3"), backend_factory=broken, factory_for=factory_for
    )
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: screen.session.backend_error is not None)
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, SwitchModelScreen))
        app.screen.query_one(Input).value = "./fixed"
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.session.backend is second)
        assert len(screen.query("#loading")) == 0
        await pilot.press(*"hello", "enter")
        await wait_for(pilot, lambda: not screen.busy and len(second.seen) == 1)


class _Cyclic(ScriptedBackend):
    """A backend in a reference cycle (as a loaded model's objects often are): only the garbage
    collector frees it."""

    def __init__(self) -> None:
        super().__init__([[*tokens("hi"), Done("stop")]], model="cyclic")
        self.me = self


async def test_a_model_switched_away_from_can_be_freed() -> None:
    made: list[weakref.ref[ChatBackend]] = []

    def initial(progress: ProgressCallback) -> ChatBackend:
        backend = _Cyclic()
        made.append(weakref.ref(backend))
        return backend

    def factory_for(settings: AppSettings) -> BackendFactory:
        return lambda progress: ScriptedBackend([[*tokens("second"), Done("stop")]], model="second")

    app = InternLMApp(AppSettings(), backend_factory=initial, factory_for=factory_for)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: gc.get_freeze_count() > 0)  # what was loaded: out of full passes
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, SwitchModelScreen))
        app.screen.query_one(Input).value = "./other"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(screen.session.backend, _Cyclic))
        await wait_for(pilot, lambda: gc.get_freeze_count() > 0)
        gc.collect()
        assert made[0]() is None  # the first model was not kept frozen
    assert gc.get_freeze_count() == 0  # nothing stays frozen once the app has exited
