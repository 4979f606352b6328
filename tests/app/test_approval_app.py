"""Pilot tests of the approval dialog and auto-approve in the app (scripted LLM, real sandbox).

The arming delay is driven by a fake clock put into the open dialog, so "typing continuously"
means key presses 0.3 s apart on that clock, whatever the machine's speed.
"""

from __future__ import annotations

from pathlib import Path

from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import Static

from backends.options import AgentOptions, BackendOptions
from testkit.agent import ANSWER, agent_app
from testkit.app import wait_for
from tui.app import InternLMApp
from tui.screens.approval import SCROLL_HINT, ApprovalScreen
from tui.screens.auto_approve import AutoApproveConfirm
from tui.screens.chat import ChatScreen
from tui.settings import AppSettings
from tui.widgets.status_line import AUTO_APPROVE_MARKER, StatusLine
from tui.widgets.trace_panel import TracePanel


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def step(action_input: str) -> str:
    return f"Thought: I will run it.\nAction: python\nAction Input: {action_input}\n"


async def start(pilot: Pilot[None], app: InternLMApp) -> ChatScreen:
    chat = app.screen
    assert isinstance(chat, ChatScreen)
    await wait_for(pilot, lambda: chat.session.backend is not None)
    await pilot.press(*"run it", "enter")
    return chat


async def dialog_with_clock(pilot: Pilot[None], app: InternLMApp) -> tuple[ApprovalScreen, FakeClock]:
    await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen))
    dialog = app.screen
    assert isinstance(dialog, ApprovalScreen)
    clock = FakeClock()
    dialog.arming.clock = clock
    dialog.arming.opened()
    await pilot.pause()
    return dialog, clock


def code_lines(dialog: ApprovalScreen) -> list[str]:
    """The code as drawn in the dialog (line numbers included), one string per screen line."""
    static = dialog.code_view.query_one(Static)
    return [strip.text.rstrip() for strip in static.render_lines(Region(0, 0, *static.size))]


def tool_step_approval(chat: ChatScreen) -> str:
    tool = next(s for s in chat.query_one(TracePanel).steps if s.data.kind == "tool")
    return tool.data.approval


async def test_typing_y_continuously_into_the_dialog_never_approves() -> None:
    app, _ = agent_app([step("print(1)"), ANSWER])
    async with app.run_test(size=(120, 40)) as pilot:
        chat = await start(pilot, app)
        dialog, clock = await dialog_with_clock(pilot, app)
        for _ in range(12):  # 3.6 s of typing, a key every 0.3 s: past any fixed delay
            clock.advance(0.3)
            await pilot.press("y")
        assert app.screen is dialog and dialog.ignored_keys == 12
        clock.advance(0.6)  # a pause, then a deliberate y
        await pilot.press("y")
        await wait_for(pilot, lambda: not chat.busy)
        assert tool_step_approval(chat) == "approved"


async def test_long_code_cannot_be_approved_until_its_end_was_scrolled_into_view() -> None:
    code = "\n".join(f"x{i} = {i}" for i in range(299)) + "\nprint('payload on line 300')"
    app, _ = agent_app([step(f"```python\n{code}\n```"), ANSWER])
    async with app.run_test(size=(100, 30)) as pilot:
        chat = await start(pilot, app)
        dialog, clock = await dialog_with_clock(pilot, app)
        assert "(300 lines)" in str(dialog.query_one(".panel-title", Static).render())
        clock.advance(1)
        await pilot.press("y")
        assert app.screen is dialog and not dialog.seen_end
        assert SCROLL_HINT in str(dialog.query_one("#approval-keys", Static).render())
        await pilot.press("end")
        await wait_for(pilot, lambda: dialog.seen_end)
        assert any("payload on line 300" in line for line in code_lines(dialog)[-3:])
        clock.advance(1)
        await pilot.press("y")
        await wait_for(pilot, lambda: not chat.busy)
        assert tool_step_approval(chat) == "approved"


async def test_a_carriage_return_is_shown_as_the_line_break_python_sees() -> None:
    app, _ = agent_app([step("# only a comment\rprint('ran')"), ANSWER])
    async with app.run_test(size=(120, 40)) as pilot:
        chat = await start(pilot, app)
        dialog, clock = await dialog_with_clock(pilot, app)
        assert dialog.line_count == 2
        lines = code_lines(dialog)
        assert lines[0].split() == ["1", "#", "only", "a", "comment"]
        assert lines[1].split() == ["2", "print('ran')"]
        clock.advance(1)
        await pilot.press("y")
        await wait_for(pilot, lambda: not chat.busy)
        tool = next(s for s in chat.query_one(TracePanel).steps if s.data.kind == "tool")
        assert tool.data.output == "ran"


async def test_variation_selectors_and_the_grapheme_joiner_are_shown() -> None:
    code = "a\ufe0f = 1\nb\U000e0100 = 2\nc\u034f = 3\nprint(a\ufe0f, b\U000e0100, c\u034f)"
    app, _ = agent_app([step(code), ANSWER])
    async with app.run_test(size=(120, 40)) as pilot:
        await start(pilot, app)
        dialog, _clock = await dialog_with_clock(pilot, app)
        shown = "\n".join(code_lines(dialog))
        assert "a⟨U+FE0F⟩ = 1" in shown and "b⟨U+E0100⟩ = 2" in shown and "c⟨U+034F⟩ = 3" in shown
        assert not any(ch in shown for ch in "\ufe0f\U000e0100\u034f")


async def test_a_quoted_program_is_shown_and_run_as_the_same_string_literal() -> None:
    app, _ = agent_app([step("'\"print(6 * 7)\"'"), ANSWER])
    async with app.run_test(size=(120, 40)) as pilot:
        chat = await start(pilot, app)
        dialog, clock = await dialog_with_clock(pilot, app)
        assert code_lines(dialog)[0].split() == ["1", '"print(6', "*", '7)"']
        clock.advance(1)
        await pilot.press("y")
        await wait_for(pilot, lambda: not chat.busy)
        tool = next(s for s in chat.query_one(TracePanel).steps if s.data.kind == "tool")
        assert tool.data.output == "(no output)"  # a string literal, as shown; never 42


async def test_a_request_whose_code_does_not_match_its_digest_cannot_be_approved() -> None:
    from backends.events import ApprovalRequest, code_sha256

    app, _ = agent_app([])
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(
            pilot, lambda: isinstance(app.screen, ChatScreen) and app.screen.session.backend is not None
        )
        request = ApprovalRequest("c", "python", "print('shown')", True, code_sha256("print('other')"))
        answers: list[bool | None] = []
        app.push_screen(ApprovalScreen(request), answers.append)
        dialog, clock = await dialog_with_clock(pilot, app)
        clock.advance(1)
        await pilot.press("y")
        assert app.screen is dialog and answers == []
        clock.advance(1)
        await pilot.press("n")
        assert answers == [False]


async def test_auto_approve_from_the_command_line_is_marked_in_the_status_line() -> None:
    auto = AppSettings(backend=BackendOptions(backend="agent", agent=AgentOptions(approve="auto")))
    for approve, app_settings in (("auto", auto), ("ask", AppSettings())):
        app, _ = agent_app([step("print(1)"), ANSWER], approve=approve, settings=app_settings)
        async with app.run_test(size=(120, 40)) as pilot:
            chat = app.screen
            assert isinstance(chat, ChatScreen)
            await wait_for(pilot, lambda: chat.status.state == "ready")  # noqa: B023
            await pilot.pause()
            line = str(chat.query_one(StatusLine).render())
            assert (AUTO_APPROVE_MARKER in line) == (approve == "auto"), line


async def test_auto_approve_from_the_config_file_asks_once_and_asks_per_call_until_confirmed(
    tmp_path: Path,
) -> None:
    settings = AppSettings(auto_approve_from=tmp_path / "config.toml")
    app, _ = agent_app([step("print(1)"), step("print(2)"), ANSWER], settings=settings)
    async with app.run_test(size=(120, 40)) as pilot:
        chat = await start(pilot, app)
        status = chat.query_one(StatusLine)
        assert AUTO_APPROVE_MARKER not in str(status.render())
        await wait_for(pilot, lambda: isinstance(app.screen, AutoApproveConfirm))
        confirm = app.screen
        assert isinstance(confirm, AutoApproveConfirm)
        clock = FakeClock()
        confirm.arming.clock = clock
        confirm.arming.opened()
        await pilot.press("y")  # typed straight after it opened: not an answer
        assert app.screen is confirm
        clock.advance(1)
        await pilot.press("y")
        await wait_for(pilot, lambda: not chat.busy)
        assert AUTO_APPROVE_MARKER in str(status.render())
        tools = [s.data for s in chat.query_one(TracePanel).steps if s.data.kind == "tool"]
        assert [(t.output, t.approval) for t in tools] == [("1", "auto-approved"), ("2", "auto-approved")]


async def test_declining_config_file_auto_approve_keeps_asking(tmp_path: Path) -> None:
    settings = AppSettings(auto_approve_from=tmp_path / "config.toml")
    app, _ = agent_app([step("print(1)"), ANSWER], settings=settings)
    async with app.run_test(size=(120, 40)) as pilot:
        chat = await start(pilot, app)
        await wait_for(pilot, lambda: isinstance(app.screen, AutoApproveConfirm))
        await pilot.press("escape")
        _dialog, clock = await dialog_with_clock(pilot, app)
        assert AUTO_APPROVE_MARKER not in str(chat.query_one(StatusLine).render())
        clock.advance(1)
        await pilot.press("n")
        await wait_for(pilot, lambda: not chat.busy)
        assert tool_step_approval(chat) == "denied"
