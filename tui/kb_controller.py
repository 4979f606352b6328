"""The chat screen's knowledge-base part: attach folders, index them in a worker, show sources.

Retrieval itself is ``ChatSession.ground`` (no Textual); this controller owns what is Textual:
the indexing worker and its progress messages, the sources step in the trace panel, the
sources line under a grounded reply, the sources screen and the Knowledge base screen. The
embedding model is created here but loaded on first use, in a worker thread.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from kb.errors import KbError
from tui.messages import KbIndexed, KbProgress, SourcesFound
from tui.sanitize import one_line
from tui.screens.kb_sources import SourcesScreen
from tui.screens.knowledge_base import KbChoice, KnowledgeBaseScreen
from tui.session import ChatSession, Turn
from tui.widgets.kb_progress import KbProgressBar
from tui.widgets.trace_panel import TracePanel

if TYPE_CHECKING:
    from kb.embed import Embedder
    from kb.hit import Hit
    from kb.knowledge import KnowledgeSet
    from tui.screens.chat import ChatScreen

PROGRESS_EVERY_S = 0.1
"""At most ten progress messages a second reach the UI thread."""


def make_embedder(model: str | None) -> Embedder:
    """The embedding model for ``--embedding-model`` (not loaded yet: that happens in a worker)."""
    from kb.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model)


class KbController:
    """Knowledge base of one chat screen (see the module docstring)."""

    def __init__(self, screen: ChatScreen, session: ChatSession) -> None:
        self.screen = screen
        self.session = session
        self.last_sources: list[Hit] = []
        self.last_reply = ""
        self.cancel = threading.Event()
        """Set when the app exits: indexing stops at the next file batch or embedding batch
        (the worker's thread would otherwise keep the process alive until it finished)."""

    # ----- folders -------------------------------------------------------------------------
    def _knowledge(self) -> KnowledgeSet:
        if self.session.knowledge is None:
            from kb.knowledge import KnowledgeSet

            self.session.knowledge = KnowledgeSet(make_embedder(self.screen.settings.embedding_model))
        return self.session.knowledge

    def start(self) -> None:
        """Attach the ``--kb`` folders and index them in the background."""
        folders = self.screen.settings.kb_folders
        if folders:
            self.attach(folders)

    def attach(self, folders: tuple[Path, ...]) -> None:
        """Attach folders (a bad one is one notification) and index them."""
        knowledge = self._knowledge()
        for folder in folders:
            try:
                knowledge.add(folder)
            except KbError as exc:
                self.screen.notify(one_line(str(exc)), severity="error")
        self.index()

    def index(self) -> None:
        """Bring every attached folder's index up to date in a worker thread."""
        knowledge = self.session.knowledge
        if not knowledge:
            return
        self.screen.query_one(KbProgressBar).show("scan", 0, 0)
        self.screen.run_worker(
            lambda: self._index(knowledge), thread=True, group="kb-index", exclusive=True, exit_on_error=False
        )

    def _index(self, knowledge: KnowledgeSet) -> None:
        """Worker thread: index, posting throttled progress; never touches a widget."""
        last = 0.0

        def progress(stage: str, done: int, total: int) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= PROGRESS_EVERY_S or done == total:
                last = now
                self.screen.post_message(KbProgress(stage, done, total))

        try:
            knowledge.update(progress, self.cancel)
        except Exception as exc:  # a vanished folder, an unwritable index: say so, keep chatting
            self.screen.post_message(KbIndexed(f"knowledge base: {exc}"))
        else:
            self.screen.post_message(KbIndexed())

    def shutdown(self) -> None:
        """Stop indexing (the app is exiting)."""
        self.cancel.set()

    def on_progress(self, message: KbProgress) -> None:
        self.screen.query_one(KbProgressBar).show(message.stage, message.done, message.total)

    def on_indexed(self, message: KbIndexed) -> None:
        self.screen.query_one(KbProgressBar).hide()
        knowledge = self.session.knowledge
        if message.error:
            self.screen.notify(one_line(message.error), severity="error")
        elif knowledge:
            statuses = knowledge.statuses()
            files = sum(s.files for s in statuses)
            chunks = sum(s.chunks for s in statuses)
            skipped = sum(sum(s.skipped.values()) for s in statuses)
            errors = [s.embedding_error for s in statuses if s.embedding_error]
            note = f"Knowledge base ready: {files} files, {chunks} passages, {skipped} skipped"
            self.screen.notify(one_line(note + (f" · ⚠ {errors[0]}" if errors else "")))

    # ----- turns -------------------------------------------------------------------------------
    def ground(self, turn: Turn) -> None:
        """Worker thread of a turn: retrieve and tell the screen what was found."""
        hits = self.session.ground(turn)
        if hits:
            self.screen.post_message(SourcesFound(turn.turn_id, hits))

    async def on_sources_found(self, message: SourcesFound) -> None:
        if self.session.current(message.turn_id) is None:
            return
        await self.screen.query_one(TracePanel).add_sources(message.hits)

    def footer(self, turn: Turn) -> str:
        """The sources line under a finished grounded reply ("" without sources)."""
        if not turn.sources:
            return ""
        from kb.grounding import footer

        self.last_sources, self.last_reply = list(turn.sources), turn.text
        return footer(turn.text, turn.sources)

    # ----- screens -----------------------------------------------------------------------------
    def open_sources(self) -> None:
        """Show the last grounded reply's sources with their passages."""
        if not self.last_sources:
            self.screen.notify("No sources yet: attach a folder (Knowledge base) and ask a question")
            return
        from kb.grounding import cited

        self.screen.app.push_screen(
            SourcesScreen(self.last_sources, cited(self.last_reply, len(self.last_sources)))
        )

    def open_manager(self) -> None:
        """The Knowledge base screen: status of every folder; add, remove, re-index."""
        knowledge = self.session.knowledge
        statuses = knowledge.statuses() if knowledge else []
        indexing = bool(knowledge) and knowledge is not None and knowledge.indexing

        def chosen(choice: KbChoice | None) -> None:
            if choice is None:
                return
            if choice.action == "add":
                folder = Path(choice.folder).expanduser()
                if not folder.is_dir():
                    self.screen.notify(one_line(f"{choice.folder} is not a folder"), severity="error")
                    return
                self.attach((folder,))
            elif choice.action == "remove" and self.session.knowledge is not None:
                if self.session.knowledge.indexing:
                    self.screen.notify(
                        "Still indexing: remove the folder when it is done", severity="warning"
                    )
                    return
                self.session.knowledge.remove(Path(choice.folder))
                self.screen.notify(one_line(f"Removed {choice.folder} (its index is kept)"))
            else:
                self.index()

        self.screen.app.push_screen(KnowledgeBaseScreen(statuses, indexing), chosen)
