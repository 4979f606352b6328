"""The TOML config file: defaults for the command-line flags, a theme and a keymap.

The file's keys are the flags' names (``max_new_tokens`` or ``max-new-tokens``), grouped in the
same sections ``--help`` shows; each value is checked by the flag's own argparse type and
choices, so the file and the command line cannot disagree about what is valid. Flags given on
the command line win over the file. Every problem is one line naming the file and the line.
"""

from __future__ import annotations

import argparse
import os
import re
import tomllib
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any

CONFIG_ENV = "INTERNLM_TUI_CONFIG"

SECTIONS: dict[str, tuple[str, ...]] = {
    "": ("model and backend", "appearance", "history", "images"),
    "generation": ("generation",),
    "remote": ("remote backend",),
    "agent": ("agent backend",),
    "kb": ("knowledge base",),
}
"""Config section -> the ``--help`` groups whose flags it may set ("" is the top level)."""

COMMAND_ONLY = frozenset(
    {"list", "resume", "export", "format", "output", "config", "help", "version", "kb_query", "attach"}
)
"""Flags that ask for one action now; they make no sense as defaults."""


CONSENT_BINDINGS = frozenset(
    {
        "approval.yes",
        "approval.always",
        "approval.no",
        "approval.reason",
        "auto_approve.yes",
        "auto_approve.no",
    }
)
"""Bindings that answer a consent dialog: never on a key that ordinary typing presses, except y / n
(the dialogs' own keys, which count only after a pause in typing)."""

CONSENT_TYPING_KEYS_ALLOWED = frozenset({"y", "n"})

_TYPING_NAMES = frozenset({"enter", "return", "ctrl+m", "ctrl+j", "tab", "ctrl+i", "space", "backspace"})
"""Key names that typing presses besides printable characters (ctrl+m / ctrl+j / ctrl+i are
what a terminal sends for Enter, newline and Tab)."""


def typing_key(key: str) -> bool:
    """Whether Textual key ``key`` is pressed in ordinary typing: Enter, Tab, space, backspace,
    or a printable character (by itself or with shift, by character or Textual's name for it)."""
    key = key.strip()
    if key.lower() in _TYPING_NAMES:
        return True
    *modifiers, base = key.split("+") if len(key) > 1 else [key]
    if any(modifier.lower() != "shift" for modifier in modifiers) or not base:
        return False
    if len(base) == 1:
        return base.isprintable()
    return base.lower() in _printable_key_names()


@cache
def _printable_key_names() -> frozenset[str]:
    """Textual's names for printable punctuation and symbols (``comma``, ``full_stop``, ``plus``),
    computed as ``textual.keys`` does (this module must not import Textual)."""
    replaced = {"solidus": "slash", "reverse_solidus": "backslash", "commercial_at": "at"}
    replaced |= {"hyphen_minus": "minus", "plus_sign": "plus", "low_line": "underscore"}
    names: set[str] = set()
    for code in range(0x20, 0x3100):
        char = chr(code)
        if char.isprintable() and not char.isalnum():
            name = unicodedata.name(char, "").lower().replace("-", "_").replace(" ", "_")
            if name:
                names.add(replaced.get(name, name))
    return frozenset(names)


class ConfigError(Exception):
    """The config file cannot be used; the message is one line naming the file and line."""


@dataclass(frozen=True, slots=True)
class FileConfig:
    """What the config file sets: flag defaults (by argparse dest) and the keymap."""

    path: Path | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
    keymap: dict[str, str] = field(default_factory=dict)


def default_config_path() -> Path:
    """``$INTERNLM_TUI_CONFIG`` or ``<user config dir>/internlm-tui/config.toml``."""
    from platformdirs import user_config_path

    override = os.environ.get(CONFIG_ENV)
    return Path(override).expanduser() if override else user_config_path("internlm-tui") / "config.toml"


def line_of(text: str, section: str, key: str) -> int | None:
    """The line where ``key`` is set inside ``[section]`` ("" is the top level), for messages."""
    current = ""
    pattern = re.compile(rf"""^\s*["']?{re.escape(key)}["']?\s*=""")
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"^\s*\[\s*([^\]]+?)\s*\]", line)
        if header:
            current = header.group(1).strip("\"'")
        elif current == section and pattern.match(line):
            return number
    return None


def _actions_by_section(parser: argparse.ArgumentParser) -> dict[str, dict[str, argparse.Action]]:
    groups = {group.title: group for group in parser._action_groups}  # argparse has no public list
    table: dict[str, dict[str, argparse.Action]] = {}
    for section, titles in SECTIONS.items():
        table[section] = {
            action.dest: action
            for title in titles
            if title in groups
            for action in groups[title]._group_actions
            if action.dest not in COMMAND_ONLY
        }
    return table


def _convert(action: argparse.Action, value: Any) -> Any:
    """Check one value with the flag's own rules; raises ValueError with the reason."""
    if action.nargs == 0:  # store_true flags
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if action.dest == "kb":  # knowledge-base folders: one or a list; --kb flags add to them
        folders = value if isinstance(value, list) else [value]
        if not folders or not all(isinstance(item, str) and item.strip() for item in folders):
            raise ValueError("must be a folder or a list of folders")
        return list(folders)
    if isinstance(value, list) and action.dest == "tools":
        value = ",".join(str(item) for item in value)
    if action.dest == "base_url":  # one URL or a list of them (several servers)
        urls = value if isinstance(value, list) else [value]
        if not urls or not all(isinstance(url, str) and url for url in urls):
            raise ValueError("must be a URL or a list of URLs")
        return list(urls)
    if isinstance(value, bool | dict | list):
        raise ValueError(f"must be a single value, got {value!r}")
    converted = value
    if action.type is not None and callable(action.type):
        try:
            converted = action.type(str(value))
        except (ValueError, argparse.ArgumentTypeError) as exc:
            reason = str(exc) or f"invalid value {value!r}"
            raise ValueError(reason if "must" in reason else f"invalid value {value!r}") from None
    elif not isinstance(value, str):
        raise ValueError(f"must be a string, got {value!r}")
    if action.choices is not None and converted not in action.choices:
        choices = ", ".join(str(choice) for choice in action.choices)
        raise ValueError(f"{converted!r} is not one of: {choices}")
    return converted


def approve_auto_from_file(config: FileConfig, argv: Sequence[str] | None) -> bool:
    """True when ``approve = "auto"`` comes from the config file and no ``--approve`` flag overrides it."""
    if config.defaults.get("approve") != "auto":
        return False
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--approve", default=None)
    known, _ = pre.parse_known_args(argv)
    return known.approve is None


def _check_consent_keys(binding_id: str, keys: str, where: str) -> None:
    if binding_id not in CONSENT_BINDINGS:
        return
    for key in keys.split(","):
        if typing_key(key) and key.strip() not in CONSENT_TYPING_KEYS_ALLOWED:
            raise ConfigError(
                f"{where}: keymap.{binding_id} cannot be {key.strip()!r}: an approval key must not be "
                "Enter, Tab, space or a key pressed in ordinary typing (only y / n are allowed)"
            )


def load_config(path: Path, parser: argparse.ArgumentParser, *, required: bool) -> FileConfig:
    """Read and check the config file; a missing file is fine unless it was named explicitly."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise ConfigError(f"config file {path} does not exist") from None
        return FileConfig()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        if found:
            reason = str(exc)[: found.start()].strip()
            raise ConfigError(f"{path}:{found.group(1)}: {reason} (column {found.group(2)})") from None
        raise ConfigError(f"{path}: {exc}") from None

    def where(section: str, key: str) -> str:
        line = line_of(text, section, key)
        return f"{path}:{line}" if line else str(path)

    actions = _actions_by_section(parser)
    defaults: dict[str, Any] = {}
    keymap: dict[str, str] = {}
    for key, value in data.items():
        if key == "keymap" and isinstance(value, dict):
            for binding_id, keys in value.items():
                if not isinstance(keys, str) or not keys.strip():
                    place = where("keymap", binding_id)
                    raise ConfigError(f"{place}: keymap.{binding_id} must be keys like 'ctrl+x'")
                _check_consent_keys(binding_id, keys, where("keymap", binding_id))
                keymap[binding_id] = keys.strip()
        elif key in actions and key and isinstance(value, dict):
            for name, item in value.items():
                defaults.update(_one(actions, key, name, item, partial(where, key, name)))
        else:
            defaults.update(_one(actions, "", key, value, partial(where, "", key)))
    return FileConfig(path, defaults, keymap)


def _one(
    actions: dict[str, dict[str, argparse.Action]],
    section: str,
    key: str,
    value: Any,
    where: Callable[[], str],
) -> dict[str, Any]:
    dest = key.replace("-", "_")
    action = actions[section].get(dest)
    if action is None:
        home = next((name for name, table in actions.items() if dest in table), None)
        if home is not None:
            place = f"[{home}]" if home else "the top level (before any [section])"
            raise ConfigError(f"{where()}: {key!r} belongs in {place}")
        known = ", ".join(sorted(actions[section]))
        sections = ", ".join(f"[{name}]" for name in actions if name)
        raise ConfigError(
            f"{where()}: unknown setting {key!r}; known here: {known}; sections: {sections}, [keymap]"
        )
    try:
        return {dest: _convert(action, value)}
    except ValueError as exc:
        raise ConfigError(f"{where()}: {key}: {exc}") from None
