"""The Textual application: registers themes, builds the chat screen, exposes every action."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from backends.base import ChatBackend, ProgressCallback
from backends.registry import create_backend
from tui.screens.chat import BackendFactory, ChatScreen
from tui.settings import AppSettings
from tui.store.store import HistoryStore, open_store


def default_factory(settings: AppSettings) -> BackendFactory:
    """The real backend factory for ``settings`` (slow: loads a model or contacts a server)."""

    def factory(progress: ProgressCallback) -> ChatBackend:
        return create_backend(settings.backend, progress)

    return factory


class InternLMApp(App[None]):
    """internlm-tui: chat with InternLM-family models from any terminal."""

    TITLE = "internlm-tui"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True, id="app.quit"),
    ]

    def __init__(
        self,
        settings: AppSettings,
        backend_factory: BackendFactory | None = None,
        store: HistoryStore | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self._backend_factory = backend_factory or default_factory(settings)
        self.store = store if store is not None else open_store(settings.db_path)

    def get_default_screen(self) -> Screen[None]:
        return ChatScreen(self.settings, self._backend_factory, self.store)

    def on_unmount(self) -> None:
        self.store.close()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Every binding of the screen is also a palette command (keyboard-only rule)."""
        yield from super().get_system_commands(screen)
        seen: set[str] = set()
        for node in (screen.focused, screen):
            if node is None:
                continue
            for binding in node.BINDINGS:
                if not isinstance(binding, Binding) or not binding.description or binding.action in seen:
                    continue
                seen.add(binding.action)
                help_text = f"{binding.description} ({binding.key})"
                yield SystemCommand(binding.description, help_text, partial(node.run_action, binding.action))
