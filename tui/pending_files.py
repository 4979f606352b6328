"""The files attached to the prompt being written, before it is sent (no Textual here).

The chat session owns one; the list above the prompt draws it. It refuses the same file twice
and more than ``MAX_FILES``, and says before sending, in one line, when the backend cannot take
what is attached: images need a backend that takes them (capability ``images``: a server, which
may still refuse, or a local vision model) or the agent (capability ``tools``, whose tools get
the files); other files need the agent.
"""

from __future__ import annotations

from collections.abc import Iterator

from backends.events import Attachment, BackendInfo
from tui.attachments import Loaded

MAX_FILES = 8


class PendingFiles:
    """Ordered attachments of the next prompt."""

    def __init__(self) -> None:
        self._items: list[Loaded] = []

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Loaded]:
        return iter(self._items)

    @property
    def attachments(self) -> tuple[Attachment, ...]:
        """What travels with the prompt."""
        return tuple(item.attachment for item in self._items)

    def add(self, loaded: Loaded) -> str | None:
        """Attach ``loaded``; a one-line reason when it is refused (nothing changes then)."""
        if any(item.attachment.sha256 == loaded.attachment.sha256 for item in self._items):
            return f"{loaded.attachment.name} is already attached"
        if len(self._items) >= MAX_FILES:
            return f"at most {MAX_FILES} files can go with one prompt"
        self._items.append(loaded)
        return None

    def remove(self, index: int) -> Loaded | None:
        """Take the ``index``-th attachment off (None if there is no such one)."""
        if 0 <= index < len(self._items):
            return self._items.pop(index)
        return None

    def clear(self) -> None:
        """Nothing attached (after sending, or a new chat)."""
        self._items.clear()


def refusal(attachments: tuple[Attachment, ...], info: BackendInfo | None) -> str | None:
    """Why ``attachments`` cannot go to the backend described by ``info`` (None: they can, or
    the backend is still loading and the check is made again when it is ready)."""
    if not attachments or info is None:
        return None
    capabilities = info.capabilities
    if "tools" in capabilities:
        return None
    if any(not a.is_image for a in attachments):
        return (
            f"{info.model} cannot take files that are not images (only the agent's tools can); "
            "remove them from the list above the prompt"
        )
    if "images" not in capabilities:
        return (
            f"{info.model} is a text-only model and cannot see images; remove them from the list "
            "above the prompt, or switch to a vision model (F6)"
        )
    return None
