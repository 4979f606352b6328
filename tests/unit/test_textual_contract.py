"""What the app relies on inside Textual still holds: fails loudly when an upgrade changes it.

Textual is pinned exactly in pyproject.toml because ``tui/terminal_diff.py`` parses the frames
Textual writes, ``tui/app.py`` overrides private crash hooks, ``tui/driver.py`` replaces the
driver's writer thread and ``tui/widgets/laid_out_once.py`` overrides ``Widget._size_updated``.
Before moving the pin, make these pass on the new version.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import tomllib
from importlib.metadata import version
from pathlib import Path
from queue import Queue

from textual.app import App, ComposeResult
from textual.drivers._writer_thread import WriterThread
from textual.drivers.headless_driver import HeadlessDriver
from textual.drivers.linux_driver import LinuxDriver
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Footer, Header, Markdown, Static

from tui.app import InternLMApp
from tui.terminal_diff import ScreenDiff, _parse

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
CURSOR_MOVE = re.compile(r"\x1b\[\d+;\d+H")


def test_the_installed_textual_is_the_pinned_one() -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    pins = [d for d in dependencies if re.match(r"textual[=<>~!]", d)]
    assert pins == [f"textual=={version('textual')}"], pins


def parameters(function: object) -> list[str]:
    assert callable(function)
    return list(inspect.signature(function).parameters)


def test_the_private_crash_hooks_exist_with_the_signatures_we_override() -> None:
    assert parameters(App._handle_exception) == ["self", "error"]
    assert parameters(App._fatal_error) == ["self"]
    assert parameters(App._close_messages_no_wait) == ["self"]
    for name in ("_handle_exception", "_fatal_error"):  # ours still override Textual's
        assert getattr(InternLMApp, name) is not getattr(App, name)
    assert isinstance(App()._exit_renderables, list)


def test_the_driver_writer_api_we_replace_is_there() -> None:
    thread = WriterThread(open("/dev/null", "w"))  # noqa: SIM115 (never started; closed with the test)
    assert isinstance(thread._queue, Queue) and thread._queue.maxsize > 0
    assert thread._file is not None
    for name in ("write", "run", "stop", "fileno", "isatty", "flush"):
        assert callable(getattr(thread, name))
    thread._file.close()
    # LinuxDriver creates its WriterThread in start_application_mode as ``_writer_thread`` and
    # stops it in ``close``; ``tui.driver`` swaps in its own writer right after creation.
    assert "self._writer_thread = WriterThread(self._file)" in inspect.getsource(
        LinuxDriver.start_application_mode
    )
    assert "self._writer_thread.stop()" in inspect.getsource(LinuxDriver.close)
    assert "self._writer_thread.write(data)" in inspect.getsource(LinuxDriver.write)
    # A hang-up delivers SIGCONT after SIGHUP; ``tui.driver`` refuses that resume.
    assert "self.resume_application_mode()" in inspect.getsource(LinuxDriver._sigcont_application)


def test_size_updated_still_takes_the_flag_laid_out_once_turns_off() -> None:
    # ``tui.widgets.laid_out_once`` passes ``layout=False`` so that a size the layout gave does
    # not ask for a second layout; the size must still be stored and the scrollbars updated.
    assert parameters(Widget._size_updated) == ["self", "size", "virtual_size", "container_size", "layout"]
    source = inspect.getsource(Widget._size_updated)
    assert "self.set_reactive(Widget.virtual_size, virtual_size)" in source
    assert "self._scroll_update(virtual_size)" in source


class RecordingDriver(HeadlessDriver):
    """Headless, except that the app renders frames for it, which it keeps."""

    writes: list[str] = []

    @property
    def is_headless(self) -> bool:
        return False

    def write(self, data: str) -> None:
        RecordingDriver.writes.append(data)


class KnownScreen(App[None]):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("[b]bold[/b] plain 世界 e\u0301 [reverse]x[/]")
        yield Markdown("# Title\n\n- item\n\n```python\nx = 1\n```\n")
        yield Footer()


def test_frames_textual_writes_are_parsed_by_the_terminal_diff() -> None:
    RecordingDriver.writes = []
    app = KnownScreen(driver_class=RecordingDriver)

    async def pilot(pilot: Pilot[None]) -> None:
        for _ in range(500):  # until the whole screen has been drawn (at most 10 s)
            drawn = "".join(RecordingDriver.writes)
            if "Title" in drawn and "palette" in drawn:
                break
            await pilot.pause(0.02)
        app.exit()

    asyncio.run(app.run_async(headless=False, size=(80, 24), auto_pilot=pilot))
    frames = [w for w in RecordingDriver.writes if CURSOR_MOVE.search(w)]
    assert frames, "Textual wrote no frames"
    unparsed = [frame[:80] for frame in frames if _parse(frame) is None]
    assert not unparsed, f"terminal_diff would pass these frames through untrimmed: {unparsed}"
    diff = ScreenDiff()
    trimmed = "".join(diff.filter(frame, (80, 24)) for frame in frames + frames)
    assert "Title" in trimmed and len(diff.filter(frames[-1], (80, 24))) < len(frames[-1])
