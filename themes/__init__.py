"""Colour themes as TOML data files: the bundled ones in this folder and the user's own.

A theme file holds the fields of Textual's ``Theme`` (``primary``, ``background``, ``dark``, …)
and an optional ``[variables]`` table; colours are anything Textual parses, including the
``ansi_*`` names. A user theme in the config folder's ``themes/`` with the name of a bundled one
replaces it. A broken user file is reported in one line and skipped, never fatal.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import BUILTIN_THEMES, Theme

BUNDLED_DIR = Path(__file__).resolve().parent
DEFAULT_THEME = "internlm-dark"
BASIC_TERMINAL_THEME = "internlm-ansi"
"""Used when the terminal reports only 16 colours (TERM=linux, TERM=screen) and none was chosen."""

_COLOUR_FIELDS = (
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
_ALLOWED = {f.name for f in fields(Theme)}


class ThemeError(ValueError):
    """A theme file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class ThemeCatalog:
    """Every theme the app can show, and one line per user file that could not be loaded."""

    themes: dict[str, Theme]
    problems: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        """Our themes first (bundled and user), then Textual's own."""
        ours = sorted(name for name in self.themes if name not in BUILTIN_THEMES)
        return ours + sorted(name for name in self.themes if name in BUILTIN_THEMES)


def _check_colour(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ThemeError(f"{path}: {key} must be a colour string, got {value!r}")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeError(f"{path}: {key} = {value!r} is not a colour") from None
    return value


def load_theme(path: Path) -> Theme:
    """Read one theme file; raises ``ThemeError`` with a one-line reason."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ThemeError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ThemeError(f"{path}: {exc}") from None
    unknown = sorted(set(data) - _ALLOWED)
    if unknown:
        raise ThemeError(f"{path}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(_ALLOWED))}")
    name = data.get("name") or path.stem
    if not isinstance(name, str) or not name.strip():
        raise ThemeError(f"{path}: name must be a non-empty string")
    if "primary" not in data:
        raise ThemeError(f"{path}: primary colour is required")
    for key in _COLOUR_FIELDS:
        if key in data:
            _check_colour(path, key, data[key])
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ThemeError(f"{path}: [variables] must be a table")
    for key, value in variables.items():
        _check_colour(path, f"variables.{key}", value)
    for key in ("dark", "ansi"):
        if key in data and not isinstance(data[key], bool):
            raise ThemeError(f"{path}: {key} must be true or false")
    for key in ("luminosity_spread", "text_alpha"):
        if key in data and not isinstance(data[key], int | float):
            raise ThemeError(f"{path}: {key} must be a number")
    return Theme(**{**data, "name": name.strip()})


def user_theme_dir() -> Path:
    """Where users put their own theme files: ``<config dir>/internlm-tui/themes``."""
    from platformdirs import user_config_path

    return user_config_path("internlm-tui") / "themes"


def load_catalog(user_dir: Path | None = None) -> ThemeCatalog:
    """Textual's themes, ours, then the user's (which win on a name clash)."""
    themes: dict[str, Theme] = dict(BUILTIN_THEMES)
    for path in sorted(BUNDLED_DIR.glob("*.toml")):
        theme = load_theme(path)  # a broken bundled theme is our bug: let the tests catch it
        themes[theme.name] = theme
    problems: list[str] = []
    folder = user_dir if user_dir is not None else user_theme_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.toml")):
            try:
                theme = load_theme(path)
            except ThemeError as exc:
                problems.append(f"theme skipped: {exc}")
                continue
            themes[theme.name] = theme
    return ThemeCatalog(themes, tuple(problems))
