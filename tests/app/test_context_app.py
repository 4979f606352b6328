"""Pilot test: the context meter, and a prompt that would overflow the model's context."""

from __future__ import annotations

from pathlib import Path

from backends.base import ChatBackend, ProgressCallback
from backends.events import Done, GenerationParams
from testkit.app import settle, tokens, wait_for
from testkit.counting import WordCounter
from tui.app import InternLMApp
from tui.screens.chat import ChatScreen
from tui.screens.confirm import ConfirmScreen
from tui.settings import AppSettings
from tui.widgets.prompt_input import PromptInput
from tui.widgets.status_line import StatusLine


async def test_overflow_asks_and_leaves_out_the_oldest_turn_only_when_told(tmp_path: Path) -> None:
    backend = WordCounter(40, [[*tokens("a b c d e f g h"), Done("stop")], [*tokens("ok"), Done("stop")]])

    def factory(progress: ProgressCallback) -> ChatBackend:
        return backend

    settings = AppSettings(db_path=tmp_path / "h.sqlite3", params=GenerationParams(max_new_tokens=8))
    app = InternLMApp(settings, backend_factory=factory)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: screen.session.backend is backend)
        await pilot.press(*"one two three four five six", "enter")
        await wait_for(pilot, lambda: not screen.busy and len(backend.seen) == 1)
        status = screen.query_one(StatusLine)
        assert "ctx 16/40" in str(status.render())  # 7 + 9 words and messages
        long_prompt = " ".join(["word"] * 16)
        prompt = screen.query_one(PromptInput)
        prompt.text = long_prompt
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # cancel: nothing is sent, the prompt keeps the text
        await wait_for(pilot, lambda: app.screen is screen)
        await settle(pilot)
        assert prompt.text == long_prompt and len(backend.seen) == 1
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: not screen.busy and len(backend.seen) == 2)
        assert [m.content for m in backend.seen[-1]] == [long_prompt]  # the oldest turn left out
        assert "(2 oldest not sent)" in str(status.render())
