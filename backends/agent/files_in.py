"""The user's attached files, put into the Python tool's working folder for the runs of a chat.

Files arrive as ``ChatMessage.attachments`` on user messages. Each becomes a copy in the run's
private folder under a plain base name (``files_out.safe_file_name``: no folders, no ``..``,
no leading dot, ``[A-Za-z0-9._-]`` only; a clash gets ``-2``, never an overwrite), the
sandbox mounts them read-only beside ``main.py``, and the model is told their names. Sizes are
capped per file and in total; what is left out is said in the same note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from backends.agent.files_out import safe_file_name
from backends.events import Attachment, ChatMessage

MAX_INPUT_BYTES = 16 * 1024 * 1024
MAX_INPUTS_TOTAL = 64 * 1024 * 1024
MAX_INPUTS = 32
RESERVED = frozenset({"main.py"})


def gather_inputs(messages: Sequence[ChatMessage]) -> tuple[tuple[Attachment, ...], tuple[str, ...]]:
    """The files of the chat's user messages as the sandbox will hold them (renamed safely),
    and one note per file left out."""
    kept: list[Attachment] = []
    notes: list[str] = []
    taken: set[str] = set(RESERVED)
    total = 0
    seen: set[str] = set()
    for message in messages:
        if message.role != "user":
            continue
        for item in message.attachments:
            if item.sha256 in seen:
                continue  # the same file attached twice is one copy
            seen.add(item.sha256)
            size = len(item.data)
            if len(kept) >= MAX_INPUTS:
                notes.append(f"{safe_file_name(item.name, set())}: left out (at most {MAX_INPUTS} files)")
            elif size > MAX_INPUT_BYTES or total + size > MAX_INPUTS_TOTAL:
                notes.append(f"{safe_file_name(item.name, set())}: left out (too large)")
            else:
                total += size
                kept.append(replace(item, name=safe_file_name(item.name, taken)))
    return tuple(kept), tuple(notes)


def describe_inputs(inputs: Sequence[Attachment], notes: Sequence[str]) -> str:
    """The note the model gets about the files (empty when there are none)."""
    if not inputs and not notes:
        return ""
    listed = ", ".join(f"{item.name} ({_size(len(item.data))})" for item in inputs)
    text = (
        f"[Files in the Python tool's working folder (open them by these names): {listed}]" if inputs else ""
    )
    if notes:
        text += ("\n" if text else "") + "[" + "; ".join(notes) + "]"
    return text


def with_inputs_note(messages: Sequence[ChatMessage], note: str) -> list[ChatMessage]:
    """``messages`` with ``note`` added to the last user message (all protocols read that)."""
    result = list(messages)
    if not note:
        return result
    for index in range(len(result) - 1, -1, -1):
        if result[index].role == "user":
            result[index] = replace(result[index], content=f"{result[index].content}\n\n{note}")
            break
    return result


def _size(count: int) -> str:
    return (
        f"{count} B"
        if count < 1024
        else f"{count / 1024:.0f} KB"
        if count < 1 << 20
        else f"{count / (1 << 20):.1f} MB"
    )
