"""Pilot tests of the agent in the app: approval (approve, deny, keys typed ahead, Esc) and
trace-panel navigation, with a scripted LLM driving the real sandbox."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from testkit.agent import ANSWER, SOLVE, agent_app
from testkit.app import wait_for
from tui.app import InternLMApp
from tui.screens.approval import ARMING_S, ApprovalScreen
from tui.screens.chat import ChatScreen
from tui.settings import AppSettings
from tui.store.store import open_store
from tui.widgets.assistant_message import AssistantMessage
from tui.widgets.trace_panel import TracePanel


async def start(pilot: Pilot[None], app: InternLMApp) -> ChatScreen:
    screen = app.screen
    assert isinstance(screen, ChatScreen)
    await wait_for(pilot, lambda: screen.session.backend is not None)
    await pilot.press(*"solve 2x+3=10", "enter")
    return screen


async def approval_shown(pilot: Pilot[None], app: InternLMApp) -> ApprovalScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen))
    screen = app.screen
    assert isinstance(screen, ApprovalScreen)
    return screen


def trace_text(chat: ChatScreen) -> str:
    return "\n".join(step.plain_text() for step in chat.query_one(TracePanel).steps)


async def test_approve_runs_the_code_and_the_answer_streams() -> None:
    app, _ = agent_app([SOLVE, ANSWER])
    async with app.run_test(size=(140, 40)) as pilot:
        chat = await start(pilot, app)
        dialog = await approval_shown(pilot, app)
        assert dialog.request.code == "x = (10 - 3) / 2\nprint(x)"
        await pilot.pause(ARMING_S + 0.1)
        await pilot.press("y")
        await wait_for(pilot, lambda: not chat.busy)
        trace = chat.query_one(TracePanel)
        assert trace.has_class("visible")
        tool = next(s for s in trace.steps if s.data.kind == "tool")
        assert tool.data.ok is True and tool.data.output == "3.5" and tool.data.approval == "approved"
        assert chat.query(AssistantMessage).last().text == "x = 3.5"


async def test_deny_goes_back_to_the_model() -> None:
    app, llm = agent_app([SOLVE, ANSWER])
    async with app.run_test(size=(140, 40)) as pilot:
        chat = await start(pilot, app)
        await approval_shown(pilot, app)
        await pilot.pause(ARMING_S + 0.1)
        await pilot.press("n")
        await wait_for(pilot, lambda: not chat.busy)
        tool = next(s for s in chat.query_one(TracePanel).steps if s.data.kind == "tool")
        assert tool.data.ok is False and tool.data.approval == "denied"
        assert "did not allow" in "\n".join(m.content for m in llm.seen[1])


async def test_keys_typed_ahead_are_not_consent() -> None:
    app, _ = agent_app([SOLVE, ANSWER])
    async with app.run_test(size=(140, 40)) as pilot:
        chat = await start(pilot, app)
        dialog = await approval_shown(pilot, app)
        now = [0.0]  # the dialog's clock, so a slow machine cannot let the delay pass between keys
        dialog.arming.clock = lambda: now[0]
        dialog.arming.opened()
        await pilot.press("y", "y", "n")  # typed before the prompt armed
        assert app.screen is dialog and dialog.ignored_keys == 3
        tool = next(s for s in chat.query_one(TracePanel).steps if s.data.kind == "tool")
        assert tool.data.output is None  # nothing ran
        now[0] += ARMING_S + 0.1
        await pilot.press("n")
        await wait_for(pilot, lambda: not chat.busy)
        assert tool.data.approval == "denied"


async def test_escape_at_the_prompt_stops_the_agent() -> None:
    app, _ = agent_app([SOLVE, ANSWER])
    async with app.run_test(size=(140, 40)) as pilot:
        chat = await start(pilot, app)
        await approval_shown(pilot, app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not chat.busy)
        assert not isinstance(app.screen, ApprovalScreen)
        tool = next(s for s in chat.query_one(TracePanel).steps if s.data.kind == "tool")
        assert tool.data.output == "cancelled before it ran"


async def test_trace_navigation_and_expand_collapse() -> None:
    app, _ = agent_app([SOLVE, ANSWER], approve="auto")
    async with app.run_test(size=(140, 40)) as pilot:
        chat = await start(pilot, app)
        await wait_for(pilot, lambda: not chat.busy)
        trace = chat.query_one(TracePanel)
        kinds = [s.data.kind for s in trace.steps]
        assert kinds == ["thought", "tool", "thought"]
        trace.focus()
        await pilot.pause()
        assert trace.cursor == 2
        await pilot.press("up")
        assert trace.cursor == 1 and trace.steps[1].has_class("-cursor")
        assert "x = (10 - 3) / 2" in trace_text(chat)
        await pilot.press("enter")
        assert not trace.steps[1].expanded
        assert "x = (10 - 3) / 2" not in trace.steps[1].plain_text()
        await pilot.press("space")
        assert trace.steps[1].expanded
        await pilot.press("up", "up", "up")
        assert trace.cursor == 0
        await pilot.press("down", "down", "down", "down")
        assert trace.cursor == 2


async def test_bad_model_output_ends_the_turn_with_a_note_in_the_trace() -> None:
    app, _ = agent_app(["Thought: x\nAction: google\nAction Input: weather\n"], approve="auto")
    async with app.run_test(size=(140, 40)) as pilot:
        chat = await start(pilot, app)
        await wait_for(pilot, lambda: not chat.busy)
        steps = chat.query_one(TracePanel).steps
        assert steps[-1].data.kind == "note" and "unknown tool 'google'" in steps[-1].data.text


async def test_tool_steps_are_saved_and_shown_again_when_reopened(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    app, _ = agent_app([SOLVE, ANSWER], approve="auto", settings=AppSettings(db_path=db))
    async with app.run_test(size=(140, 40)) as pilot:
        chat = await start(pilot, app)
        await wait_for(pilot, lambda: not chat.busy)
        cid = chat.session.conversation.conversation_id
        assert cid is not None
        await pilot.press("ctrl+n")
        assert chat.query_one(TracePanel).steps == []
        await chat.history.open(cid)
        steps = chat.query_one(TracePanel).steps
        assert [(s.data.name, s.data.output, s.data.ok) for s in steps] == [("python", "3.5", True)]
        assert "x = (10 - 3) / 2" in steps[0].plain_text()


async def test_an_interrupted_tool_call_is_shown_and_never_run_again(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    store = open_store(db)
    cid = store.create_conversation("crashed agent")
    assert cid is not None
    store.add_message(cid, "user", "solve")
    reply = store.add_message(cid, "assistant", "", status="streaming")
    assert reply is not None
    store.add_tool_call(reply, "call-1", "python", "open('/tmp/should-not-exist', 'w')")
    store.close()
    app, llm = agent_app([], approve="auto", settings=AppSettings(db_path=db))
    async with app.run_test(size=(140, 40)) as pilot:
        chat = app.screen
        assert isinstance(chat, ChatScreen)
        await wait_for(pilot, lambda: chat.session.backend is not None)
        await chat.history.open(cid)
        await pilot.pause(0.3)
        steps = chat.query_one(TracePanel).steps
        assert steps[0].data.output == "interrupted — not run again" and steps[0].data.ok is False
        assert llm.seen == []  # nothing was sent or run
