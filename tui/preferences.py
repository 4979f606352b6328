"""Choices made inside the app that should outlive it (the theme picked from the palette).

Kept apart from the config file, which is the user's to edit: writing to it would drop their
comments. Stored as JSON in the user state dir; a missing or broken file means "no choice yet".
"""

from __future__ import annotations

import json
from pathlib import Path

from tui.private_files import private_dir, replace_private_text


def preferences_path() -> Path:
    """``<user state dir>/internlm-tui/preferences.json``."""
    from platformdirs import user_state_path

    return user_state_path("internlm-tui") / "preferences.json"


def remembered_theme(path: Path | None = None) -> str | None:
    """The theme last chosen in the app, if any."""
    try:
        data = json.loads((path or preferences_path()).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    theme = data.get("theme") if isinstance(data, dict) else None
    return theme if isinstance(theme, str) else None


def remember_theme(name: str, path: Path | None = None) -> None:
    """Save the chosen theme (atomically: a crash mid-write keeps the old file)."""
    target = path or preferences_path()
    private_dir(target.parent, tighten_existing=path is None)
    replace_private_text(target, json.dumps({"theme": name}))
