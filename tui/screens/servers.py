"""The Servers screen: every endpoint of the remote backend with its health and latency.

Checking runs in a thread worker (a dead server takes seconds to time out); the worker only
posts the statuses, and the handler draws them. URLs and details come from outside, so every
string is sanitised and drawn as plain text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from backends.remote.endpoints import EndpointStatus
from tui.sanitize import one_line, sanitize


@runtime_checkable
class HasEndpoints(Protocol):
    """A backend behind one or more servers (the remote backend)."""

    def endpoint_statuses(self) -> list[EndpointStatus]: ...

    def check_endpoints(self) -> list[EndpointStatus]: ...

    def current_endpoint(self) -> str | None: ...


def status_lines(statuses: Sequence[EndpointStatus], current: str | None) -> Text:
    """One line per server: mark, URL, latency, what the check said; ``◀`` on this chat's server."""
    text = Text()
    for i, status in enumerate(statuses):
        if status.healthy is None:
            mark, style = "?", "dim"
        elif status.healthy:
            mark, style = "●", "bold green"
        else:
            mark, style = "✕", "bold red"
        latency = f"{status.latency_s * 1000:6.0f} ms" if status.latency_s is not None else "     – ms"
        if i:
            text.append("\n")
        text.append(f"{mark} ", style=style)
        text.append(sanitize(status.url))
        text.append(f"  {latency}  ")
        text.append(one_line(status.detail, limit=200), style="dim" if status.healthy else "")
        if status.lmdeploy:
            text.append("  lmdeploy", style="dim")
        if current is not None and status.url == current:
            text.append("  ◀ this chat", style="bold")
    return text


class ServersScreen(ModalScreen[None]):
    """Health and latency of each server; ``r`` checks them all again."""

    BINDINGS = [
        Binding("r", "refresh", "Check again", id="servers.refresh"),
        Binding("escape", "close", "Close", id="servers.close"),
    ]

    class Checked(Message):
        """The worker has the statuses (or a one-line reason it could not check)."""

        def __init__(self, statuses: list[EndpointStatus], error: str | None = None) -> None:
            super().__init__()
            self.statuses = statuses
            self.error = error

    def __init__(self, backend: HasEndpoints) -> None:
        super().__init__()
        self._backend = backend

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="servers"):
            yield Label("Servers · new chats go to the fastest healthy one")
            with VerticalScroll(id="servers-list"):
                yield Static(self._lines(self._backend.endpoint_statuses()), id="servers-table")
            yield Label(Text("Checking…"), id="servers-note")

    def _lines(self, statuses: Sequence[EndpointStatus]) -> Text:
        return status_lines(statuses, self._backend.current_endpoint())

    def on_mount(self) -> None:
        self.query_one("#servers-list").focus()
        self.action_refresh()

    def action_refresh(self) -> None:
        """Check every server now (in a thread)."""
        self.query_one("#servers-note", Label).update(Text("Checking…"))
        self._check()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _check(self) -> None:
        try:
            statuses = self._backend.check_endpoints()
        except Exception as exc:  # a bug must not take the app down: one line instead
            self.post_message(self.Checked([], one_line(f"{type(exc).__name__}: {exc}")))
            return
        self.post_message(self.Checked(statuses))

    def on_servers_screen_checked(self, message: Checked) -> None:
        note = self.query_one("#servers-note", Label)
        if message.error is not None:
            note.update(Text(sanitize(message.error)))
            return
        self.query_one("#servers-table", Static).update(self._lines(message.statuses))
        healthy = sum(1 for s in message.statuses if s.healthy)
        note.update(Text(f"{healthy} of {len(message.statuses)} healthy · r checks again · Esc closes"))

    def action_close(self) -> None:
        """Back to the chat."""
        self.dismiss(None)
