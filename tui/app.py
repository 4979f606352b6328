"""The Textual application: registers themes, builds the chat screen, exposes every action."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterable
from functools import partial

from rich.text import Text
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen

from backends.base import ChatBackend, ProgressCallback
from backends.registry import create_backend
from tui.crash import crash_message, known_secrets, write_report
from tui.sanitize import sanitize
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

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification is plain, sanitised text: messages often quote servers or models."""
        super().notify(
            sanitize(message), title=sanitize(title), severity=severity, timeout=timeout, markup=False
        )

    def get_default_screen(self) -> Screen[None]:
        return ChatScreen(self.settings, self._backend_factory, self.store)

    def on_mount(self) -> None:
        # SIGHUP is what an SSH session drop delivers; SIGTERM is a polite kill. Both save first.
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGHUP, signal.SIGTERM):
            loop.add_signal_handler(signum, self.exit_on_signal, signum)

    def exit_on_signal(self, signum: int) -> None:
        """Save what is streaming, stop workers and tools, then exit with 128 + the signal number."""
        for screen in self.screen_stack:
            if isinstance(screen, ChatScreen):
                screen.shutdown()
        self.exit(return_code=128 + signum)

    def on_unmount(self) -> None:
        self.store.close()

    # Textual's crash screen prints every frame's local variables, which hold API keys and whole
    # conversations; Textual has no public switch for it, so these two private hooks are
    # overridden: one line for the user, a scrubbed report file for the details (tui/crash.py).
    _crash: BaseException | None = None

    def _handle_exception(self, error: Exception) -> None:
        self._crash = error
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        error = self._crash or RuntimeError("unknown error")
        secrets = known_secrets([self.settings.backend.remote.api_key_env])
        report = write_report(error, secrets)
        self.bell()
        self._exit_renderables.append(Text(crash_message(error, report, secrets)))
        self._close_messages_no_wait()

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
