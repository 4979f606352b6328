"""Every widget that draws text, fed hostile strings from every outside source, draws them inert.

The real app runs with a scripted backend whose model name, reply, thought, tool call, tool
output and error are all ``testkit.hostile.HOSTILE`` (escape sequences, C1 controls, bidi
override, Rich markup, a lone surrogate), a history database whose chat title, messages and tool
steps are hostile, a server model list and notifications that are hostile. After each step the
test renders every widget of every screen into strips (what the compositor sends to the
terminal) and checks every segment: no control character or surrogate, and markup shown
literally (``[red]…[/]`` still has its brackets; no ``@click`` action but Markdown's own links).
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field, replace
from pathlib import Path

from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import OptionList, Static

from backends.base import BackendLoadError, ChatBackend, ProgressCallback
from backends.events import Error, ThoughtDelta, TokenDelta, ToolCall, ToolResult
from backends.remote.endpoints import EndpointStatus
from backends.scripted import ScriptedBackend
from testkit.app import wait_for
from testkit.hostile_text import CLICK, HOSTILE, MARKUP, raw_controls
from tui import clipboard
from tui.app import InternLMApp
from tui.screens.chat import ChatScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.copy_picker import CopyPicker
from tui.screens.rename import RenameScreen
from tui.screens.servers import ServersScreen
from tui.settings import AppSettings
from tui.store.store import open_store
from tui.widgets.assistant_message import AssistantMessage
from tui.widgets.history_sidebar import HistorySidebar
from tui.widgets.model_picker import ModelPicker


@dataclass
class Drawn:
    """What a walk over the widgets found."""

    widgets: int = 0
    text: list[str] = field(default_factory=list)
    """The lines drawn by the top screen (a dialog, or the chat screen when none is open)."""
    problems: list[str] = field(default_factory=list)


def walk(app: App[None]) -> Drawn:
    """Render every widget of every screen and check each segment it would draw."""
    drawn = Drawn()
    for screen in app.screen_stack:
        for widget in screen.walk_children(with_self=True):
            width, height = widget.size
            if not width or not height:
                continue
            drawn.widgets += 1
            name = f"{type(widget).__name__}#{widget.id or ''}"
            for strip in widget.render_lines(Region(0, 0, width, height)):
                line = "".join(segment.text for segment in strip)
                if screen is app.screen:
                    drawn.text.append(line)
                if raw_controls(line):
                    drawn.problems.append(f"{name} draws raw {raw_controls(line)!r}: {line!r}")
                if "PWNED-MARKUP" in line and "[red]PWNED-MARKUP" not in line:
                    drawn.problems.append(f"{name} applied markup: {line!r}")
                if "PWNED-CLICK" in line and "[@click=app.quit]PWNED-CLICK" not in line:
                    drawn.problems.append(f"{name} applied an action link: {line!r}")
                for segment in strip:
                    style = segment.style
                    action = str(style.meta.get("@click", "")) if style is not None else ""
                    if action and not action.startswith("link("):  # only Markdown's own links
                        drawn.problems.append(f"{name} has a click action {action!r}")
                    if style is not None and style.link and raw_controls(style.link):
                        drawn.problems.append(f"{name} has a raw hyperlink {style.link!r}")
    return drawn


def assert_inert(app: App[None], *must_show: str) -> Drawn:
    drawn = walk(app)
    assert drawn.widgets > 5
    assert drawn.problems == []
    everything = "\n".join(drawn.text)
    for text in must_show:
        assert text in everything, f"{text!r} is not on screen"
    return drawn


class HostileServer(ScriptedBackend):
    """A scripted backend that also lists (hostile) models, like the remote backend."""

    def list_models(self) -> list[str]:
        return [HOSTILE, "plain-model"]

    def use_model(self, model: str) -> None:
        self.info = replace(self.info, model=model)


def hostile_turn() -> list[object]:
    pieces = [TokenDelta(HOSTILE[i : i + 3]) for i in range(0, len(HOSTILE), 3)]  # split mid-sequence
    return [
        ThoughtDelta(HOSTILE),
        ToolCall("call-1", HOSTILE, HOSTILE),
        ToolResult("call-1", HOSTILE, ok=False, elapsed_s=0.1),
        *pieces,
        TokenDelta(" [PWNED-LINK](http://x/\x1b]0;PWNED-HREF\x07) "),
        Error(HOSTILE),
    ]


def hostile_history(db: Path) -> int:
    store = open_store(db)
    cid = store.create_conversation(HOSTILE, backend=HOSTILE, model=HOSTILE)
    assert cid is not None
    store.add_message(cid, "user", HOSTILE)
    reply = store.add_message(cid, "assistant", HOSTILE + "\n\n" + HOSTILE, status="interrupted")
    assert reply is not None
    store.add_tool_call(reply, "call-9", HOSTILE, HOSTILE)
    store.set_tool_result(reply, "call-9", HOSTILE, False, 0.2)
    store.close()
    return cid


SHOWN = ["␛]52;c;", "␛]0;PWNED-TITLE0", "\\x9b31mPWNED-C1", "�PWNED-SURROGATE", MARKUP, CLICK]
"""Sanitised pieces of HOSTILE that must be visible (proof the text was drawn, not dropped)."""


async def test_every_widget_draws_hostile_text_inert(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    stored_id = hostile_history(db)
    backend = HostileServer([hostile_turn()], model=HOSTILE)

    def factory(progress: ProgressCallback) -> ChatBackend:
        progress(HOSTILE, 0.5)
        return backend

    app = InternLMApp(AppSettings(db_path=db, clipboard="file"), backend_factory=factory)
    async with app.run_test(size=(200, 60)) as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: screen.session.backend is not None)
        await pilot.pause(0.2)
        assert_inert(app, "scripted · <␛]52;c;", "␛]0;PWNED-TITLE0")  # status line, sidebar title

        # a streamed reply with a thought, a tool call and its output, ending in an error
        await pilot.press(*"hello", "enter")
        await wait_for(pilot, lambda: not screen.busy and bool(screen.query(AssistantMessage)))
        await pilot.press("f3")  # the trace panel
        screen.notify(HOSTILE, title=HOSTILE, timeout=60)  # as the app notifies with server text
        await pilot.pause(0.3)
        assert_inert(app, *SHOWN, "PWNED-SURROGATE> (partial reply kept)")

        # copying a reply with a lone surrogate works; the copy file is private
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, CopyPicker))
        await pilot.pause(0.1)
        assert_inert(app, "Last reply", "<␛]52;c;")
        await pilot.press("enter")
        await wait_for(pilot, lambda: clipboard.copy_file_path().exists())
        copied = clipboard.copy_file_path()
        assert "\ufffdPWNED-SURROGATE" in copied.read_text(encoding="utf-8")
        assert stat.S_IMODE(copied.stat().st_mode) == 0o600

        # the server's model list, then the picked (hostile) model in the status line
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker))
        await wait_for(pilot, lambda: app.screen.query_one(OptionList).option_count == 2)
        await pilot.pause(0.1)
        assert_inert(app, "2 model(s)", "<␛]52;c;")
        await pilot.press("enter")  # the hostile one is first
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.pause(0.1)
        assert backend.info.model == HOSTILE
        assert_inert(app, "scripted · <␛]52;c;")

        # history read back: the saved hostile chat, its reply and tool step, a search hit
        sidebar = screen.query_one(HistorySidebar)
        sidebar.post_message(HistorySidebar.Open(stored_id))
        await wait_for(pilot, lambda: screen.session.conversation.conversation_id == stored_id)
        await pilot.pause(0.3)
        assert_inert(app, *SHOWN, "interrupted")
        await pilot.press("ctrl+f", *"PWNED")
        await wait_for(pilot, lambda: sidebar.option_list.option_count > 1)
        await pilot.pause(0.2)
        assert_inert(app, "␛]0;PWNED-TITLE0")

        # the rename and delete dialogs quote the title
        await pilot.press("enter")  # from the search box to the list
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RenameScreen))
        await pilot.pause(0.1)
        assert_inert(app, "␛]0;PWNED")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.pause(0.1)
        assert_inert(app, "Delete", "␛]0;PWNED-TITLE0")
        await pilot.press("escape")

    reloaded = open_store(db)
    newest = reloaded.get_messages(reloaded.list_conversations()[0].id)
    assert "\ufffdPWNED-SURROGATE" in newest[-1].content  # saved, surrogate replaced
    assert "\x1b]0;PWNED-TITLE0" in newest[-1].content  # the rest kept raw in the database


async def test_a_loading_error_quoting_the_server_is_drawn_inert() -> None:
    def factory(progress: ProgressCallback) -> ChatBackend:
        progress(f"Contacting {HOSTILE}", None)
        raise BackendLoadError(f"the server has no model 'x'; it serves: {HOSTILE}")

    settings = AppSettings()
    app = InternLMApp(replace(settings, backend=replace(settings.backend, model=HOSTILE)), factory)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: "unavailable" in screen.status.state)
        await pilot.pause(0.3)
        assert_inert(app, "it serves:", "Loading local backend with", "␛]0;PWNED-TITLE0", "PWNED-CLICK")


class HostileServers(ScriptedBackend):
    """A backend behind servers whose URLs and health details are hostile (the Servers screen)."""

    STATUSES = [
        EndpointStatus(f"http://a/{HOSTILE}", True, 0.01, f"ok {HOSTILE}", 1.0),
        EndpointStatus("http://b/v1", False, None, f"server error 500: {HOSTILE}", 1.0),
    ]

    def endpoint_statuses(self) -> list[EndpointStatus]:
        return self.STATUSES

    def check_endpoints(self) -> list[EndpointStatus]:
        return self.STATUSES

    def current_endpoint(self) -> str | None:
        return self.STATUSES[0].url


async def test_servers_screen_draws_hostile_server_text_inert() -> None:
    backend = HostileServers()

    def factory(progress: ProgressCallback) -> ChatBackend:
        return backend

    app = InternLMApp(AppSettings(), factory)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: screen.session.backend is not None)
        await pilot.press("f12")
        await wait_for(pilot, lambda: isinstance(app.screen, ServersScreen))
        await wait_for(
            pilot, lambda: "healthy" in str(app.screen.query_one("#servers-note", Static).render())
        )
        assert_inert(app, "server error 500:", "␛]0;PWNED-TITLE0", "PWNED-CLICK", "this chat")


class Unsafe(App[None]):
    """A widget that forgets the sanitiser, to show the walk would catch it."""

    def compose(self) -> ComposeResult:
        yield Static("ok")
        yield Static("\x1b]0;PWNED-TITLE0\x07 raw", markup=False)
        yield Static(MARKUP + " " + CLICK)  # parsed as markup


async def test_the_walk_catches_a_widget_that_skips_the_sanitiser() -> None:
    async with Unsafe().run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        problems = walk(pilot.app).problems
    assert any("raw ['\\x1b'" in problem for problem in problems)
    assert any("applied markup" in problem for problem in problems)
    assert any("click action" in problem or "action link" in problem for problem in problems)
