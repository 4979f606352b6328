"""The multi-line prompt: Enter sends, ctrl+j inserts a newline."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

from tui.sanitize import sanitize


class PromptInput(TextArea):
    """A TextArea where Enter submits the text instead of inserting a newline."""

    BINDINGS = [
        # Not in the footer (the placeholder says both); F1 lists them.
        Binding("enter", "submit", "Send", show=False, id="prompt.send"),
        Binding("ctrl+j", "newline", "Newline", show=False, id="prompt.newline"),
    ]

    class Submitted(Message):
        """The user pressed Enter; ``text`` is the whole prompt."""

        def __init__(self, prompt: PromptInput, text: str) -> None:
            super().__init__()
            self.prompt = prompt
            self.text = text

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, show_line_numbers=False, tab_behavior="focus")
        self.placeholder = "Ask anything — Enter sends, ctrl+j adds a newline"

    async def _on_key(self, event: events.Key) -> None:
        # TextArea inserts a newline for Enter before bindings run, so our two bindings are
        # looked up here first, through the screen's active bindings (the keymap applied).
        active = self.screen.active_bindings.get(event.key)
        if active is not None and active.node is self and active.binding.action in ("submit", "newline"):
            event.stop()
            event.prevent_default()
            await self.run_action(active.binding.action)
            return
        await super()._on_key(event)

    async def _on_paste(self, event: events.Paste) -> None:
        """Insert pasted text with its control characters (other than newline and tab) made visible.

        TextArea draws what it holds as is, so a pasted escape sequence would otherwise reach the
        terminal; CR LF and CR become newlines. Nothing else of what was pasted is dropped.
        """
        event.prevent_default()
        event.stop()
        if self.read_only:
            return
        text = sanitize(event.text.replace("\r\n", "\n").replace("\r", "\n"))
        result = self.replace(text, *self.selection)
        self.move_cursor(result.end_location)
        self.focus()

    def action_submit(self) -> None:
        """Post the prompt text; the screen decides whether to accept and clear it."""
        self.post_message(self.Submitted(self, self.text))

    def action_newline(self) -> None:
        """Insert a newline at the cursor."""
        self.insert("\n")
