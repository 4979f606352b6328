"""The conversation list: newest first, grouped by day, with full-text search.

Keys while it has focus: Enter opens, r renames, d deletes (asks first), / searches,
Esc goes back to the prompt. Choosing a search hit opens that conversation at the matching
message. It follows the terminal width: shown beside the chat when wide, hidden when narrow,
and then opened over the chat instead of squeezing it.
"""

from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.sanitize import sanitize
from tui.store.store import ConversationSummary, HistoryStore, SearchHit

AUTO_SHOW_WIDTH = 120
"""At least this many columns: the sidebar shows itself beside the chat."""

OVERLAY_WIDTH = 100
"""Fewer columns than this: the sidebar hides itself and opens over the chat."""


def day_label(timestamp: float, today: dt.date | None = None) -> str:
    """Today, Yesterday, or the date."""
    today = today or dt.date.today()
    day = dt.datetime.fromtimestamp(timestamp).date()
    if day == today:
        return "Today"
    if day == today - dt.timedelta(days=1):
        return "Yesterday"
    return day.isoformat()


class HistorySidebar(Vertical):
    """Lists saved conversations and search hits; posts ``Open`` when one is chosen."""

    BINDINGS = [
        Binding("r", "rename", "Rename", id="history.rename"),
        Binding("d,delete", "delete", "Delete", id="history.delete"),
        Binding("slash", "search", "Search", id="history.search"),
        Binding("escape", "leave", "Back", id="history.leave"),
    ]

    class Leave(Message):
        """The user is done with the sidebar (Esc): focus goes back to the prompt."""

    class Open(Message):
        """Open ``conversation_id``, scrolled to ``message_id`` when given."""

        def __init__(self, conversation_id: int, message_id: int | None = None) -> None:
            super().__init__()
            self.conversation_id = conversation_id
            self.message_id = message_id

    class Rename(Message):
        """The user wants to rename a conversation."""

        def __init__(self, conversation_id: int, title: str) -> None:
            super().__init__()
            self.conversation_id = conversation_id
            self.title = title

    class Delete(Message):
        """The user wants to delete a conversation."""

        def __init__(self, conversation_id: int, title: str) -> None:
            super().__init__()
            self.conversation_id = conversation_id
            self.title = title

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store: HistoryStore | None = None
        self._titles: dict[int, str] = {}
        self._width: int | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text("History"), classes="panel-title")
        yield Input(placeholder="/ search all chats", id="history-search")
        yield OptionList(id="history-list")

    @property
    def shown(self) -> bool:
        """True while the sidebar is displayed."""
        return self.has_class("visible")

    @property
    def overlay(self) -> bool:
        """True when the terminal is narrow and the sidebar floats over the chat."""
        return self.has_class("overlay")

    def fit_width(self, width: int) -> None:
        """Follow the terminal width: show when it grows wide, hide when it becomes narrow."""
        previous, self._width = self._width, width
        self.set_class(width < OVERLAY_WIDTH, "overlay")
        if previous is None:
            self.set_class(width >= AUTO_SHOW_WIDTH, "visible")
        elif previous >= OVERLAY_WIDTH > width:
            self.remove_class("visible")
        elif previous < AUTO_SHOW_WIDTH <= width:
            self.add_class("visible")

    def show(self) -> None:
        """Display the sidebar and put the cursor in the list (on the newest chat if it was nowhere)."""
        self.add_class("visible")
        options = self.option_list
        if options.highlighted is None:
            first = next(
                (i for i in range(options.option_count) if not options.get_option_at_index(i).disabled), None
            )
            options.highlighted = first
        options.focus()

    def hide(self) -> None:
        """Stop displaying the sidebar."""
        self.remove_class("visible")

    @property
    def option_list(self) -> OptionList:
        return self.query_one("#history-list", OptionList)

    def load(self, store: HistoryStore, current: int | None = None) -> None:
        """(Re)fill the list from ``store``; highlight ``current``."""
        self.store = store
        query = self.query_one("#history-search", Input).value.strip()
        if query:
            self._show_hits(store.search(query))
        else:
            self._show_conversations(store.list_conversations(), current)

    def _show_conversations(self, conversations: list[ConversationSummary], current: int | None) -> None:
        options = self.option_list
        options.clear_options()
        self._titles = {c.id: c.title for c in conversations}
        last_day = None
        items: list[Option | None] = []
        highlight = None
        for conversation in conversations:
            day = day_label(conversation.updated_at)
            if day != last_day:
                items.append(Option(Text(day, style="bold"), disabled=True))
                last_day = day
            if conversation.id == current:
                highlight = len(items)
            items.append(
                Option(
                    Text(sanitize(conversation.title), no_wrap=True, overflow="ellipsis"),
                    id=f"c{conversation.id}",
                )
            )
        if not items:
            items.append(Option(Text("No saved chats yet"), disabled=True))
        options.add_options(items)
        if highlight is not None:
            options.highlighted = highlight

    def _show_hits(self, hits: list[SearchHit]) -> None:
        options = self.option_list
        options.clear_options()
        items: list[Option | None] = []
        for hit in hits:
            label = Text(sanitize(hit.title), style="bold", no_wrap=True, overflow="ellipsis")
            label.append("\n")
            label.append(Text(sanitize(hit.snippet), no_wrap=True, overflow="ellipsis"))
            items.append(Option(label, id=f"m{hit.conversation_id}:{hit.message_id}"))
            self._titles.setdefault(hit.conversation_id, hit.title)
        if not items:
            items.append(Option(Text("No matches"), disabled=True))
        options.add_options(items)
        if hits:
            options.highlighted = 0

    @on(Input.Changed, "#history-search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self.store is not None:
            self.load(self.store)

    @on(Input.Submitted, "#history-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.option_list.focus()

    @on(OptionList.OptionSelected, "#history-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        option_id = event.option.id or ""
        if option_id.startswith("c"):
            self.post_message(self.Open(int(option_id[1:])))
        elif option_id.startswith("m"):
            conversation, _, message = option_id[1:].partition(":")
            self.post_message(self.Open(int(conversation), int(message)))

    def highlighted_conversation(self) -> int | None:
        """The conversation under the cursor (from a conversation row or a search hit)."""
        index = self.option_list.highlighted
        if index is None:
            return None
        option_id = self.option_list.get_option_at_index(index).id or ""
        if option_id.startswith("c"):
            return int(option_id[1:])
        if option_id.startswith("m"):
            return int(option_id[1:].partition(":")[0])
        return None

    def action_rename(self) -> None:
        """Rename the highlighted conversation."""
        conversation = self.highlighted_conversation()
        if conversation is not None:
            self.post_message(self.Rename(conversation, self._titles.get(conversation, "")))

    def action_delete(self) -> None:
        """Delete the highlighted conversation (the screen asks first)."""
        conversation = self.highlighted_conversation()
        if conversation is not None:
            self.post_message(self.Delete(conversation, self._titles.get(conversation, "")))

    def action_search(self) -> None:
        """Show the sidebar and put the cursor in the search box."""
        self.add_class("visible")
        self.query_one("#history-search", Input).focus()

    def action_leave(self) -> None:
        """Back to the prompt (the screen decides whether the sidebar stays open)."""
        self.post_message(self.Leave())
