"""The Textual application: registers themes, builds the chat screen, exposes every action."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Iterable
from functools import partial

from rich.text import Text
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.driver import Driver
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.theme import Theme

from backends.base import ChatBackend, ProgressCallback
from backends.registry import create_backend
from themes import BASIC_TERMINAL_THEME, DEFAULT_THEME, load_catalog
from tui import clipboard, image_preview
from tui.crash import crash_message, known_secrets, write_report
from tui.driver import SafeLinuxDriver, driver_class
from tui.exit_guard import ExitGuard, process_guard
from tui.preferences import remember_theme, remembered_theme
from tui.sanitize import sanitize, storable
from tui.screens.chat import BackendFactory, ChatScreen
from tui.settings import AppSettings
from tui.store.store import HistoryStore, open_store

SAVE_WAIT_S = 3.0
"""How long a hang-up or SIGTERM waits for queued history writes before exiting anyway."""


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

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver, sending only changed cells on Linux/macOS (see ``tui.driver``)."""
        return driver_class(super().get_driver_class())

    def __init__(
        self,
        settings: AppSettings,
        backend_factory: BackendFactory | None = None,
        store: HistoryStore | None = None,
        factory_for: Callable[[AppSettings], BackendFactory] | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self._backend_factory = backend_factory or default_factory(settings)
        self._factory_for = factory_for or default_factory
        self.store = store if store is not None else open_store(settings.db_path)
        self._theme_catalog = load_catalog()
        self._current_theme = DEFAULT_THEME
        for theme in self._theme_catalog.themes.values():
            self.register_theme(theme)
        self.set_keymap(settings.keymap)

    def starting_theme(self) -> str:
        """The flag or config file's theme, else the last one picked, else one that suits the terminal."""
        names = self._theme_catalog.themes
        if self.settings.theme in names:
            return self.settings.theme
        remembered = remembered_theme()
        if remembered in names:
            return remembered
        return BASIC_TERMINAL_THEME if self.console.color_system == "standard" else DEFAULT_THEME

    def _theme_picked(self, theme: Theme) -> None:
        if theme.name == self._current_theme:
            return  # the start-up theme being applied, not a choice
        self._current_theme = theme.name
        try:
            remember_theme(theme.name)
        except OSError as exc:
            self.notify(f"Could not remember the theme: {exc}", severity="warning")

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
        return ChatScreen(self.settings, self._backend_factory, self.store, self._factory_for)

    def on_mount(self) -> None:
        self._current_theme = self.theme = self.starting_theme()
        self.theme_changed_signal.subscribe(self, self._theme_picked)
        for problem in self._theme_catalog.problems:
            self.notify(problem, severity="warning", timeout=10)
        # SIGHUP is what an SSH session drop delivers; SIGTERM is a polite kill. Both save first,
        # and the guard's watchdog ends the process should the exit stall (tui/exit_guard.py).
        self._signal_loop = asyncio.get_running_loop()
        self.exit_guard: ExitGuard = process_guard()
        self.exit_guard.install(self._signal_received)
        if image_preview.mode() == "kitty" and isinstance(self._driver, SafeLinuxDriver):
            image_preview.route_graphics(partial(SafeLinuxDriver.write, self._driver))

    def _signal_received(self, signum: int) -> None:
        """In the signal handler: stop waiting on the terminal, hand the exit to the event loop."""
        driver = self._driver
        if isinstance(driver, SafeLinuxDriver) and signum == signal.SIGHUP:
            driver.hang_up()
        elif isinstance(driver, SafeLinuxDriver):
            driver.closing()
        try:
            self._signal_loop.call_soon_threadsafe(self.exit_on_signal, signum)
        except RuntimeError:  # the loop is closed: the app has already exited
            self.exit_guard.saved()

    def exit_on_signal(self, signum: int) -> None:
        """Save what is streaming, stop workers and tools, then exit with 128 + the signal number."""
        try:
            for screen in self.screen_stack:
                if isinstance(screen, ChatScreen):
                    screen.shutdown()  # queues the reply's save as interrupted
            # History writes run on the store's writer thread: wait for them (bounded, in case
            # another instance holds the lock), because the watchdog may end the process as soon
            # as ``saved`` is called.
            self.store.flush(SAVE_WAIT_S)
        finally:
            self.exit_guard.saved()
        self.exit(return_code=128 + signum)

    def on_unmount(self) -> None:
        self.store.close()

    def action_show_keys(self) -> None:
        """Open the list of every key, with the keymap applied (F1 on the chat screen)."""
        from tui.screens.keys_help import KeysHelp

        if not isinstance(self.screen, KeysHelp):
            self.push_screen(KeysHelp(self.settings.keymap))

    def copy_to_clipboard(self, text: str) -> None:
        """Copy over OSC 52 (wrapped for tmux inside tmux) or, where that cannot work, to a file."""
        self.copy_text(text, "Text")

    def copy_text(self, text: str, what: str) -> None:
        """Copy ``text`` and say in a notification how it was delivered."""
        text = storable(text)  # a lone surrogate (from a streaming reply) cannot be encoded
        if clipboard.choose_method(self.settings.clipboard, os.environ) == "file":
            self._clipboard = text  # Textual's in-app clipboard, for pasting back into the prompt
            try:
                path = clipboard.write_copy_file(text)
            except OSError as exc:
                self.notify(f"Could not write the copy file: {exc}", severity="error")
                return
            self.notify(f"{what} ({len(text):,} characters) saved to {path}", title="Copied", timeout=10)
            return
        super().copy_to_clipboard(text)
        if os.environ.get("TMUX") and self._driver is not None:
            self._driver.write(clipboard.tmux_passthrough(clipboard.osc52(text)))
        self.notify(f"{what} ({len(text):,} characters) sent to the terminal's clipboard", title="Copied")

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
        for title, help_text, action in getattr(screen, "PALETTE_COMMANDS", ()):
            yield SystemCommand(title, help_text, partial(screen.run_action, action))
