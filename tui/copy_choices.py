"""What the user can copy: the last reply, each code block, each message, newest first.

Code blocks are found with markdown-it (the parser Textual's Markdown widget uses), so what is
offered is exactly what the chat shows as a code block.
"""

from __future__ import annotations

from dataclasses import dataclass

from markdown_it import MarkdownIt

from backends.events import ChatMessage

PREVIEW = 60


@dataclass(frozen=True, slots=True)
class CopyChoice:
    """One thing to copy: a label for the list and the text itself."""

    label: str
    text: str


def _preview(text: str) -> str:
    lines = (line.strip() for line in text.splitlines())
    line = next((line for line in lines if line and not line.startswith(("```", "~~~"))), "")
    return line if len(line) <= PREVIEW else line[: PREVIEW - 1] + "…"


def code_blocks(markdown: str) -> list[tuple[str, str]]:
    """(language, code) of every fenced or indented code block in ``markdown``."""
    tokens = MarkdownIt("commonmark").parse(markdown)
    return [
        (token.info.strip().split(" ")[0] if token.info else "", token.content)
        for token in tokens
        if token.type in ("fence", "code_block")
    ]


def copy_choices(messages: list[ChatMessage]) -> list[CopyChoice]:
    """Newest first: the last reply, then code blocks and messages from the end backwards."""
    choices: list[CopyChoice] = []
    replies = [m for m in messages if m.role == "assistant" and m.content]
    last_reply = replies[-1] if replies else None
    if last_reply is not None:
        choices.append(CopyChoice(f"Last reply — {_preview(last_reply.content)}", last_reply.content))
    for message in reversed(messages):
        if not message.content or message.role not in ("user", "assistant"):
            continue
        if message.role == "assistant":
            for language, code in reversed(code_blocks(message.content)):
                choices.append(CopyChoice(f"Code {language or 'block'} — {_preview(code)}", code))
        if message is last_reply:
            continue  # already first in the list
        who = "Your prompt" if message.role == "user" else "Reply"
        choices.append(CopyChoice(f"{who} — {_preview(message.content)}", message.content))
    return choices
