"""Attaching files on the chat screen: the picker, loading off the UI thread, the list above the
prompt, ``--attach`` at start-up. The session holds the files (``ChatSession.files``); this only
turns key presses into its intents and draws the result, so ``tui/screens/chat.py`` stays small.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

from tui.attachments import AttachmentError, Loaded, load_attachment
from tui.screens.attach_picker import AttachPicker
from tui.widgets.attachment_list import AttachmentList
from tui.widgets.prompt_input import PromptInput

if TYPE_CHECKING:
    from tui.screens.chat import ChatScreen
    from tui.session import ChatSession


class AttachController:
    """Everything about the files attached to the next prompt, for one chat screen."""

    def __init__(self, screen: ChatScreen, session: ChatSession) -> None:
        self.screen = screen
        self.session = session
        self._folder: str | None = None
        """The folder of the last file chosen: the picker opens there next time."""

    @property
    def any_file(self) -> bool:
        """Whether files other than images may be attached (the agent's tools take them)."""
        return self.session.has_capability("tools") or self.session.settings.backend.backend == "agent"

    def start(self) -> None:
        """Attach the ``--attach`` files (checked by the CLI already)."""
        for loaded in self.session.settings.attach:
            self.session.files.add(loaded)
        self.refresh()

    def refresh(self) -> None:
        """Draw the session's attached files above the prompt."""
        self.screen.query_one(AttachmentList).show(list(self.session.files))

    def open_picker(self) -> None:
        """Open the file picker; the chosen file is loaded and checked in a thread."""

        def chosen(path: str | None) -> None:
            if path:
                self.screen.run_worker(self.attach(path), group="attach", exit_on_error=False)

        self.screen.app.push_screen(AttachPicker(self._folder, any_file=self.any_file), chosen)

    async def attach(self, path: str) -> Loaded | None:
        """Load ``path`` (off the UI thread) and attach it; a refusal is one notification line
        and nothing else changes."""
        settings = self.session.settings
        try:
            loaded = await asyncio.to_thread(
                load_attachment, path, any_file=self.any_file, max_mb=settings.max_attachment_mb
            )
        except AttachmentError as exc:
            self.screen.notify(str(exc), title="Not attached", severity="warning", markup=False)
            return None
        refused = self.session.files.add(loaded)
        if refused is not None:
            self.screen.notify(refused, title="Not attached", severity="warning", markup=False)
            return None
        self._folder = os.path.dirname(os.path.abspath(os.path.expanduser(path))) + "/"
        self.refresh()
        self.screen.query_one(PromptInput).focus()
        return loaded

    def remove(self, index: int) -> None:
        """Take one file off; the prompt gets the cursor back when none are left."""
        self.session.files.remove(index)
        self.refresh()
        if not len(self.session.files):
            self.screen.query_one(PromptInput).focus()
