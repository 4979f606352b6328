"""Where exports go (the current directory if writable, else the user data dir), written 0600."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tui.private_files import private_dir, write_private_text
from tui.store.export import ExportFormat


def export_dir() -> Path:
    """The working directory when writable (where a shell user looks), else the data dir."""
    cwd = Path.cwd()
    if os.access(cwd, os.W_OK):
        return cwd
    from platformdirs import user_data_path

    return private_dir(user_data_path("internlm-tui") / "exports", tighten_existing=True)


def export_paths(conversation_id: int) -> list[tuple[ExportFormat, Path]]:
    """One Markdown and one JSON file name for a conversation, stamped with the time."""
    stem = f"internlm-tui-chat-{conversation_id}-{time.strftime('%Y%m%d-%H%M%S')}"
    folder = export_dir()
    return [("md", folder / f"{stem}.md"), ("json", folder / f"{stem}.json")]


def write_export(path: Path, text: str) -> None:
    """Write one export, readable by this user only (a chat is private), as a new file: the name
    is predictable, so in a shared folder a file or link planted there is refused, not written."""
    write_private_text(path, text, new_file=True)
