"""Asks the user to approve the exact code or tool call an agent wants to run: y runs it once,
a always in this chat (for this tool), n denies, r denies with a typed reason that is sent to
the model, Esc stops the turn.

What is shown is what runs: the code arrives normalised and hashed (``ApprovalRequest``), every
invisible or look-alike character is shown as a ``⟨U+XXXX⟩`` marker, and a request whose code
does not match its digest cannot be approved. A key counts as an answer only after a quiet
``ARMING_S`` (restarted by every key press, so typing that runs on into the dialog is never
consent), and code longer than the dialog can only be approved once its end was scrolled into view.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from rich.syntax import Syntax
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Static

from backends.events import ApprovalRequest
from tui.sanitize import reveal, sanitize
from tui.screens.arming import ARMING_S, KeyArming
from tui.screens.deny_reason import DenyReasonScreen

__all__ = ["ALWAYS", "ARMING_S", "ApprovalAnswer", "ApprovalScreen", "Denied"]

SCROLL_HINT = "scroll to the end to approve (↓ / page down / end)"

ALWAYS: Final = "always"
"""The answer "run this tool without asking for the rest of this chat"."""


@dataclass(frozen=True, slots=True)
class Denied:
    """A denial with the user's reason (sent to the model as the tool's result)."""

    reason: str


ApprovalAnswer = bool | None | Literal["always"] | Denied
"""True run once, ``ALWAYS``, False deny, ``Denied(reason)``, None stop the turn."""


class ApprovalScreen(ModalScreen[ApprovalAnswer]):
    """Dismisses with an ``ApprovalAnswer``."""

    BINDINGS = [
        Binding("y", "answer(True)", "Run once", id="approval.yes"),
        Binding("a", "always", "Always (this chat)", id="approval.always"),
        Binding("n", "answer(False)", "Deny", id="approval.no"),
        Binding("r", "deny_reason", "Deny with reason", id="approval.reason"),
        Binding("escape", "stop", "Stop turn", id="approval.stop"),
    ]

    def __init__(
        self,
        request: ApprovalRequest,
        arming_s: float = ARMING_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.request = request
        self.arming = KeyArming(arming_s, clock)
        self.ignored_keys = 0
        self.seen_end = False
        """Sticky: the last line of the code has been in view (scrolled there, or it all fits)."""
        self._keys_timer: Timer | None = None

    @property
    def line_count(self) -> int:
        """Lines of the code as Python counts them (only ``\\n`` breaks a line after normalising)."""
        return len(self.request.code.split("\n"))

    def compose(self) -> ComposeResult:
        request = self.request
        lines = self.line_count
        counted = f"{lines} line" + ("s" if lines != 1 else "")
        if request.language == "json":
            server = f" (MCP server {sanitize(request.server)})" if request.server else ""
            title = f"The agent wants to call the tool {sanitize(request.name)}{server} with:"
        else:
            title = f"The agent wants to run this {sanitize(request.name)} code ({counted}):"
        with Vertical(id="approval-dialog"):
            yield Static(Text(title, style="bold"), classes="panel-title")
            with VerticalScroll(id="approval-code"):
                yield Static(
                    Syntax(reveal(request.code), request.language, word_wrap=True, line_numbers=True)
                )
            if request.language == "json":
                sandbox = (
                    "Not sandboxed: the tool runs in its MCP server, with that server's rights. "
                    "These exact arguments are sent."
                )
            else:
                sandbox = (
                    "Runs in a sandbox: separate process, temp folder, no API keys, time/memory limits, "
                )
                sandbox += (
                    "no network."
                    if request.network_blocked
                    else "NOT ISOLATED: it can read your files and use the network."
                )
            if request.intact:
                sandbox += f" sha256 {request.sha256[:16]}"
            else:
                sandbox = "⚠ This code does not match its digest and cannot be approved (n or Esc)."
            yield Static(Text(sandbox), id="approval-note")
            yield Static(Text("wait…"), id="approval-keys")

    @property
    def code_view(self) -> VerticalScroll:
        """The scrolling box holding the code (focused, so arrow / page / end keys scroll it)."""
        return self.query_one("#approval-code", VerticalScroll)

    def on_mount(self) -> None:
        self.arming.opened()
        view = self.code_view
        view.focus()
        self.watch(view, "scroll_y", self._scrolled, init=False)
        self._restart_keys_timer()
        self.call_after_refresh(self._refresh_keys)

    def on_resize(self) -> None:
        """A new size may bring the end into view or push it out: redraw the keys line."""
        self.call_after_refresh(self._refresh_keys)

    def on_key(self, event: events.Key) -> None:
        """Every key press restarts the arming delay (runs before the key's binding)."""
        self.arming.key_pressed()
        self._restart_keys_timer()

    def _scrolled(self) -> None:
        view = self.code_view
        if view.scroll_y >= view.max_scroll_y:
            self.seen_end = True
        self._refresh_keys()

    def _at_end(self) -> bool:
        """The end was scrolled into view, or is in view now (not sticky: layout may still change)."""
        view = self.code_view
        return self.seen_end or view.scroll_y >= view.max_scroll_y

    def _restart_keys_timer(self) -> None:
        if self._keys_timer is not None:
            self._keys_timer.stop()
        self._keys_timer = self.set_timer(self.arming.arming_s, self._refresh_keys)
        self._refresh_keys()

    def _refresh_keys(self) -> None:
        if not self.is_mounted:
            return
        if not self.request.intact:
            keys = "n deny · Esc stop the agent"
        elif not self._at_end():
            keys = f"{SCROLL_HINT} · n deny · Esc stop the agent"
        elif not self.arming.quiet:
            keys = "wait…"
        else:
            keys = "y run once · a always (this chat) · n deny · r deny with reason · Esc stop"
        self.query_one("#approval-keys", Static).update(Text(keys))

    @property
    def armed(self) -> bool:
        """Whether the key being handled counts as an answer."""
        return self.arming.key_counts

    def action_answer(self, yes: bool) -> None:
        """Approve or deny; ignored unless armed. Approving also needs the end seen and the digest intact."""
        if not self.armed or (yes and not (self.request.intact and self._at_end())):
            self.ignored_keys += 1
            if yes and self.armed and self.request.intact:
                self.notify(SCROLL_HINT, severity="warning", timeout=3)
            return
        self.dismiss(yes)

    def action_always(self) -> None:
        """Approve this call and every later call of this tool in this chat (same checks as y)."""
        if not self.armed or not (self.request.intact and self._at_end()):
            self.ignored_keys += 1
            return
        self.dismiss(ALWAYS)

    def action_deny_reason(self) -> None:
        """Deny, typing why: the reason goes to the model as the tool's result."""
        if not self.armed:
            self.ignored_keys += 1
            return

        def typed(reason: str | None) -> None:
            if reason is not None:
                self.dismiss(Denied(reason))

        self.app.push_screen(DenyReasonScreen(), typed)

    def action_stop(self) -> None:
        """Deny and stop the agent's turn."""
        self.dismiss(None)
