"""The chat session: the one owner of the current chat, with no Textual in it.

It holds the conversation sent to the backend, the recorder that saves it, the generation
settings of the next reply, the backend once it is loaded, the reply being streamed (with its
turn id and cancel flag) and a prompt queued while the model loads. Screens send it the user's
intents (submit, stop, new, open) and backend events (``apply``, ``finish``) and render what it
returns; it never touches a widget, so every rule about a chat lives and is tested here.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from backends.agent.tools import ToolSet
from backends.base import ChatBackend, ChoosesTools
from backends.events import (
    Attachment,
    BackendEvent,
    BackendInfo,
    ChatMessage,
    Done,
    Error,
    GenerationParams,
    TokenDelta,
    ToolCall,
    ToolResult,
)
from tui.attachments import loaded_from
from tui.chat_tools import ChatTools
from tui.context_meter import ContextUse, Measured, measure, oldest_to_drop
from tui.conversation import Conversation
from tui.credentials import without_credentials
from tui.pending_files import PendingFiles, refusal
from tui.recorder import ChatRecorder, params_from_dict
from tui.sanitize import storable
from tui.settings import AppSettings
from tui.store.store import ConversationSummary, HistoryStore, RowRef, StoredMessage
from tui.token_inbox import TokenInbox

if TYPE_CHECKING:
    from kb.hit import Hit
    from kb.knowledge import KnowledgeSet

KB_TOP_K = 5
"""How many passages of the attached knowledge base go into each question."""

KB_SEARCH = "kb_search"
"""The knowledge base's tool for an agent (``kb.tool.KbSearchTool``)."""

SYNC_WAIT_S = 1.0
"""How long a branch action waits for queued history writes before saying history is busy."""


class Submitted(enum.Enum):
    """What became of a prompt the user sent."""

    EMPTY = "empty"
    """Only whitespace: ignored, the prompt keeps it."""
    BUSY = "busy"
    """A reply is still streaming: the prompt keeps the text."""
    UNAVAILABLE = "unavailable"
    """The backend failed to load: the prompt keeps the text."""
    QUEUED = "queued"
    """Saved; the reply starts when the backend is ready."""
    START = "start"
    """Saved; start the reply now (``begin_turn``)."""
    HISTORY = "history"
    """History could not record a new branch (busy, read-only or full): nothing was sent."""
    REFUSED = "refused"
    """The backend cannot take what is attached (``ChatSession.refusal`` says why): nothing was
    sent, the prompt and the attachments are kept."""


@dataclass
class Turn:
    """One reply being streamed: what was sent, what has arrived, and how to stop it."""

    turn_id: int
    messages: list[ChatMessage]
    params: GenerationParams
    model: str = ""
    """The model that writes this reply (kept: the chat may switch model later)."""
    row: RowRef | None = None
    """The reply's stored row (a future id while the write is queued)."""
    text: str = ""
    cancel: threading.Event = field(default_factory=threading.Event)
    inbox: TokenInbox = field(default_factory=TokenInbox)
    """Reply text the worker has read and the screen has not taken yet (see ``take_text``)."""
    sources: list[Hit] = field(default_factory=list)
    """Knowledge-base passages sent with this turn as numbered sources (see ``ground``)."""

    @property
    def cancelled(self) -> bool:
        """True once the user stopped it (or the app is shutting down)."""
        return self.cancel.is_set()


ReplyStatus = Literal["done", "cancelled", "error"]


@dataclass(frozen=True, slots=True)
class TurnEnd:
    """How a turn ended, for the screen to render: its status, the last event, the text kept."""

    turn: Turn
    status: ReplyStatus
    event: Done | Error


@dataclass(frozen=True, slots=True)
class OpenedChat:
    """A saved conversation made current: its summary and the messages of its current branch."""

    summary: ConversationSummary
    messages: list[StoredMessage]
    files: dict[int, tuple[Attachment, ...]] = field(default_factory=dict)
    """The attached files of those messages, by message id."""


@dataclass(frozen=True, slots=True)
class Version:
    """Which of its siblings a message is: ``index`` of ``count`` (1-based), for "2/3"."""

    index: int
    count: int


class ChatSession:
    """The current chat and every operation on it (see the module docstring)."""

    def __init__(self, settings: AppSettings, store: HistoryStore) -> None:
        self.settings = settings
        self.store = store
        self.conversation = Conversation(system=settings.system)
        self.recorder = ChatRecorder(store)
        self.params = settings.params
        """Generation settings of the next turn (a reopened conversation brings its own)."""
        self.backend: ChatBackend | None = None
        self.backend_error: str | None = None
        """One line saying why the backend could not load (None while loading or once ready)."""
        self.turn: Turn | None = None
        self.queued = False
        """A prompt was saved before the backend was ready; its reply starts on ``backend_ready``."""
        self.measured: Measured | None = None
        """The server's own token count after the last reply (see ``tui.context_meter``)."""
        self.tools = ChatTools()
        """This chat's tool choice and "always" approvals (saved with it)."""
        self.knowledge: KnowledgeSet | None = None
        """Attached knowledge-base folders: each question is grounded in them (see ``ground``)."""
        self.files = PendingFiles()
        """Files attached to the prompt being written (sent and saved with it)."""
        self.refusal: str | None = None
        """Why the last prompt was ``REFUSED`` (one line)."""
        self.not_answered: str | None = None
        """Why the prompt queued while loading was not sent to the model that loaded (one line)."""
        self.files_of: dict[int, tuple[Attachment, ...]] = {}
        """Attached files of the stored messages of the branch shown, by message id."""
        self._turn_counter = 0

    # ----- state -------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while a reply is streaming."""
        return self.turn is not None

    @property
    def conversation_id(self) -> int | None:
        """The stored id of the current chat (None until its first prompt is saved: history
        writes are queued, so a new chat learns its id when the writer has made the row)."""
        if self.conversation.conversation_id is None:
            self.conversation.conversation_id = self.recorder.conversation_id
        return self.conversation.conversation_id

    def has_capability(self, name: str) -> bool:
        """Whether the loaded backend declares ``name`` (False while loading)."""
        return self.backend is not None and name in self.backend.info.capabilities

    # ----- backend -----------------------------------------------------------------------
    def backend_ready(self, backend: ChatBackend) -> bool:
        """Take the loaded backend; True if a queued prompt's reply should start now."""
        self.backend = backend
        self.backend_error = None
        queued, self.queued = self.queued, False
        self.not_answered = None
        last = self.conversation.messages[-1] if queued and self.conversation.messages else None
        reason = refusal(last.attachments, backend.info) if last is not None else None
        if reason is not None:  # checked now that the model is known: never sent without its files
            self.not_answered = (
                f"{reason.split(';')[0]}: the prompt sent while it loaded is saved but was not sent. "
                "Switch to a vision model (F6), then edit the prompt to send it again."
            )
            return False
        return queued

    def backend_failed(self, message: str) -> None:
        """The backend could not be created; prompts are refused (and kept) from now on."""
        self.backend_error = message

    # ----- turns -------------------------------------------------------------------------
    def submit(self, text: str) -> Submitted:
        """Save the user's prompt and say whether its reply starts now, later, or not at all."""
        if not text.strip():
            return Submitted.EMPTY
        if self.busy:
            return Submitted.BUSY
        if self.backend is None and self.backend_error is not None:
            return Submitted.UNAVAILABLE
        attachments = self.files.attachments
        self.refusal = refusal(attachments, self.backend.info if self.backend is not None else None)
        if self.refusal is not None:
            return Submitted.REFUSED
        self.conversation.add(ChatMessage("user", text, attachments=attachments))
        self.files.clear()
        info = self._info()
        self.recorder.record_user(
            text,
            backend=info.name,
            model=info.model,
            system=self.conversation.system,
            params=self.params.as_dict(),
            options=launch_options(self.settings),
            attachments=attachments,
        )
        if self.tools != ChatTools() and len(self.conversation.messages) == 1:
            self._save_tools()  # a new chat's choice, made before it had a row
        if self.backend is None:
            self.queued = True
            return Submitted.QUEUED
        return Submitted.START

    def begin_turn(self) -> Turn:
        """Start the reply to the conversation as it is now (the backend must be ready)."""
        if self.backend is None:
            raise RuntimeError("begin_turn before the backend is ready")
        self._turn_counter += 1
        info = self.backend.info
        if isinstance(self.backend, ChoosesTools):
            self.offer_kb_tool()
            self.backend.choose_tools(self.tools.chosen)
        self.recorder.begin_reply(backend=info.name, model=info.model, params=self.params.as_dict())
        turn = Turn(
            self._turn_counter,
            self.conversation.for_backend(),
            self.params,
            model=info.model,
            row=self.recorder.last_reply,
        )
        self.turn = turn
        return turn

    def offer_kb_tool(self) -> None:
        """With a knowledge base attached and an agent backend, the agent gets ``kb_search``
        (``kb.tool``) as one of its tools (it runs without asking: it only reads the index)."""
        tools = getattr(self.backend, "tools", None)
        if not self.knowledge or not isinstance(tools, ToolSet) or KB_SEARCH in tools:
            return
        from kb.tool import KbSearchTool

        tools.add(KbSearchTool(self.knowledge))

    def ground(self, turn: Turn) -> list[Hit]:
        """With a knowledge base attached: pick up changed files, find the passages for the turn's
        question and send them as numbered sources in the system message. The user's text is
        sent and stored as typed. Runs on the turn's worker thread (indexing and the embedding
        model must never block the UI); the passages found, or [] (a failure is logged on the
        turn as ``sources`` left empty: the question is still answered, ungrounded)."""
        knowledge = self.knowledge
        if not knowledge or turn.cancelled or self.has_capability("tools"):
            return []  # an agent does not read system messages: it gets the kb_search tool instead
        from kb.grounding import with_sources

        question = next((m.content for m in reversed(turn.messages) if m.role == "user"), "")
        try:
            knowledge.refresh(turn.cancel)
            hits = knowledge.search(question, KB_TOP_K)
        except Exception:  # a vanished folder or a broken index must not stop the chat
            return []
        if hits:
            system = next((m.content for m in turn.messages if m.role == "system"), None)
            rest = [m for m in turn.messages if m.role != "system"]
            turn.messages = [ChatMessage("system", with_sources(system, hits)), *rest]
            turn.sources = hits
        return hits

    def stored_id(self, row: RowRef | None) -> int | None:
        """The id of a stored row (None while its write waits behind another instance's lock)."""
        return None if row is None else self.store.peek(row)

    def current(self, turn_id: int) -> Turn | None:
        """The streaming turn if ``turn_id`` is it; None for a superseded turn's events."""
        turn = self.turn
        return turn if turn is not None and turn.turn_id == turn_id else None

    def take_text(self, turn_id: int) -> tuple[Turn, str] | None:
        """Move the text waiting in ``turn_id``'s inbox into the reply; the turn and that text
        ("" when the turn was stopped: text after Esc is dropped), or None for a superseded turn."""
        turn = self.current(turn_id)
        if turn is None:
            return None
        return turn, self._absorb(turn)

    def _absorb(self, turn: Turn) -> str:
        """Take ``turn``'s waiting text into ``turn.text`` (dropped once the turn was stopped)."""
        text = turn.inbox.take()
        if not text or turn.cancelled:
            return ""
        turn.text += text
        self.recorder.progress(turn.text)
        return text

    def apply(self, turn_id: int, event: BackendEvent) -> Turn | None:
        """Take one event of ``turn_id`` (text, tool steps); None when the event is to be dropped.

        Text that arrives after the user stopped the turn is dropped too: what was on screen
        when they pressed Esc is what stays.
        """
        turn = self.current(turn_id)
        if turn is None:
            return None
        if isinstance(event, TokenDelta):
            if turn.cancelled:
                return None
            turn.text += event.text
            self.recorder.progress(turn.text)
        elif isinstance(event, ToolCall):
            self.recorder.tool_call(event.call_id, event.name, event.arguments)
        elif isinstance(event, ToolResult):
            self.recorder.tool_result(
                event.call_id, event.output, event.ok, event.elapsed_s, event.attachments
            )
        return turn

    def finish(self, turn_id: int, event: Done | Error) -> TurnEnd | None:
        """End ``turn_id``: keep its text in the conversation and save it with its status."""
        turn = self.current(turn_id)
        if turn is None:
            return None
        self._absorb(turn)
        self.turn = None
        if turn.text:  # a lone surrogate in a reply is not sent back to the model
            self.conversation.add(ChatMessage("assistant", storable(turn.text)))
        usage = event.usage if isinstance(event, Done) else None
        if usage is not None and usage.prompt_tokens:
            sent = len(self.conversation.for_backend())
            self.measured = Measured(sent, usage.prompt_tokens + usage.completion_tokens)
        status: ReplyStatus
        if isinstance(event, Error):
            status = "error"
            self.recorder.finish_reply(turn.text, status)
        else:
            status = "cancelled" if event.reason == "cancelled" or turn.cancelled else "done"
            self.recorder.finish_reply(turn.text, status, event.usage)
        return TurnEnd(turn, status, event)

    def stop(self) -> Turn | None:
        """Ask the streaming reply to stop (the backend sees the flag); the turn, if one was stopped."""
        turn = self.turn
        if turn is None or turn.cancelled:
            return None
        self._absorb(turn)  # text read before Esc stays
        turn.cancel.set()
        return turn

    def interrupt(self) -> Turn | None:
        """Quit or hang-up: save the streaming reply as interrupted and stop it; no more events count."""
        turn, self.turn = self.turn, None
        if turn is not None:
            self._absorb(turn)
            turn.cancel.set()
            self.recorder.finish_reply(turn.text, "interrupted")
        return turn

    def close(self) -> None:
        """Before the app exits: interrupt the reply and release the backend (ends tool processes)."""
        self.interrupt()
        backend, self.backend = self.backend, None
        if backend is not None:
            backend.close()

    # ----- context -----------------------------------------------------------------------
    def context_use(self) -> ContextUse | None:
        """How many tokens the conversation takes now, and the model's window."""
        return measure(self.backend, self.conversation.for_backend(), self.measured)

    def plan_prompt(self, text: str) -> int | None:
        """How many of the oldest messages must be left out for ``text`` and its reply to fit the
        model's context (the number already left out when it fits); None if it cannot fit at all."""
        messages = [*self.conversation.messages, ChatMessage("user", text)]
        return self._plan(messages, self.measured if not self.conversation.dropped else None)

    def plan_regenerate(self, message_id: int | None) -> int | None:
        """``plan_prompt`` for answering again the prompt of reply ``message_id`` (default: the last)."""
        path = self.path
        replies = [i for i, m in enumerate(path) if m.role == "assistant" and message_id in (None, m.id)]
        return self._plan(_chat(path[: replies[-1]]) if replies else [], None)

    def plan_edit(self, message_id: int, text: str) -> int | None:
        """``plan_prompt`` for sending ``text`` in place of prompt ``message_id``."""
        path = self.path
        at = next((i for i, m in enumerate(path) if m.id == message_id), len(path))
        return self._plan([*_chat(path[:at]), ChatMessage("user", text)], None)

    def _plan(self, messages: list[ChatMessage], measured: Measured | None) -> int | None:
        conversation = self.conversation
        dropped = min(conversation.dropped, max(0, len(messages) - 1))
        system = [ChatMessage("system", conversation.system)] if conversation.system else []
        reply = self.params.max_new_tokens or 512
        more = oldest_to_drop(self.backend, system, messages[dropped:], reply, measured)
        return None if more is None else dropped + more

    def drop_oldest(self, count: int) -> None:
        """Leave the ``count`` oldest messages out of what is sent (the user agreed; history keeps them)."""
        self.conversation.dropped = count
        self.measured = None

    # ----- chats -------------------------------------------------------------------------
    def new(self) -> None:
        """An empty conversation with the launch settings (a streaming reply is interrupted)."""
        self._drop_turn()
        self.conversation = Conversation(system=self.settings.system)
        self.measured = None
        self.recorder = ChatRecorder(self.store)
        self.params = self.settings.params
        self.tools = ChatTools()
        self.queued = False
        self.files_of = {}

    def open(
        self, conversation_id: int, *, restore_params: bool = True, at_message: int | None = None
    ) -> OpenedChat | None:
        """Make a saved conversation current on its current branch (or on the newest branch
        through ``at_message``, a search hit); the next prompt continues it. None if it is gone."""
        summary = self.store.get_conversation(conversation_id)
        if summary is None:
            return None
        self._drop_turn()
        if (
            at_message is not None
            and self.synced()
            and at_message not in {m.id for m in self.store.get_path(conversation_id)}
        ):  # a search hit on another branch: show that branch (when history can record it)
            self.store.submit_leaf(conversation_id, self.store.newest_leaf(at_message))
            self.store.flush(SYNC_WAIT_S)
        if restore_params and summary.params:
            self.params = params_from_dict(summary.params)
        self.tools = ChatTools.from_dict(summary.tools)
        self.recorder = ChatRecorder(self.store, conversation_id)
        self.queued = False
        stored = self._load_path(conversation_id, summary.system)
        return OpenedChat(summary, stored, self.files_of)

    # ----- branches ----------------------------------------------------------------------
    def synced(self) -> bool:
        """Whether every history write is saved (they are queued), so the tree can be read as it
        is; False while another instance keeps the database locked past ``SYNC_WAIT_S``."""
        return self.store.flush(SYNC_WAIT_S)

    @property
    def path(self) -> list[StoredMessage]:
        """The saved messages of the branch being shown (read back: each has its id)."""
        if self.conversation_id is None:
            return []
        return self.store.get_path(self.conversation_id)

    def versions(self) -> dict[int, Version]:
        """For each message of the current branch that has siblings, which version it is."""
        if self.conversation_id is None:
            return {}
        tree = self.store.children(self.conversation_id)
        found: dict[int, Version] = {}
        for message in self.path:
            siblings = tree.get(message.parent_id, [])
            if len(siblings) > 1:
                found[message.id] = Version(siblings.index(message.id) + 1, len(siblings))
        return found

    def regenerate(self, message_id: int | None = None) -> Submitted:
        """Answer again the prompt of reply ``message_id`` (default: the last reply); the old reply
        stays as another version. START means: begin the turn."""
        refusal = self._branch_refusal()
        if refusal is not None:
            return refusal
        path = self.path
        replies = [m for m in path if m.role == "assistant" and (message_id is None or m.id == message_id)]
        if not replies:
            return Submitted.EMPTY
        reply = replies[-1]
        if not self._show_branch(reply.parent_id):
            return Submitted.HISTORY
        return Submitted.START if self.conversation.messages else Submitted.EMPTY

    def edit(self, message_id: int, text: str) -> Submitted:
        """Send ``text`` in place of prompt ``message_id`` as a new version; the original branch
        stays. START means: begin the turn."""
        refusal = self._branch_refusal()
        if refusal is not None or not text.strip():
            return refusal or Submitted.EMPTY
        original = next((m for m in self.path if m.id == message_id and m.role == "user"), None)
        if original is None:
            return Submitted.EMPTY
        kept = self.files_of.get(message_id, ())  # the new version keeps the original's files
        self._show_branch(original.parent_id)
        if not len(self.files):
            for attachment in kept:
                self.files.add(loaded_from(attachment))
        return self.submit(text)

    def switch_version(self, message_id: int, step: int) -> bool:
        """Show the previous (-1) or next (+1) version of ``message_id`` and the newest branch
        below it; False when there is none that way."""
        if self.busy or self.conversation_id is None:
            return False
        message = next((m for m in self.path if m.id == message_id), None)
        if message is None:
            return False
        siblings = self.store.children(self.conversation_id).get(message.parent_id, [])
        index = siblings.index(message_id) + step
        if not 0 <= index < len(siblings):
            return False
        return self._show_branch(self.store.newest_leaf(siblings[index]))

    def branch_from(self, message_id: int) -> bool:
        """Continue the chat from reply ``message_id``: the next prompt starts a new branch there."""
        if self.busy or not any(m.id == message_id and m.role == "assistant" for m in self.path):
            return False
        return self._show_branch(message_id)

    def delete_branch(self, message_id: int) -> bool:
        """Delete ``message_id`` and everything below it; the newest remaining branch is shown."""
        if self.busy or self.conversation_id is None or not any(m.id == message_id for m in self.path):
            return False
        self.store.submit_delete_branch(message_id)
        if not self.store.flush(SYNC_WAIT_S):
            return False
        summary = self.store.get_conversation(self.conversation_id)
        self._load_path(self.conversation_id, summary.system if summary else None, keep_dropped=True)
        return True

    def _branch_refusal(self) -> Submitted | None:
        if self.busy:
            return Submitted.BUSY
        if self.backend is None:
            return Submitted.UNAVAILABLE if self.backend_error is not None else Submitted.BUSY
        if self.conversation_id is None:
            return Submitted.EMPTY
        return None

    def _show_branch(self, leaf_id: int | None) -> bool:
        """Make the branch ending at ``leaf_id`` current (None: before the first prompt); False,
        with nothing changed here, when history could not record it (busy, read-only, full): the
        conversation sent must be the branch that is saved and shown."""
        conversation_id = self.conversation_id
        assert conversation_id is not None
        self.store.submit_leaf(conversation_id, leaf_id)
        saved = self.store.get_conversation(conversation_id) if self.store.flush(SYNC_WAIT_S) else None
        if saved is None or saved.leaf_id != leaf_id:
            return False
        self._load_path(conversation_id, self.conversation.system, keep_dropped=True)
        return True

    def _load_path(
        self, conversation_id: int, system: str | None, *, keep_dropped: bool = False
    ) -> list[StoredMessage]:
        """Read the current branch back and make it the conversation the backend sees; on another
        branch of the same chat the oldest messages the user chose to leave out stay left out."""
        stored = self.store.get_path(conversation_id)
        self.measured = None
        self.files_of = self.store.attachments([m.id for m in stored])  # prompts' files, tools' images
        messages = _chat(stored, self.files_of)
        dropped = min(self.conversation.dropped, max(0, len(messages) - 1)) if keep_dropped else 0
        self.conversation = Conversation(
            system=system if system is not None else self.settings.system,
            messages=messages,
            conversation_id=conversation_id,
            dropped=dropped,
        )
        return stored

    def delete(self, conversation_id: int) -> bool:
        """Delete a saved conversation; True if it was the current one (which is then new)."""
        self.store.submit_delete(conversation_id)
        if conversation_id != self.conversation_id:
            return False
        self.new()
        return True

    def apply_settings(self, system: str | None, params: GenerationParams) -> None:
        """This chat's next replies use ``system`` and ``params``; a saved chat keeps them."""
        self.conversation.system = system
        self.params = params
        self.measured = None  # the server's last count was for the old system prompt
        conversation = self.recorder.conversation_ref  # known even while its row is still queued
        if conversation is not None:
            self.store.submit_settings(conversation, system, params.as_dict())

    def set_tools(self, tools: ChatTools) -> None:
        """This chat's tool choice and remembered approvals from now on (a saved chat keeps them)."""
        self.tools = tools
        self._save_tools()

    def _save_tools(self) -> None:
        conversation = self.recorder.conversation_ref
        if conversation is not None:
            self.store.submit_tools(conversation, self.tools.as_dict())

    def rename(self, conversation_id: int, title: str) -> None:
        """Give a saved conversation a new title."""
        self.store.submit_rename(conversation_id, title)

    def _drop_turn(self) -> None:
        """Stop a streaming reply and finish it as cancelled before the chat changes under it."""
        turn = self.turn
        if turn is not None:
            turn.cancel.set()
            self.finish(turn.turn_id, Done("cancelled"))

    def _info(self) -> BackendInfo:
        """The backend's name and model, or the launch settings' while it loads."""
        if self.backend is not None:
            return self.backend.info
        return BackendInfo(self.settings.backend.backend, self.settings.backend.model or "embedded")


def _chat(
    stored: list[StoredMessage], files: dict[int, tuple[Attachment, ...]] | None = None
) -> list[ChatMessage]:
    """Stored messages as the backend sees them (empty replies, such as failed ones, left out),
    prompts with their attached files (the images a reply's tools made stay out)."""
    files = files or {}
    return [
        ChatMessage(
            "user" if m.role == "user" else "assistant",
            m.content,
            attachments=files.get(m.id, ()) if m.role == "user" else (),  # a tool's plot is not resent
        )
        for m in stored
        if m.role in ("user", "assistant") and m.content
    ]


def launch_options(settings: AppSettings) -> dict[str, Any]:
    """How the backend was launched, saved with a new conversation for ``--resume``."""
    return {
        "backend": settings.backend.backend,
        "model": settings.backend.model,
        "base_url": without_credentials(settings.backend.remote.base_url),
    }
