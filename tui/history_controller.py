"""What the chat screen does with saved history, kept out of the screen so it stays small.

It shows store warnings, fills the sidebar, opens a saved conversation (mounting only a
window of recent messages and older ones on scroll), renames, deletes and exports, and keeps
the sidebar fitted to the terminal width. Only the screen's message handlers call it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from backends.events import ChatMessage
from tui.conversation import Conversation
from tui.exporting import export_paths
from tui.history_view import widget_for
from tui.recorder import ChatRecorder, params_from_dict
from tui.screens.confirm import ConfirmScreen
from tui.screens.rename import RenameScreen
from tui.settings import AppSettings
from tui.store.export import export
from tui.store.store import HistoryStore, StoredMessage
from tui.widgets.history_sidebar import HistorySidebar
from tui.widgets.prompt_input import PromptInput
from tui.widgets.trace_panel import TracePanel

if TYPE_CHECKING:
    from tui.screens.chat import ChatScreen

WINDOW = 20
"""How many stored messages are mounted when a conversation opens, and per older batch."""

READ_WAIT_S = 0.05
"""How long a sidebar read waits for this process's queued writes before showing what is
saved; when another instance holds the lock longer, the store's ``on_change`` reloads it."""

EXPORT_WAIT_S = 10.0
"""How long an export (off the UI thread) waits for queued writes to be saved."""


class HistoryController:
    """History behaviour of one ``ChatScreen`` (which owns the store and the recorder)."""

    def __init__(self, screen: ChatScreen) -> None:
        self.screen = screen
        self._stored: list[StoredMessage] = []
        self._window_start = 0

    @property
    def sidebar(self) -> HistorySidebar:
        return self.screen.query_one(HistorySidebar)

    # ----- start-up and warnings -----------------------------------------------------------
    async def start(self) -> None:
        """Fit the sidebar, tell the user about a repaired or unwritable store, resume if asked."""
        screen = self.screen
        self.sidebar.fit_width(screen.size.width)
        store = screen.store
        if store is None:
            return
        store.read_wait_s = READ_WAIT_S
        loop = asyncio.get_running_loop()

        def changed() -> None:  # on the writer thread: hand over to the UI's loop, never wait
            loop.call_soon_threadsafe(self._store_changed)

        store.on_change = changed
        if store.notice:
            screen.notify(store.notice, title="History", severity="warning", timeout=15, markup=False)
        self.check_warning()
        if store.recovered:
            screen.notify(
                f"{store.recovered} reply(s) cut off by a crash were kept as interrupted.", markup=False
            )
        self.refresh()
        if screen.settings.resume is not None:
            # The CLI already merged the stored settings with the flags given.
            await self.open(screen.settings.resume, restore_params=False)

    def check_warning(self) -> None:
        """Show once, in the status line, that history is not being saved (disk full, read-only)."""
        screen = self.screen
        warning = screen.store.warning if screen.store is not None else None
        if warning and not screen.has_class("history-off"):
            screen.add_class("history-off")
            screen.status.alert = "⚠ history not saved"
            screen.notify(warning, title="History", severity="warning", timeout=15, markup=False)

    def _store_changed(self) -> None:
        """Queued writes were saved after a read went ahead without them, or one failed."""
        if self.screen.is_attached and self.screen.store is not None:
            self.refresh()
            self.check_warning()

    def refresh(self) -> None:
        """Reload the sidebar from the store (learning the new chat's id once it is saved)."""
        screen = self.screen
        if screen.store is None:
            return
        if screen.conversation.conversation_id is None and screen.recorder is not None:
            screen.conversation.conversation_id = screen.recorder.conversation_id
        self.sidebar.load(screen.store, screen.conversation.conversation_id)

    def reset(self) -> None:
        """A new chat: forget the opened conversation."""
        self._stored = []
        self._window_start = 0
        self.refresh()

    # ----- opening -------------------------------------------------------------------------
    async def open(
        self, conversation_id: int, message_id: int | None = None, *, restore_params: bool = True
    ) -> None:
        """Show a saved conversation; the next prompt continues it with its stored settings."""
        screen = self.screen
        store = screen.store
        if store is None:
            return
        summary = store.get_conversation(conversation_id)
        if summary is None:
            screen.notify(f"No conversation {conversation_id}.", severity="error", markup=False)
            return
        await screen.action_stop()
        screen.turn = None
        stored = store.get_messages(conversation_id)
        self._stored = stored
        screen.conversation = Conversation(
            system=summary.system if summary.system is not None else screen.settings.system,
            messages=[
                ChatMessage("user" if m.role == "user" else "assistant", m.content)
                for m in stored
                if m.role in ("user", "assistant") and m.content
            ],
            conversation_id=conversation_id,
        )
        if restore_params and summary.params:
            screen.params = params_from_dict(summary.params)
        screen.recorder = ChatRecorder(store, conversation_id)
        start = max(0, len(stored) - WINDOW)
        target_index = next((i for i, m in enumerate(stored) if m.id == message_id), None)
        if target_index is not None and target_index < start:
            start = max(0, target_index - 5)
        self._window_start = start
        pane = screen.chat_pane
        await pane.clear_messages()
        trace = screen.query_one(TracePanel)
        await trace.clear_steps()
        for stored_message in stored[start:]:
            if stored_message.role == "assistant":
                for tool in store.tool_events(stored_message.id):
                    await trace.restore(
                        tool.name, tool.arguments, tool.output, tool.ok, tool.elapsed_s, tool.call_id
                    )
        widgets = [widget_for(m) for m in stored[start:]]
        await pane.mount_all(widgets)
        if target_index is not None:
            target = widgets[target_index - start]
            pane.anchor(False)
            screen.call_after_refresh(pane.scroll_to_widget, target, top=True, animate=False)
            target.add_class("found")
        else:
            pane.anchor()
        screen.status.stats = ""
        self._tell_if_backend_differs(summary.backend, summary.model)
        self.refresh()

    def _tell_if_backend_differs(self, backend: str, model: str) -> None:
        info = self.screen.backend.info if self.screen.backend is not None else None
        if info is None or not backend or (backend, model) == (info.name, info.model):
            return
        self.screen.notify(
            f"This chat was with {backend} · {model}; it continues with {info.name} · {info.model} "
            "(internlm-tui --resume reopens it with its own backend).",
            timeout=10,
            markup=False,
        )

    async def load_older(self) -> None:
        """Mount the next older window of messages above the current ones."""
        if self._window_start == 0 or not self._stored:
            return
        new_start = max(0, self._window_start - WINDOW)
        older = [widget_for(m) for m in self._stored[new_start : self._window_start]]
        self._window_start = new_start
        pane = self.screen.chat_pane
        first = pane.children[0] if pane.children else None
        await pane.mount_all(older, before=0)
        if first is not None:
            pane.scroll_to_widget(first, top=True, animate=False)

    # ----- sidebar actions -----------------------------------------------------------------
    async def chosen(self, conversation_id: int, message_id: int | None) -> None:
        """A conversation or search hit was chosen in the sidebar."""
        await self.open(conversation_id, message_id)
        self.leave_sidebar()

    def leave_sidebar(self) -> None:
        """Focus the prompt; a sidebar floating over the chat closes."""
        if self.sidebar.overlay:
            self.sidebar.hide()
        self.screen.query_one(PromptInput).focus()

    def toggle_sidebar(self) -> None:
        """Put the cursor in the sidebar (opening it); from inside it, close it and go back to the prompt."""
        sidebar = self.sidebar
        if sidebar.shown and sidebar.has_focus_within:
            sidebar.hide()
            self.screen.query_one(PromptInput).focus()
        else:
            sidebar.show()

    def rename(self, conversation_id: int, title: str) -> None:
        """Ask for a new title and save it."""

        def renamed(new_title: str | None) -> None:
            if new_title and self.screen.store is not None:
                self.screen.store.submit_rename(conversation_id, new_title)
                self.refresh()

        self.screen.app.push_screen(RenameScreen(title), renamed)

    def delete(self, conversation_id: int, title: str) -> None:
        """Ask (default No), then delete the conversation."""

        async def confirmed(yes: bool | None) -> None:
            if yes and self.screen.store is not None:
                self.screen.store.submit_delete(conversation_id)
                if conversation_id == self.screen.conversation.conversation_id:
                    await self.screen.action_new_chat()
                self.refresh()

        self.screen.app.push_screen(ConfirmScreen(f"Delete “{title}”? This cannot be undone."), confirmed)

    def export(self) -> None:
        """Write the current chat as Markdown and JSON (OpenAI messages) and show the paths.

        The files are written off the UI thread, after the queued writes are saved.
        """
        screen = self.screen
        conversation_id = screen.conversation.conversation_id
        if screen.store is None or conversation_id is None:
            screen.notify("Nothing to export yet: send a prompt first.", markup=False)
            return
        screen.run_worker(self._export(screen.store, conversation_id), group="export")

    async def _export(self, store: HistoryStore, conversation_id: int) -> None:
        screen = self.screen
        if not await asyncio.to_thread(store.flush, EXPORT_WAIT_S):
            screen.notify(
                "History is locked by another instance; the newest messages may be missing from the export.",
                severity="warning",
                markup=False,
            )
        written = []
        for fmt, path in export_paths(conversation_id):
            try:
                text = await asyncio.to_thread(export, store, conversation_id, fmt)
                await asyncio.to_thread(path.write_text, text, encoding="utf-8")
                written.append(str(path))
            except OSError as exc:
                screen.notify(f"Could not write {path}: {exc.strerror}", severity="error", markup=False)
        if written:
            screen.notify("Exported to " + " and ".join(written), timeout=10, markup=False)


def launch_options(settings: AppSettings) -> dict[str, str | None]:
    """How the backend was launched, saved with a new conversation for ``--resume``."""
    return {
        "backend": settings.backend.backend,
        "model": settings.backend.model,
        "base_url": settings.backend.remote.base_url,
    }
