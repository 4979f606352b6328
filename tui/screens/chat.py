"""The chat screen: renders the chat session and sends it the user's intents.

Data flows one way: the prompt posts ``Submitted``; the session (``tui.session``, which owns the
conversation, the recorder, the settings and the turn ids) saves it; the screen starts a thread
worker that iterates the backend and posts ``TurnEvent`` messages; the handlers here pass each
event to the session, which drops a superseded turn's events, and draw what it accepted.
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Protocol

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, get_current_worker

from backends.base import BackendConfigError, BackendLoadError, ChatBackend
from backends.events import (
    ApprovalRequest,
    ChatMessage,
    Done,
    Error,
    ThoughtDelta,
    TokenDelta,
    ToolCall,
    ToolResult,
)
from backends.options import BackendOptions
from tui.approval_policy import ApprovalPolicy
from tui.attach_controller import AttachController
from tui.branch_controller import BranchController
from tui.chat_settings import ChatSettings
from tui.clipboard import CopiesText
from tui.copy_choices import CopyChoice, copy_choices
from tui.history_controller import HistoryController
from tui.kb_controller import KbController
from tui.messages import (
    BackendFailed,
    BackendReady,
    KbIndexed,
    KbProgress,
    LoadProgress,
    McpStatusChanged,
    SourcesFound,
    TokensWaiting,
    TurnEvent,
)
from tui.model_spec import describe
from tui.screens.approval import ApprovalScreen
from tui.screens.chat_settings import ChatSettingsScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.copy_picker import CopyPicker
from tui.screens.servers import HasEndpoints, ServersScreen
from tui.screens.switch_model import SwitchModelScreen
from tui.session import ChatSession, Submitted, Turn, TurnEnd
from tui.settings import AppSettings
from tui.store.store import HistoryStore
from tui.tools_controller import ToolsController
from tui.widgets.assistant_message import AssistantMessage
from tui.widgets.attachment_list import AttachmentList
from tui.widgets.chat_pane import ChatPane
from tui.widgets.history_sidebar import OVERLAY_WIDTH, HistorySidebar
from tui.widgets.kb_progress import KbProgressBar
from tui.widgets.loading_panel import LoadingPanel
from tui.widgets.model_picker import ModelPicker, SwitchesModels
from tui.widgets.prompt_input import PromptInput
from tui.widgets.status_line import StatusLine, format_usage
from tui.widgets.trace_panel import TracePanel
from tui.widgets.user_message import UserMessage

TOKEN_BATCH_S = 1 / 25
"""How long reply text waits in the turn's inbox before the screen takes it: a few tokens per
take at 100 tokens/s, well under the reply's own 8 redraws a second."""


class BackendFactory(Protocol):
    """Creates the backend, reporting progress; runs in a worker thread."""

    def __call__(self, progress: ProgressFn) -> ChatBackend: ...


class ProgressFn(Protocol):
    def __call__(self, stage: str, fraction: float | None) -> None: ...


@dataclass
class TurnView:
    """What the screen draws a streaming turn with: its reply widget and its worker."""

    turn: Turn
    view: AssistantMessage
    worker: Worker[None] | None = None


class ChatScreen(Screen[None]):
    """The main screen: history sidebar, chat pane with prompt, trace panel, status line."""

    BINDINGS = [
        Binding("f1", "app.show_keys", "Keys", id="chat.keys"),
        Binding("escape", "stop", "Stop", id="chat.stop"),
        Binding("ctrl+n", "new_chat", "New chat", id="chat.new"),
        Binding("f2", "toggle_sidebar", "History", id="chat.toggle_history"),
        Binding("f3", "toggle_trace", "Trace", id="chat.toggle_trace"),
        Binding("ctrl+f", "search_history", "Search", id="chat.search"),
        Binding("ctrl+s", "export", "Export", id="chat.export"),
        Binding("f4", "copy", "Copy", id="chat.copy"),
        Binding("ctrl+o", "pick_model", "Model", id="chat.pick_model"),
        Binding("ctrl+r", "regenerate", "Regenerate", id="chat.regenerate"),
        Binding("f5", "attach", "Attach image", id="chat.attach"),
        Binding("ctrl+g", "edit_message", "Edit message", show=False, id="chat.edit_message"),
        Binding("f8", "version(-1)", "Previous version", show=False, id="chat.previous_version"),
        Binding("f9", "version(1)", "Next version", show=False, id="chat.next_version"),
        Binding("ctrl+t", "chat_settings", "Chat settings", show=False, id="chat.settings"),
        Binding("f6", "switch_model", "Switch model", show=False, priority=True, id="chat.switch_model"),
        Binding("ctrl+l", "focus_prompt", "Prompt", show=False, id="chat.focus_prompt"),
        Binding("f12", "servers", "Servers", show=False, id="chat.servers"),
        Binding("f10", "knowledge_base", "Knowledge base", show=False, id="chat.knowledge_base"),
        Binding("f11", "kb_sources", "Sources", show=False, id="chat.kb_sources"),
        Binding("f7", "tools", "Tools", show=False, priority=True, id="chat.tools"),
    ]

    PALETTE_COMMANDS = [("Copy last reply", "Copy the newest reply without choosing", "copy_last_reply")]
    """Actions with no key of their own (``InternLMApp.get_system_commands`` lists them)."""

    def __init__(
        self,
        settings: AppSettings,
        backend_factory: BackendFactory,
        store: HistoryStore,
        factory_for: Callable[[AppSettings], BackendFactory] | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.session = ChatSession(settings, store)
        """The one owner of the current chat; this screen only renders it."""
        self.history = HistoryController(self, self.session)
        self.branches = BranchController(self, self.session)
        self.kb = KbController(self, self.session)
        self.attach = AttachController(self, self.session)
        self._backend_factory = backend_factory
        self._factory_for = factory_for
        """Makes the factory of another backend (switching model mid-chat); None: no switching."""
        self._switching: AppSettings | None = None
        """The settings being loaded by a switch (the current backend stays until it is ready)."""
        self._view: TurnView | None = None
        self._blink: bool | None = None  # the prompt cursor's blinking, kept while a reply streams
        self.approval_policy = ApprovalPolicy.from_settings(settings)
        self.tools = ToolsController(self)

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            yield HistorySidebar(id="sidebar")
            with Vertical(id="main"):
                yield ChatPane(id="chat")
                yield AttachmentList(id="attachments")
                yield PromptInput(id="prompt")
            yield TracePanel(id="trace")
        yield KbProgressBar(id="kb-progress")
        yield StatusLine(id="status")
        yield Footer()

    async def on_mount(self) -> None:
        model = self.settings.backend.model or "the embedded model"
        await self.chat_pane.mount(
            LoadingPanel(f"Loading {self.settings.backend.backend} backend with {model}", id="loading")
        )
        self.status.state = "loading…"
        self.query_one(PromptInput).focus()
        await self.history.start()
        self.kb.start()
        self.attach.start()
        self._load_backend()

    def shutdown(self) -> None:
        """Before the app exits (quit, SIGHUP, SIGTERM): save a streaming reply as interrupted,
        stop its worker (which ends generation and kills tool processes) and release the backend."""
        view, self._view = self._view, None
        if view is not None and view.worker is not None:
            view.worker.cancel()
        self.kb.shutdown()
        self.session.close()
        gc.unfreeze()

    def on_unmount(self) -> None:
        self.shutdown()

    def on_resize(self, event: events.Resize) -> None:
        self.query_one(HistorySidebar).fit_width(event.size.width)
        self.query_one(TracePanel).set_class(event.size.width < OVERLAY_WIDTH, "overlay")
        self.query_one(Footer).compact = event.size.width < OVERLAY_WIDTH

    # ----- widgets -------------------------------------------------------------------------
    @property
    def chat_pane(self) -> ChatPane:
        return self.query_one(ChatPane)

    @property
    def status(self) -> StatusLine:
        return self.query_one(StatusLine)

    @property
    def busy(self) -> bool:
        """True while a reply is streaming."""
        return self.session.busy

    # ----- loading -------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _load_backend(self, factory: BackendFactory | None = None) -> None:
        worker = get_current_worker()

        def progress(stage: str, fraction: float | None) -> None:
            if worker.is_cancelled:  # Esc while loading: a download stops at its next chunk
                raise BackendLoadError(
                    "loading cancelled (a download keeps what it fetched and resumes next time)"
                )
            self.post_message(LoadProgress(stage, fraction))

        try:
            backend = (factory or self._backend_factory)(progress)
        except (BackendConfigError, BackendLoadError) as exc:
            self.post_message(BackendFailed(str(exc)))
            return
        except Exception as exc:  # never a traceback at the user: one line, details in the log
            self.log.error("backend failed to load", exc)
            self.post_message(BackendFailed(f"backend failed to load: {type(exc).__name__}: {exc}"))
            return
        if get_current_worker().is_cancelled:
            backend.close()
            return
        self.post_message(BackendReady(backend))

    def on_load_progress(self, message: LoadProgress) -> None:
        for panel in self.query(LoadingPanel):
            panel.set_stage(message.stage, message.fraction)

    async def on_backend_ready(self, message: BackendReady) -> None:
        gc.unfreeze()  # a model switched away from can be freed (frozen again below)
        previous = self.session.backend
        start_queued = self.session.backend_ready(message.backend)
        self.status.set_backend(message.backend.info)  # with the session, before any await
        self.status.state = "ready"
        await self.query(LoadingPanel).remove()
        if self._switching is not None:
            self.settings = self.session.settings = self._switching
            self._switching = None
            if previous is not None and previous is not message.backend:
                previous.close()
            self.notify(f"Switched to {message.backend.info.model}; the chat continues there.", markup=False)
        previous = None  # not kept (frozen below) by this frame
        self.refresh_context()
        if "tools" in message.backend.info.capabilities:
            self.query_one(TracePanel).add_class("visible")
            self.tools.watch_backend(message.backend)
            self.status.auto_approve = self.approval_policy.auto
            capabilities = message.backend.info.capabilities
            if "tools-unisolated" in capabilities:
                self.notify(
                    "The agent's Python tool runs unisolated (--unisolated-tools): "
                    "approved code can read your files and use the network.",
                    severity="warning",
                    timeout=15,
                    markup=False,
                )
            elif "tools-off" in capabilities:
                self.notify(
                    "The agent's Python tool is off: it cannot be isolated on this machine. "
                    "Install bubblewrap, or pass --unisolated-tools to run it anyway.",
                    severity="warning",
                    timeout=15,
                    markup=False,
                )
        self.refresh_bindings()
        # What is loaded now (Textual, torch and transformers: over 200,000 objects) lives as long
        # as the backend: kept out of the garbage collector's full passes, each of which would
        # otherwise walk all of it (130 ms with transformers imported) in the middle of a reply.
        # One full pass first, so that the garbage of loading (or of the model switched away
        # from) is freed rather than kept.
        gc.collect()
        gc.freeze()
        if start_queued:
            await self.start_turn()
        elif self.session.not_answered:
            self.notify(self.session.not_answered, title="Not sent", severity="warning", markup=False)

    async def on_backend_failed(self, message: BackendFailed) -> None:
        if self._switching is not None:  # the backend in use stays
            self._switching = None
            await self.query(LoadingPanel).remove()
            self.status.state = "ready" if self.session.backend is not None else "backend unavailable"
            self.notify(message.message, title="Could not switch", severity="error", markup=False)
            return
        self.session.backend_failed(message.message)
        for panel in self.query(LoadingPanel):
            panel.show_error(message.message + " — fix the flags and restart (ctrl+q quits)")
        self.status.state = "backend unavailable"
        self.notify(message.message, title="Backend failed", severity="error", markup=False)

    # ----- turns ---------------------------------------------------------------------------
    @on(PromptInput.Submitted)
    async def _on_prompt_submitted(self, message: PromptInput.Submitted) -> None:
        text, prompt = message.text, message.prompt
        if self.branches.editing is not None:
            if text.strip():
                await self.branches.send_edit(text, prompt)
            return
        if self._switching is not None and text.strip():
            self.notify(
                "Switching model… your prompt is kept; send it when the new one is ready.", markup=False
            )
            return
        if not text.strip() or self.busy or self.session.backend is None:
            await self._submit(text, prompt)  # the session says why it cannot be sent, or queues it
            return
        await self.fit_then(self.session.plan_prompt(text), partial(self._submit, text, prompt))

    async def fit_then(self, needed: int | None, proceed: Callable[[], Awaitable[None]]) -> None:
        """Run ``proceed`` if what it sends fits the model's context with its reply; else ask
        before leaving out the ``needed`` oldest messages (never silently), or say it cannot fit.
        Whatever the user typed stays in the prompt unless it is sent."""
        window = self.session.backend.info.context_window if self.session.backend is not None else None
        if needed is None:
            self.notify(
                f"This does not fit the model's context ({window} tokens with the reply) even alone; "
                "shorten it or lower the max new tokens (ctrl+t). Nothing was sent.",
                severity="warning",
                markup=False,
            )
            return
        dropped = self.session.conversation.dropped
        if needed <= dropped:
            await proceed()
            return

        async def answered(drop: bool | None) -> None:
            if drop:
                self.session.drop_oldest(needed)
                await proceed()
            else:
                self.notify("Not sent; your prompt is kept.", markup=False)

        question = (
            f"The chat no longer fits the model's context ({window} tokens). Leave out the "
            f"{needed - dropped} oldest message(s) from what is sent? They stay in the history and on screen."
        )
        self.app.push_screen(ConfirmScreen(question), answered)

    async def _submit(self, text: str, prompt: PromptInput) -> None:
        """Hand the prompt to the session and draw what it did with it."""
        was_saved = self.session.conversation_id is not None
        outcome = self.session.submit(text)
        if outcome is Submitted.EMPTY:
            return
        if outcome is Submitted.BUSY:
            self.notify("A reply is still streaming — Esc stops it.", markup=False)
            return
        if outcome is Submitted.UNAVAILABLE:
            self.notify(
                "The backend is not available; your prompt is kept.", severity="warning", markup=False
            )
            return
        if outcome is Submitted.REFUSED:
            self.notify(self.session.refusal or "", title="Not sent", severity="warning", markup=False)
            return
        prompt.clear()
        self.attach.refresh()
        self.history.saved(created=not was_saved and self.session.conversation_id is not None)
        drawn = await self.chat_pane.add_user(text, self.session.conversation.messages[-1].attachments)
        drawn.row = self.session.recorder.last_prompt
        self.refresh_context()
        if outcome is Submitted.QUEUED:
            self.status.state = "waiting for the model to load…"
            return
        await self.start_turn()

    def refresh_context(self) -> None:
        """Show how full the model's context is (after a reply, a switch, another chat)."""
        use = self.session.context_use()
        self.status.context = use.label(self.session.conversation.dropped) if use is not None else ""

    async def start_turn(self) -> None:
        """Stream the reply to the session's conversation as it is now."""
        backend = self.session.backend
        assert backend is not None
        turn = self.session.begin_turn()
        view = TurnView(turn, await self.chat_pane.add_assistant())
        view.view.row = turn.row
        self._view = view
        self._streaming(True)
        self.status.state = "streaming… (Esc stops)"
        self.refresh_bindings()
        view.worker = self.run_worker(
            partial(self._stream_turn, backend, turn),
            thread=True,
            group="turn",
            name=f"turn-{turn.turn_id}",
            exit_on_error=False,
        )

    def _stream_turn(self, backend: ChatBackend, turn: Turn) -> None:
        """Worker thread: iterate the backend and post every event (never touches widgets)."""
        try:
            self.kb.ground(turn)  # with a knowledge base: its passages go with the question
            for event in backend.stream(turn.messages, turn.params, cancel=turn.cancel):
                if not isinstance(event, TokenDelta):
                    self.post_message(TurnEvent(turn.turn_id, event))
                elif turn.inbox.put(event.text):  # one wake-up per batch of tokens
                    self.post_message(TokensWaiting(turn.turn_id))
        except Exception as exc:  # a backend broke its contract; still end the turn cleanly
            self.post_message(TurnEvent(turn.turn_id, Error(f"backend error: {type(exc).__name__}: {exc}")))

    def on_tokens_waiting(self, message: TokensWaiting) -> None:
        """Take the turn's waiting text a moment later, so that one take carries several tokens."""
        self.set_timer(TOKEN_BATCH_S, partial(self._take_text, message.turn_id))

    async def _take_text(self, turn_id: int) -> None:
        """Show the text the worker has read for ``turn_id`` (before any later event of it)."""
        taken = self.session.take_text(turn_id)
        view = self._view
        if taken is None or not taken[1] or view is None or view.turn is not taken[0]:
            return
        await view.view.append(taken[1])
        self.history.check_warning()

    async def on_turn_event(self, message: TurnEvent) -> None:
        await self._take_text(message.turn_id)  # the text that came before this event first
        event = message.event
        if isinstance(event, Done | Error):
            ended = self.session.finish(message.turn_id, event)
            if ended is not None:
                await self._end_turn(ended)
            return
        turn = self.session.apply(message.turn_id, event)
        view = self._view
        if turn is None or view is None or view.turn is not turn:
            return  # a superseded turn, or text after Esc: dropped
        if isinstance(event, TokenDelta):  # only from a backend that did not go through the inbox
            await view.view.append(event.text)
        elif isinstance(event, ThoughtDelta | ToolCall | ToolResult):
            await self.query_one(TracePanel).add_event(event)
            if isinstance(event, ToolResult) and event.attachments:
                await view.view.show_files(event.attachments)  # a plot shows in the chat too
        elif isinstance(event, ApprovalRequest):
            await self.query_one(TracePanel).add_event(event)
            self.tools.ask(turn, event)
        self.history.check_warning()

    def on_kb_progress(self, message: KbProgress) -> None:
        self.kb.on_progress(message)

    def on_kb_indexed(self, message: KbIndexed) -> None:
        self.kb.on_indexed(message)

    async def on_sources_found(self, message: SourcesFound) -> None:
        await self.kb.on_sources_found(message)

    async def _end_turn(self, ended: TurnEnd) -> None:
        view = self._view
        self._view = None
        self._streaming(False)
        self.refresh_bindings()
        self.history.check_warning()
        if view is None or view.turn is not ended.turn:
            return
        event, text = ended.event, ended.turn.text
        if isinstance(event, Error) and self.session.has_capability("tools"):
            await self.query_one(TracePanel).add_event(event)
        if isinstance(event, Error):
            await view.view.finish()
            view.view.set_note(f"⚠ {event.message}" + (" (partial reply kept)" if text else ""), error=True)
            self.status.state = "error"
            self.refresh_context()
            return
        stats = format_usage(event.usage)
        if ended.status == "cancelled":
            note = "stopped" + (f" · {stats}" if stats else "")
            self.status.state = "stopped"
        elif event.reason == "length":
            note = f"cut at the token limit · {stats}"
            self.status.state = "ready"
        else:
            note = stats
            self.status.state = "ready"
        label = self.branches.reply_label(view.view, ended.turn.model)
        note = " · ".join(part for part in (label, note) if part)
        if sources := self.kb.footer(ended.turn):
            note = f"{note}\n{sources}" if note else sources
        if not view.view.finished:
            await view.view.finish(note)
        else:
            view.view.set_note(note)
        self.status.stats = stats
        self.refresh_context()

    # ----- actions -------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.busy or self.branches.editing is not None or self.loading_backend
        if action == "pick_model":
            return isinstance(self.session.backend, SwitchesModels)
        if action == "servers":
            return isinstance(self.session.backend, HasEndpoints)
        return True

    @property
    def loading_backend(self) -> bool:
        """True while a backend loads (a model, a download, a server check) in the load worker."""
        return any(w.group == "load" and not w.is_finished for w in self.workers)

    async def action_stop(self) -> None:
        """Stop the streaming reply now (what was written stays), cancel loading (a download),
        or leave editing a prompt."""
        if not self.busy and self.loading_backend:
            self.workers.cancel_group(self, "load")
            self.status.state = "cancelling…"
            return
        turn = self.session.turn
        if turn is not None:
            await self._take_text(turn.turn_id)  # text read before Esc is shown and kept
        if self.session.stop() is None:
            self.branches.cancel_edit()
            return
        view = self._view
        if view is not None and view.worker is not None:
            view.worker.cancel()
        if isinstance(self.app.screen, ApprovalScreen):
            self.app.screen.dismiss(None)
        self.status.state = "stopping…"
        if view is not None:
            view.view.set_note("stopping…")
            await view.view.finish()

    async def drop_turn(self) -> None:
        """Stop the streaming reply before the chat changes under it (new chat, another chat)."""
        await self.action_stop()
        self._view = None
        self._streaming(False)
        self.refresh_bindings()

    def _streaming(self, streaming: bool) -> None:
        """While a reply streams, the prompt's cursor stays lit instead of blinking: each blink
        repaints every widget above the prompt's row, two frames a second more to draw and send.
        Afterwards it blinks again if it did before."""
        prompt = self.query_one(PromptInput)
        if streaming and self._blink is None:
            self._blink, prompt.cursor_blink = prompt.cursor_blink, False
        elif not streaming and self._blink is not None:
            prompt.cursor_blink, self._blink = self._blink, None

    async def action_new_chat(self) -> None:
        """Start an empty conversation (stops a streaming reply first)."""
        await self.drop_turn()
        self.session.new()
        await self.show_new_chat()

    async def show_new_chat(self) -> None:
        """Draw the session's new, empty chat."""
        self.history.reset()
        await self.chat_pane.clear_messages()
        await self.query_one(TracePanel).clear_steps()
        self.status.stats = ""
        self.query_one(PromptInput).focus()

    def action_toggle_sidebar(self) -> None:
        """Show the history sidebar with the cursor in it, or hide it."""
        self.history.toggle_sidebar()

    def action_search_history(self) -> None:
        """Open the sidebar and put the cursor in its search box."""
        self.query_one(HistorySidebar).action_search()

    def action_toggle_trace(self) -> None:
        """Show or hide the tool-call trace panel."""
        self.query_one(TracePanel).toggle_class("visible")

    def action_knowledge_base(self) -> None:
        """Attached folders and their status: add, remove, re-index."""
        self.kb.open_manager()

    def action_kb_sources(self) -> None:
        """The passages the last grounded reply was given, with file and lines."""
        self.kb.open_sources()

    def action_attach(self) -> None:
        """Choose an image (any file for the agent) to send with the next prompt."""
        self.attach.open_picker()

    def on_attachment_list_remove(self, message: AttachmentList.Remove) -> None:
        self.attach.remove(message.index)

    def on_attachment_list_leave(self, message: AttachmentList.Leave) -> None:
        self.query_one(PromptInput).focus()

    def action_focus_prompt(self) -> None:
        """Put the cursor in the prompt."""
        self.query_one(PromptInput).focus()

    def _copyable(self) -> list[CopyChoice]:
        messages = list(self.session.conversation.messages)
        turn = self.session.turn
        if turn is not None and turn.text:
            messages.append(ChatMessage("assistant", turn.text))
        return copy_choices(messages)

    def action_copy(self) -> None:
        """Choose what to copy: the last reply (first, so F4 Enter copies it), a code block, a message."""
        choices = self._copyable()
        if not choices:
            self.notify("Nothing to copy yet.")
            return

        def chosen(choice: CopyChoice | None) -> None:
            if choice is not None:
                self.copy_choice(choice)

        self.app.push_screen(CopyPicker(choices), chosen)

    def action_copy_last_reply(self) -> None:
        """Copy the last reply without choosing (palette: "Copy last reply")."""
        choices = self._copyable()
        if not choices or not choices[0].label.startswith("Last reply"):
            self.notify("There is no reply to copy yet.")
            return
        self.copy_choice(choices[0])

    def copy_choice(self, choice: CopyChoice) -> None:
        """Send one chosen item to the clipboard (see ``InternLMApp.copy_text``)."""
        self.copy_text(choice.text, choice.label.split(" — ")[0])

    def copy_text(self, text: str, what: str) -> None:
        """Send ``text`` to the clipboard, saying what it was."""
        if isinstance(self.app, CopiesText):
            self.app.copy_text(text, what)
        else:
            self.app.copy_to_clipboard(text)

    def action_switch_model(self) -> None:
        """Continue this chat on another model or backend (local, a server, the agent)."""
        if self._factory_for is None:
            self.notify("Switching is not available here.", markup=False)
            return
        if self._switching is not None or (
            self.session.backend is None and self.session.backend_error is None
        ):
            self.notify("A model is still loading; switch when it is ready.", markup=False)
            return
        if self.busy:
            self.notify("A reply is still streaming — Esc stops it, then switch.", markup=False)
            return
        info = self.session.backend.info if self.session.backend is not None else None
        label = f"{info.name} · {info.model}" if info is not None else describe(self.settings.backend)
        factory_for = self._factory_for

        async def chosen(options: BackendOptions | None) -> None:
            if options is None or self.busy or self._switching is not None:
                return
            self._switching = replace(self.settings, backend=options)
            await self.query(LoadingPanel).remove()  # a failed first load's panel goes
            await self.chat_pane.mount(LoadingPanel(f"Switching to {describe(options)}", id="loading"))
            self.status.state = "loading…"
            self._load_backend(factory_for(self._switching))

        self.app.push_screen(SwitchModelScreen(self.settings.backend, label), chosen)

    def action_chat_settings(self) -> None:
        """Edit this chat's system prompt and sampling settings (saved with it)."""
        current = ChatSettings(self.session.conversation.system, self.session.params)

        def saved(result: ChatSettings | None) -> None:
            if result is not None:
                self.session.apply_settings(result.system, result.params)
                self.notify("Chat settings saved: the next reply uses them.", markup=False)

        self.app.push_screen(ChatSettingsScreen(current, self.session.params), saved)

    # ----- branches (logic in tui/branch_controller.py) -------------------------------------
    async def action_regenerate(self) -> None:
        """Answer the selected (or last) reply's prompt again; the old reply stays as a version."""
        await self.branches.regenerate()

    def action_edit_message(self) -> None:
        """Edit the selected (or last) prompt; sending it starts a new branch from there."""
        self.branches.begin_edit()

    async def action_version(self, step: int) -> None:
        """Show the previous or next version of the selected (or newest) message with versions."""
        await self.branches.switch_version(step)

    async def on_chat_pane_act(self, message: ChatPane.Act) -> None:
        if isinstance(message.message, UserMessage | AssistantMessage):
            await self.branches.act(message.action, message.message)

    def action_pick_model(self) -> None:
        """Choose one of the server's models for the next reply (remote backend)."""
        backend = self.session.backend
        if backend is None or not isinstance(backend, SwitchesModels):
            self.notify("This backend has a single model.", markup=False)
            return

        def chosen(model: str | None) -> None:
            if model and self.session.backend is backend:
                backend.use_model(model)
                self.status.set_backend(backend.info)

        self.app.push_screen(ModelPicker(backend, backend.info.model), chosen)

    def action_servers(self) -> None:
        """Health and latency of each server of the remote backend (``r`` checks again)."""
        backend = self.session.backend
        if not isinstance(backend, HasEndpoints):
            self.notify("No servers: this backend is not a remote one (--base-url).", markup=False)
        elif not isinstance(self.app.screen, ServersScreen):
            self.app.push_screen(ServersScreen(backend))

    # ----- history (logic in tui/history_controller.py) -------------------------------------
    async def on_chat_pane_near_top(self, message: ChatPane.NearTop) -> None:
        await self.history.load_older()

    async def on_history_sidebar_open(self, message: HistorySidebar.Open) -> None:
        await self.history.chosen(message.conversation_id, message.message_id)

    def on_history_sidebar_leave(self, message: HistorySidebar.Leave) -> None:
        self.history.leave_sidebar()

    def on_history_sidebar_rename(self, message: HistorySidebar.Rename) -> None:
        self.history.rename(message.conversation_id, message.title)

    def on_history_sidebar_delete(self, message: HistorySidebar.Delete) -> None:
        self.history.delete(message.conversation_id, message.title)

    def action_tools(self) -> None:
        """Choose this chat's tools; see and revoke its "always" approvals (agent backend)."""
        self.tools.open_tools()

    async def on_mcp_status_changed(self, message: McpStatusChanged) -> None:
        await self.tools.status_changed(message)

    def action_export(self) -> None:
        """Write the current chat as Markdown and JSON (OpenAI messages) and show the paths."""
        self.history.export()
