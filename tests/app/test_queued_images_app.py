"""A prompt with images sent while the model loads goes nowhere the model cannot see them."""

from __future__ import annotations

import threading
from pathlib import Path

from backends.base import ChatBackend, ProgressCallback
from backends.scripted import ScriptedBackend
from testkit import images
from testkit.app import settle, wait_for
from tui.app import InternLMApp
from tui.attachments import load_attachment
from tui.screens.chat import ChatScreen
from tui.settings import AppSettings


async def test_images_queued_while_loading_are_not_sent_to_a_text_only_model(tmp_path: Path) -> None:
    backend = ScriptedBackend(capabilities=frozenset({"stream"}))
    release = threading.Event()

    def factory(progress: ProgressCallback) -> ChatBackend:
        release.wait(10)
        return backend

    loaded = load_attachment(images.write(tmp_path / "a.png", images.png()))
    app = InternLMApp(AppSettings(attach=(loaded,)), backend_factory=factory)
    async with app.run_test(size=(110, 34), notifications=True) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await pilot.press(*"look", "enter")
        await wait_for(pilot, lambda: screen.session.queued)
        release.set()
        await wait_for(pilot, lambda: screen.session.backend is not None)
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert backend.seen == [], "the model was asked without the image it cannot see"
        assert any("text-only" in n.message for n in app._notifications)
