"""The chat screen's tool logic: approval answers (once / always for this chat / deny with a
reason / stop), the Tools screen, and MCP server statuses in the trace panel.

Kept out of ``tui.screens.chat`` so that screen stays small; the session owns the chat's tool
choice and remembered approvals (``tui.chat_tools``), this controller only asks and draws.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backends.base import Approver
from backends.events import ApprovalRequest
from tui.messages import McpStatusChanged
from tui.screens.approval import ALWAYS, ApprovalAnswer, ApprovalScreen, Denied
from tui.screens.auto_approve import AutoApproveConfirm
from tui.screens.tools import ToolRow, ToolsScreen
from tui.session import KB_SEARCH, Turn
from tui.widgets.trace_panel import TracePanel

if TYPE_CHECKING:
    from tui.screens.chat import ChatScreen

KB_TOOL = KB_SEARCH


class ToolsController:
    """Answers the agent's approval requests and edits the chat's tools for ``ChatScreen``."""

    def __init__(self, screen: ChatScreen) -> None:
        self.screen = screen
        self.session = screen.session

    # ----- approvals ------------------------------------------------------------------------
    def ask(self, turn: Turn, request: ApprovalRequest) -> None:
        """Answer one approval request: by the policy, by a remembered "always", or by asking.

        With ``approve = "auto"`` from the config file, the first request asks once whether that
        may take effect; confirmed, this and later requests are approved here without a dialog."""
        screen = self.screen
        backend = self.session.backend
        policy = screen.approval_policy
        trace = screen.query_one(TracePanel)
        if policy.mode == "confirm" and screen.settings.auto_approve_from is not None:

            def decided(confirmed: bool | None) -> None:
                policy.decide(bool(confirmed))
                screen.status.auto_approve = policy.auto
                if self.session.turn is turn:
                    self.ask(turn, request)
                elif isinstance(backend, Approver):
                    backend.answer(request.call_id, False)

            screen.status.state = "confirm auto-approve (y / n)"
            screen.app.push_screen(AutoApproveConfirm(screen.settings.auto_approve_from), decided)
            return
        if policy.answered_by_app and policy.auto:
            if isinstance(backend, Approver):
                backend.answer(request.call_id, True)
            trace.set_approval(request.call_id, "auto-approved")
            return
        if request.name in self.session.tools.always and request.intact:
            if isinstance(backend, Approver):
                backend.answer(request.call_id, True)
            trace.set_approval(request.call_id, "approved (always in this chat)")
            return
        screen.status.state = "waiting for your approval (y / a / n / r)"

        async def answered(answer: ApprovalAnswer) -> None:
            if answer is None:  # Esc: stop the turn; the backend sees the cancel and runs nothing
                if self.session.turn is turn:
                    trace.set_approval(request.call_id, "stopped")
                    await screen.action_stop()
                elif isinstance(backend, Approver):
                    backend.answer(request.call_id, False)
                return
            approved = answer is True or answer == ALWAYS
            reason = answer.reason if isinstance(answer, Denied) else ""
            if answer == ALWAYS:
                self.session.set_tools(self.session.tools.remember(request.name))
            if isinstance(backend, Approver):
                backend.answer(request.call_id, approved, reason)
            if self.session.turn is not turn:
                return
            label = "approved" if approved else "denied"
            if answer == ALWAYS:
                label = "approved (always in this chat)"
            trace.set_approval(request.call_id, label)
            screen.status.state = "streaming… (Esc stops)"

        screen.app.push_screen(ApprovalScreen(request), answered)

    # ----- the Tools screen -----------------------------------------------------------------
    def rows(self) -> list[ToolRow]:
        """Every tool the backend knows, grouped by server, with this chat's choice."""
        self.session.offer_kb_tool()
        tools = getattr(self.session.backend, "tools", None)
        chosen = self.session.tools.chosen
        default = tuple(self.session.settings.backend.agent.tools) or None
        selected = chosen if chosen is not None else default
        rows: list[ToolRow] = []
        for tool in tools or ():
            server = str(getattr(tool, "server", ""))
            label = "Python (sandboxed)" if tool.name == "python" else tool.name
            if tool.name == KB_TOOL:
                label = "knowledge-base search"
            rows.append(ToolRow(tool.name, label, server, selected is None or tool.name in selected))
        return rows

    def servers(self) -> list[tuple[str, str]]:
        """(name, status) of every configured MCP server."""
        hub = getattr(self.session.backend, "mcp", None)
        return [(s.name, s.label) for s in hub.statuses()] if hub is not None else []

    def open_tools(self) -> None:
        """Choose this chat's tools and revoke remembered approvals (palette: Tools)."""
        if getattr(self.session.backend, "tools", None) is None:
            self.screen.notify("Tools need the agent backend (--backend agent).", markup=False)
            return

        def chosen(result: tuple[tuple[str, ...], frozenset[str]] | None) -> None:
            if result is None:
                return
            names, always = result
            default = tuple(self.session.settings.backend.agent.tools) or None
            by_default = {r.name for r in self.rows() if default is None or r.name in default}
            picked = None if set(names) == by_default else tuple(names)
            tools = self.session.tools.choose(picked)
            for name in tools.always - always:
                tools = tools.forget(name)
            self.session.set_tools(tools)
            self.screen.notify(f"Tools for this chat: {len(names)} on.", markup=False)

        screen = ToolsScreen(self.rows(), self.session.tools.always, self.servers())
        self.screen.app.push_screen(screen, chosen)

    # ----- MCP statuses ---------------------------------------------------------------------
    def watch_backend(self, backend: Any) -> None:
        """Show the backend's MCP servers in the trace now and whenever one changes."""
        hub = getattr(backend, "mcp", None)
        if hub is None:
            return
        screen = self.screen

        def changed(status: Any) -> None:  # called on the hub's thread
            screen.post_message(McpStatusChanged(status))

        hub.on_change = changed
        for status in hub.statuses():
            screen.post_message(McpStatusChanged(status))

    async def status_changed(self, message: McpStatusChanged) -> None:
        status = message.status
        await self.screen.query_one(TracePanel).show_server(status.name, status.label, len(status.tools))
