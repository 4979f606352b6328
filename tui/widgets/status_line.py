"""One line under the prompt: backend, model, state and the last reply's speed."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from backends.events import BackendInfo, Usage
from tui.sanitize import one_line, sanitize

MODEL_LIMIT = 48
"""A longer model name (a server chooses it) is cut, so the state and figures stay in view."""


def format_usage(usage: Usage) -> str:
    """``14.2 tok/s · TTFT 0.31 s · 96 tokens`` (parts that are unknown are left out)."""
    parts: list[str] = []
    if usage.tokens_per_s is not None:
        parts.append(f"{usage.tokens_per_s:.1f} tok/s")
    if usage.ttft_s is not None:
        parts.append(f"TTFT {usage.ttft_s:.2f} s")
    if usage.completion_tokens:
        parts.append(f"{usage.completion_tokens} tokens")
    return " · ".join(parts)


AUTO_APPROVE_MARKER = "⚠ auto-approve"
"""Shown first in the status line for as long as tool calls run without asking."""


class StatusLine(Static):
    """Shows ``backend · model · device │ state │ stats`` (after ``⚠ auto-approve`` while it is on)."""

    state: reactive[str] = reactive("starting")
    stats: reactive[str] = reactive("")
    alert: reactive[str] = reactive("")
    context: reactive[str] = reactive("")
    """The context meter: ``ctx 1.2k/8.2k`` (see ``tui.context_meter``)."""
    auto_approve: reactive[bool] = reactive(False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.backend_label = ""
        self.marker = ""
        """Shown first while it lasts: "⚠ tools unisolated" when the user opted out of isolation."""

    def set_backend(self, info: BackendInfo) -> None:
        """Name the backend once it is ready."""
        device = f" · {info.device}" if info.device and info.device != "none" else ""
        self.backend_label = f"{info.name} · {one_line(info.model, MODEL_LIMIT)}{device}"
        self.marker = (
            "⚠ tools unisolated"
            if "tools-unisolated" in info.capabilities
            else "⚠ tools off"
            if "tools-off" in info.capabilities
            else ""
        )
        self.refresh_line()

    def watch_state(self) -> None:
        self.refresh_line()

    def watch_stats(self) -> None:
        self.refresh_line()

    def watch_alert(self) -> None:
        self.refresh_line()

    def watch_context(self) -> None:
        self.refresh_line()

    def watch_auto_approve(self) -> None:
        self.set_class(self.auto_approve, "-auto-approve")
        self.refresh_line()

    def refresh_line(self) -> None:
        """Redraw from the current parts: sanitised plain text (model names come from a server)."""
        shown = (self.marker, self.alert, self.backend_label, self.state, self.context, self.stats)
        parts = [part for part in shown if part]
        line = Text(sanitize(" │ ".join(parts)).replace("\n", " "))
        if self.auto_approve:
            line = Text.assemble((AUTO_APPROVE_MARKER, "bold"), " │ " if parts else "", line)
        self.update(line)
