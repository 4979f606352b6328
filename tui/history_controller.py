"""How the chat screen draws saved history, kept out of the screen so it stays small.

The chat session (``tui.session``) owns the data: which conversation is current, its messages
and settings. This controller only renders: it shows store warnings, fills the sidebar, draws a
conversation the session opened (mounting a window of recent messages, older ones on scroll),
asks before renaming or deleting, exports, and keeps the sidebar fitted to the terminal width.
Only the screen's message handlers call it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from tui.exporting import export_paths, write_export
from tui.history_view import widget_for
from tui.screens.confirm import ConfirmScreen
from tui.screens.rename import RenameScreen
from tui.session import ChatSession
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
    """History drawing of one ``ChatScreen``; every change of state goes through the session."""

    def __init__(self, screen: ChatScreen, session: ChatSession) -> None:
        self.screen = screen
        self.session = session
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
        store = self.session.store
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
        if self.session.settings.resume is not None:
            # The CLI already merged the stored settings with the flags given.
            await self.open(self.session.settings.resume, restore_params=False)

    def check_warning(self) -> None:
        """Show once, in the status line, that history is not being saved (disk full, read-only)."""
        screen = self.screen
        warning = self.session.store.warning
        if warning and not screen.has_class("history-off"):
            screen.add_class("history-off")
            screen.status.alert = "⚠ history not saved"
            screen.notify(warning, title="History", severity="warning", timeout=15, markup=False)

    def _store_changed(self) -> None:
        """Queued writes were saved after a read went ahead without them, or one failed."""
        if self.screen.is_attached:
            self.refresh()
            self.check_warning()

    def refresh(self) -> None:
        """Reload the sidebar from the store (the session learns a new chat's id once it is saved)."""
        self.sidebar.load(self.session.store, self.session.conversation_id)

    def saved(self, *, created: bool) -> None:
        """A prompt was saved: list the chat if it is new, and say if history stopped being saved."""
        if created:
            self.refresh()
        self.check_warning()

    def reset(self) -> None:
        """A new chat: forget the opened conversation."""
        self._stored = []
        self._window_start = 0
        self.refresh()
        self.screen.refresh_context()

    # ----- opening -------------------------------------------------------------------------
    async def open(
        self, conversation_id: int, message_id: int | None = None, *, restore_params: bool = True
    ) -> None:
        """Show a saved conversation; the next prompt continues it with its stored settings."""
        screen = self.screen
        if self.session.store.get_conversation(conversation_id) is None:
            screen.notify(f"No conversation {conversation_id}.", severity="error", markup=False)
            return
        await screen.drop_turn()
        opened = self.session.open(conversation_id, restore_params=restore_params, at_message=message_id)
        if opened is None:
            screen.notify(f"No conversation {conversation_id}.", severity="error", markup=False)
            return
        await self.render(opened.messages, message_id)
        screen.status.stats = ""
        self._tell_if_backend_differs(opened.summary.backend, opened.summary.model)
        self.refresh()

    async def redraw(self, select_index: int | None = None) -> None:
        """Draw the session's current branch again (after a regenerate, an edit, a version switch);
        ``select_index`` puts the cursor on that message of the branch."""
        await self.render(self.session.path)
        if select_index is not None:
            messages = self.screen.chat_pane.messages
            index = select_index - self._window_start
            if 0 <= index < len(messages):
                self.screen.chat_pane.select(messages[index])

    async def render(self, stored: list[StoredMessage], target_id: int | None = None) -> None:
        """Mount the newest window of ``stored`` (or the window around ``target_id``), with each
        message's version and the tool steps of the replies shown."""
        screen = self.screen
        self._stored = stored
        versions = self.session.versions()
        start = max(0, len(stored) - WINDOW)
        target_index = next((i for i, m in enumerate(stored) if m.id == target_id), None)
        if target_index is not None and target_index < start:
            start = max(0, target_index - 5)
        self._window_start = start
        pane = screen.chat_pane
        await pane.clear_messages()
        trace = screen.query_one(TracePanel)
        await trace.clear_steps()
        for stored_message in stored[start:]:
            if stored_message.role == "assistant":
                for tool in self.session.store.tool_events(stored_message.id):
                    await trace.restore(
                        tool.name, tool.arguments, tool.output, tool.ok, tool.elapsed_s, tool.call_id
                    )
        files = self.session.files_of
        widgets = [widget_for(m, versions.get(m.id), files.get(m.id, ())) for m in stored[start:]]
        await pane.mount_all(widgets)
        screen.refresh_context()
        if target_index is not None:
            target = widgets[target_index - start]
            pane.anchor(False)
            screen.call_after_refresh(pane.scroll_to_widget, target, top=True, animate=False)
            target.add_class("found")
        else:
            pane.anchor()
            # Once the replies' Markdown is laid out (it changes their height), the view is
            # anchored again, so the last line (the newest reply's note) is not left below it.
            screen.call_after_refresh(pane.anchor)

    def _tell_if_backend_differs(self, backend: str, model: str) -> None:
        info = self.session.backend.info if self.session.backend is not None else None
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
        versions = self.session.versions()
        files = self.session.files_of
        older = [
            widget_for(m, versions.get(m.id), files.get(m.id, ()))
            for m in self._stored[new_start : self._window_start]
        ]
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
            if new_title:
                self.session.rename(conversation_id, new_title)
                self.refresh()

        self.screen.app.push_screen(RenameScreen(title), renamed)

    def delete(self, conversation_id: int, title: str) -> None:
        """Ask (default No), then delete the conversation."""

        async def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            if conversation_id == self.session.conversation_id:
                await self.screen.drop_turn()
            if self.session.delete(conversation_id):
                await self.screen.show_new_chat()
            self.refresh()

        self.screen.app.push_screen(ConfirmScreen(f"Delete “{title}”? This cannot be undone."), confirmed)

    def export(self) -> None:
        """Write the current chat as Markdown and JSON (OpenAI messages) and show the paths.

        The files are written off the UI thread, after the queued writes are saved.
        """
        screen = self.screen
        conversation_id = self.session.conversation_id
        if conversation_id is None:
            screen.notify("Nothing to export yet: send a prompt first.", markup=False)
            return
        screen.run_worker(self._export(self.session.store, conversation_id), group="export")

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
                await asyncio.to_thread(write_export, path, text)
                written.append(str(path))
            except OSError as exc:
                screen.notify(f"Could not write {path}: {exc.strerror}", severity="error", markup=False)
        if written:
            screen.notify("Exported to " + " and ".join(written), timeout=10, markup=False)
