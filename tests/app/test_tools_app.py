"""Pilot tests of the chat's tools: approval "always" remembered and revoked, a denial's typed
reason reaching the model, the Tools checklist saved and restored with the chat, and a real
MCP server (stdio) whose status, image and hostile text appear sanitised in the trace."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Input, SelectionList

from testkit.agent import ANSWER, agent_app
from testkit.app import wait_for
from testkit.mcp import stdio_config
from testkit.mcp_server import HOSTILE_TOOL
from tui.app import InternLMApp
from tui.chat_tools import ChatTools
from tui.screens.approval import ApprovalScreen
from tui.screens.chat import ChatScreen
from tui.screens.deny_reason import DenyReasonScreen
from tui.screens.tools import ToolsScreen
from tui.widgets.attachment_view import AttachmentView
from tui.widgets.trace_panel import TracePanel


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def step(code: str) -> str:
    return f"Thought: run it.\nAction: python\nAction Input: {code}\n"


async def start(pilot: Pilot[None], app: InternLMApp, prompt: str = "run it") -> ChatScreen:
    chat = app.screen
    assert isinstance(chat, ChatScreen)
    await wait_for(pilot, lambda: chat.session.backend is not None, timeout=40)
    await pilot.press(*prompt, "enter")
    return chat


async def armed_dialog(pilot: Pilot[None], app: InternLMApp) -> ApprovalScreen:
    """The open approval dialog, armed at once (its clock is moved past the arming delay)."""
    await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen))
    dialog = app.screen
    assert isinstance(dialog, ApprovalScreen)
    clock = FakeClock()
    dialog.arming.clock = clock
    dialog.arming.opened()
    clock.now += 5
    await pilot.pause()
    return dialog


def approvals(chat: ChatScreen) -> list[str]:
    return [s.data.approval for s in chat.query_one(TracePanel).steps if s.data.kind == "tool"]


async def test_always_is_remembered_for_the_chat_and_revoked_in_the_tools_screen() -> None:
    app, _ = agent_app([step("print(1)"), step("print(2)"), ANSWER])
    async with app.run_test(size=(120, 40)) as pilot:
        chat = await start(pilot, app)
        await armed_dialog(pilot, app)
        await pilot.press("a")
        await wait_for(pilot, lambda: not chat.busy, timeout=30)
        assert approvals(chat) == ["approved (always in this chat)", "approved (always in this chat)"]
        assert chat.session.tools.always == {"python"}
        chat.session.store.flush(5)
        conversation = chat.session.conversation_id
        assert conversation is not None
        assert chat.session.store.get_conversation(conversation).tools == {"always": ["python"]}  # type: ignore[union-attr]
        # Revoke it: F7, move to the "always" list, untick python, save.
        await pilot.press("f7")
        await wait_for(pilot, lambda: isinstance(app.screen, ToolsScreen))
        app.screen.query_one("#tools-always", SelectionList).deselect_all()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
        assert chat.session.tools.always == frozenset()
        chat.session.store.flush(5)
        assert chat.session.store.get_conversation(conversation).tools == {}  # type: ignore[union-attr]


async def test_a_denial_with_a_typed_reason_reaches_the_model() -> None:
    app, llm = agent_app([step("print(1)"), ANSWER])
    async with app.run_test(size=(120, 40)) as pilot:
        chat = await start(pilot, app)
        await armed_dialog(pilot, app)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, DenyReasonScreen))
        app.screen.query_one(Input).value = "use sympy instead"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not chat.busy, timeout=30)
        assert approvals(chat) == ["denied"]
        assert "use sympy instead" in "\n".join(m.content for m in llm.seen[1])


async def test_the_tools_choice_is_saved_with_the_chat_and_restored_when_it_is_reopened() -> None:
    app, _ = agent_app(["Final Answer: hi", "Final Answer: again"])
    async with app.run_test(size=(120, 40)) as pilot:
        chat = await start(pilot, app, "hello")
        await wait_for(pilot, lambda: not chat.busy, timeout=30)
        await pilot.press("f7")
        await wait_for(pilot, lambda: isinstance(app.screen, ToolsScreen))
        listed = app.screen.query_one("#tools-list", SelectionList)
        assert listed.selected == ["python"]
        listed.deselect_all()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
        assert chat.session.tools == ChatTools(chosen=())
        conversation = chat.session.conversation_id
        assert conversation is not None
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: chat.session.conversation_id is None)
        assert chat.session.tools == ChatTools()
        await chat.history.chosen(conversation, None)
        assert chat.session.tools == ChatTools(chosen=())
        # The next turn's agent gets the chat's choice: no tools at all.
        await pilot.press(*"again", "enter")
        await wait_for(pilot, lambda: not chat.busy, timeout=30)
        assert chat.session.backend.chosen == ()  # type: ignore[union-attr]


CALL_PICTURE = "Thought: draw\nAction: test__picture\nAction Input: {}\n"
CALL_HOSTILE = 'Thought: x\nAction: test__hostile_2J_tool_with_spaces\nAction Input: {"text": "y"}\n'


async def test_an_mcp_server_its_image_and_its_hostile_text_in_the_trace() -> None:
    from backends.agent.mcp_client import McpHub
    from backends.agent.tools import ToolSet

    tools = ToolSet()
    hub = McpHub([stdio_config("test")], tools)
    hub.start()
    hub.wait_ready(40)
    app, _ = agent_app([CALL_PICTURE, CALL_HOSTILE, "Final Answer: done"], tools=tools, mcp=hub)
    async with app.run_test(size=(140, 45)) as pilot:
        chat = await start(pilot, app, "draw")
        dialog = await armed_dialog(pilot, app)
        assert dialog.request.server == "test" and dialog.request.language == "json"
        await pilot.press("y")
        dialog = await armed_dialog(pilot, app)
        await pilot.press("y")
        await wait_for(pilot, lambda: not chat.busy, timeout=30)
        trace = chat.query_one(TracePanel)
        text = "\n".join(step.plain_text(100) for step in trace.steps)
        assert "MCP test: ready" in text
        files = [label for step in trace.steps for label in step.data.files]
        assert files == ["tool-image-1.png · 75 B · 7×5"]
        (view,) = trace.query(AttachmentView)
        assert view.loaded.attachment.data.startswith(b"\x89PNG")
        assert "PWNED-CLEAR" in text and "\x1b" not in text and "[red]" in text  # shown, never obeyed
        assert HOSTILE_TOOL not in text
        # The picture shows in the chat too, right below the reply; and again when reopened.
        reply = chat.chat_pane.messages[-1]
        (shown,) = chat.chat_pane.query_children(AttachmentView)
        children = list(chat.chat_pane.children)
        assert children.index(shown) == children.index(reply) + 1
        assert shown.loaded.attachment.data == view.loaded.attachment.data
        conversation = chat.session.conversation_id
        assert conversation is not None
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: not chat.chat_pane.query_children(AttachmentView))
        await chat.history.chosen(conversation, None)
        await wait_for(pilot, lambda: len(chat.chat_pane.query_children(AttachmentView)) == 1)
        (again,) = chat.chat_pane.query_children(AttachmentView)
        assert again.loaded.attachment.data == view.loaded.attachment.data
        assert all(not m.attachments for m in chat.session.conversation.messages if m.role == "assistant")
    hub.close()
