"""Whether the agent's tool calls run without asking, and whether that still needs the user's yes.

``--approve auto`` on the command line is deliberate and takes effect at once (the backend
never asks). ``approve = "auto"`` from the config file is easy to forget, so the app asks once
per start before honouring it (``confirm``) and behaves as ``ask`` until then; once confirmed,
the app answers the backend's approval requests itself. Textual-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tui.settings import AppSettings

PolicyMode = Literal["ask", "auto", "confirm"]


@dataclass
class ApprovalPolicy:
    """``ask`` (a dialog per call), ``auto`` (no dialog) or ``confirm`` (auto from the config
    file, not yet confirmed)."""

    mode: PolicyMode = "ask"
    answered_by_app: bool = False
    """True when the backend still asks and the app answers yes itself (confirmed config-file auto)."""

    @classmethod
    def from_settings(cls, settings: AppSettings) -> ApprovalPolicy:
        """The policy the flags and config file ask for."""
        if settings.auto_approve_from is not None:
            return cls("confirm")
        return cls("auto" if settings.backend.agent.approve == "auto" else "ask")

    @property
    def auto(self) -> bool:
        """Tool calls run without a dialog now (the status line says so)."""
        return self.mode == "auto"

    def decide(self, confirmed: bool) -> None:
        """The user's answer to the one confirmation: auto for the rest of this run, or ask."""
        self.mode = "auto" if confirmed else "ask"
        self.answered_by_app = confirmed
