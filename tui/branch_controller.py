"""What the chat screen does for branches: regenerate, edit, versions, branch here, delete.

The session (``tui.session``) changes the conversation tree; this controller picks the message
the user means (the one under the chat pane's cursor, else the newest that fits), asks before
deleting, keeps the prompt in "editing" mode while an edited prompt is written, and has the
history controller draw the branch that results. Only the screen calls it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui.history_view import version_label
from tui.sanitize import sanitize
from tui.screens.confirm import ConfirmScreen
from tui.session import ChatSession, Submitted
from tui.widgets.assistant_message import AssistantMessage
from tui.widgets.prompt_input import PromptInput
from tui.widgets.user_message import UserMessage

if TYPE_CHECKING:
    from tui.screens.chat import ChatScreen

EDITING = "editing a prompt: Enter sends it as a new version (the old one stays), Esc cancels"


class BranchController:
    """Branch actions of one ``ChatScreen``."""

    def __init__(self, screen: ChatScreen, session: ChatSession) -> None:
        self.screen = screen
        self.session = session
        self.editing: int | None = None
        """The id of the prompt being edited in the prompt box (None when not editing)."""
        self._original = ""
        """That prompt as stored: sent as it was if the box still shows it untouched."""

    # ----- choosing the message -------------------------------------------------------------
    def message_id(self, widget: UserMessage | AssistantMessage) -> int | None:
        """The stored id of a drawn message: known for a reopened one, else read from the row it
        was queued as (None while that write waits behind another instance's lock)."""
        if widget.message_id is None:
            widget.message_id = self.session.stored_id(widget.row)
        return widget.message_id

    def reply_label(self, reply: AssistantMessage, model: str) -> str:
        """``‹ 3/3 › · model`` for a reply that just finished: which version it is, who wrote it."""
        label = version_label(self.session.versions().get(self.message_id(reply) or -1))
        return " · ".join(part for part in (label, model) if part)

    def _target(self, role: str) -> int | None:
        """The selected message if it has ``role``, else the newest message of the branch with it."""
        selected = self.screen.chat_pane.selected
        kind = UserMessage if role == "user" else AssistantMessage
        if isinstance(selected, kind):
            return self.message_id(selected)
        return next((m.id for m in reversed(self.session.path) if m.role == role), None)

    def _refuse(self, outcome: Submitted, what: str) -> bool:
        """Say why ``what`` cannot happen now; True if it cannot."""
        if outcome is Submitted.BUSY:
            self.screen.notify(f"A reply is still streaming — Esc stops it, then {what}.", markup=False)
        elif outcome is Submitted.UNAVAILABLE:
            self.screen.notify("The backend is not available.", severity="warning", markup=False)
        elif outcome is Submitted.EMPTY:
            self.screen.notify(f"Nothing to {what} yet.", markup=False)
        elif outcome is Submitted.HISTORY:
            self.screen.notify(
                "History could not record the new branch, so nothing was sent; try again.", markup=False
            )
        return outcome is not Submitted.START and outcome is not Submitted.QUEUED

    def _unsaved(self) -> bool:
        """History is off (full or read-only disk) or busy: there is no tree to branch in now."""
        if self.session.store.warning:
            self.screen.notify("History is not being saved, so branching is off.", markup=False)
            return True
        if not self.session.synced():
            self.screen.notify(
                "History is busy (another internlm-tui is writing to it); try again in a moment.",
                markup=False,
            )
            return True
        if self.session.conversation_id is not None and self.session.path:
            return False
        if self.session.store.warning:
            self.screen.notify("History is not being saved, so replies have no versions.", markup=False)
            return True
        return False

    # ----- actions ---------------------------------------------------------------------------
    async def regenerate(self, message_id: int | None = None) -> None:
        """Answer the prompt of a reply again; the old reply stays as another version."""
        if self._unsaved():
            return
        target = message_id if message_id is not None else self._target("assistant")
        if target is None:
            self.screen.notify("There is no reply to regenerate yet.", markup=False)
            return

        async def go() -> None:
            if self._refuse(self.session.regenerate(target), "regenerate"):
                return
            await self.screen.history.redraw()
            await self.screen.start_turn()

        await self.screen.fit_then(self.session.plan_regenerate(target), go)

    def begin_edit(self, message_id: int | None = None) -> None:
        """Put a prompt in the prompt box; sending it makes a new version from that point."""
        if self._unsaved():
            return
        target = message_id if message_id is not None else self._target("user")
        stored = next((m for m in self.session.path if m.id == target and m.role == "user"), None)
        if stored is None:
            self.screen.notify("Only your prompts can be edited (r regenerates a reply).", markup=False)
            return
        if self.session.busy:
            self.screen.notify("A reply is still streaming — Esc stops it, then edit.", markup=False)
            return
        prompt = self.screen.query_one(PromptInput)
        prompt.text = sanitize(stored.content)  # history is outside text: never raw to the terminal
        prompt.move_cursor(prompt.document.end)
        prompt.focus()
        self.editing = stored.id
        self._original = stored.content
        self.screen.status.state = EDITING
        self.screen.refresh_bindings()

    def cancel_edit(self) -> bool:
        """Leave editing mode (the prompt box keeps the text); True if there was an edit."""
        if self.editing is None:
            return False
        self.editing = None
        self.screen.status.state = "ready"
        self.screen.refresh_bindings()
        return True

    async def send_edit(self, text: str, prompt: PromptInput) -> None:
        """Send the edited prompt as a new version (the prompt box is cleared once it is sent)."""
        target = self.editing
        assert target is not None
        if text == sanitize(self._original):  # control characters shown as placeholders, unedited
            text = self._original

        async def go() -> None:
            if self.editing != target or self._refuse(self.session.edit(target, text), "edit"):
                return
            self.editing = None
            prompt.clear()
            await self.screen.history.redraw()
            await self.screen.start_turn()

        await self.screen.fit_then(self.session.plan_edit(target, text), go)

    async def switch_version(self, step: int, message_id: int | None = None) -> None:
        """Show the previous (-1) or next (+1) version of a message; the rest follows that branch."""
        if self._unsaved():
            return
        path = self.session.path
        versions = self.session.versions()
        selected = self.screen.chat_pane.selected
        if message_id is None and selected is not None:
            message_id = self.message_id(selected)
        if message_id is None:  # the newest message that has versions
            message_id = next((m.id for m in reversed(path) if m.id in versions), None)
        if message_id is None or message_id not in versions:
            self.screen.notify("This message has no other versions.", markup=False)
            return
        position = next(i for i, m in enumerate(path) if m.id == message_id)
        if not self.session.switch_version(message_id, step):
            if self.session.busy:
                self.screen.notify("A reply is still streaming — Esc stops it first.", markup=False)
            else:
                self.screen.notify("No " + ("older" if step < 0 else "newer") + " version.", markup=False)
            return
        await self.screen.history.redraw(select_index=position)

    async def branch_here(self, message_id: int) -> None:
        """The next prompt continues from this reply, as a new branch."""
        if self._unsaved():
            return
        if not self.session.branch_from(message_id):
            self.screen.notify("Branching starts from a reply, when none is streaming.", markup=False)
            return
        await self.screen.history.redraw()
        self.screen.query_one(PromptInput).focus()
        self.screen.notify("The next prompt starts a new branch from this reply.", markup=False)

    def delete(self, message_id: int) -> None:
        """Ask (default No), then delete this message and everything after it on its branch."""
        count = len(self.session.path) - next(
            (i for i, m in enumerate(self.session.path) if m.id == message_id), len(self.session.path)
        )

        async def confirmed(yes: bool | None) -> None:
            if yes and not self._unsaved() and self.session.delete_branch(message_id):
                await self.screen.history.redraw()
                self.screen.history.refresh()

        question = f"Delete this message and the {count - 1} after it on this branch? Other branches stay."
        self.screen.app.push_screen(ConfirmScreen(question), confirmed)

    async def act(self, action: str, widget: UserMessage | AssistantMessage) -> None:
        """An action chosen on the message under the chat pane's cursor."""
        message_id = self.message_id(widget)
        if action == "copy":
            text = widget.raw_text if isinstance(widget, UserMessage) else widget.text
            self.screen.copy_text(text, "Message")
            return
        if message_id is None:
            self.screen.notify("This message is not saved yet, so it has no versions.", markup=False)
            return
        if action == "edit":
            self.begin_edit(message_id)
        elif action == "regenerate":
            if isinstance(widget, AssistantMessage):
                await self.regenerate(message_id)
            else:
                self.screen.notify("Choose a reply to regenerate (e edits a prompt).", markup=False)
        elif action in ("previous_version", "next_version"):
            await self.switch_version(-1 if action == "previous_version" else 1, message_id)
        elif action == "branch":
            await self.branch_here(message_id)
        elif action == "delete":
            if self.session.busy:
                self.screen.notify("A reply is still streaming — Esc stops it first.", markup=False)
            else:
                self.delete(message_id)
