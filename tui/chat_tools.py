"""Which tools one chat may call and which it may call without asking, saved with the chat.

``chosen`` None means "the launch default" (``--tools``, or every tool); ``always`` holds the
tools the user approved "always for this chat" in the approval dialog (revocable in the Tools
screen). Textual-free: the session owns it, the store keeps it as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class ChatTools:
    """One chat's tool choice and its remembered approvals."""

    chosen: tuple[str, ...] | None = None
    always: frozenset[str] = field(default_factory=frozenset)

    def as_dict(self) -> dict[str, Any]:
        """The JSON kept in the history (empty for the defaults)."""
        data: dict[str, Any] = {}
        if self.chosen is not None:
            data["chosen"] = list(self.chosen)
        if self.always:
            data["always"] = sorted(self.always)
        return data

    @classmethod
    def from_dict(cls, data: object) -> ChatTools:
        """Read back what ``as_dict`` wrote (anything malformed counts as the default)."""
        if not isinstance(data, dict):
            return cls()
        chosen = data.get("chosen")
        always = data.get("always")
        return cls(
            tuple(str(n) for n in chosen) if isinstance(chosen, list) else None,
            frozenset(str(n) for n in always) if isinstance(always, list) else frozenset(),
        )

    def choose(self, names: tuple[str, ...] | None) -> ChatTools:
        return replace(self, chosen=names)

    def remember(self, name: str) -> ChatTools:
        """Approve ``name`` always in this chat."""
        return replace(self, always=self.always | {name})

    def forget(self, name: str) -> ChatTools:
        """Ask again before ``name`` runs."""
        return replace(self, always=self.always - {name})
