"""Turns the user's ``--model`` value into a concrete thing to load, validating it early.

Validation happens before the app starts, so a typo gets a one-line error and exit code 2
instead of a loading screen that fails later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from backends.base import BackendConfigError
from backends.local.embedded import (
    EMBEDDED_HUB_ID,
    EMBEDDED_NAME,
    check_gguf_file,
    embedded_gguf_path,
    embedded_installed,
)

SourceKind = Literal["embedded", "folder", "gguf", "hub"]
MODELSCOPE_PREFIX = "modelscope:"
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


@dataclass(frozen=True, slots=True)
class ModelSource:
    """A resolved model: its kind, where it is, and the name shown to the user."""

    kind: SourceKind
    location: str
    label: str
    hub: Literal["hf", "modelscope"] = "hf"
    """Which hub a ``hub`` model comes from (``modelscope:ORG/NAME`` picks ModelScope)."""


def _looks_like_path(value: str) -> bool:
    return value.startswith((".", "/", "~")) or value.endswith(".gguf") or "\\" in value


def resolve_model(value: str | None) -> ModelSource:
    """Resolve ``--model``: None is the embedded model; paths are checked; else a hub id."""
    if value is None:
        if not embedded_installed():  # a plain wheel install: the same model from the hub
            return ModelSource("hub", EMBEDDED_HUB_ID, EMBEDDED_NAME)
        return ModelSource("embedded", str(embedded_gguf_path()), EMBEDDED_NAME)
    if value.startswith(MODELSCOPE_PREFIX):
        repo_id = value.removeprefix(MODELSCOPE_PREFIX)
        if not _HUB_ID.match(repo_id) or "/" not in repo_id:
            raise BackendConfigError(f"{value} is not a ModelScope model id; write modelscope:org/name")
        return ModelSource("hub", repo_id, value, hub="modelscope")
    path = Path(value).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise BackendConfigError(
                f"{value} is a folder but not a model (no config.json); "
                "pass a transformers model folder, a .gguf file, or a hub id"
            )
        return ModelSource("folder", str(path.resolve()), path.resolve().name)
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise BackendConfigError(
                f"{value} is a file but not a .gguf model; pass a model folder, a .gguf file, or a hub id"
            )
        check_gguf_file(path)
        return ModelSource("gguf", str(path.resolve()), path.stem)
    if _looks_like_path(value) or not _HUB_ID.match(value):
        raise BackendConfigError(
            f"model path {value} does not exist; pass a model folder, a .gguf file, or a hub id like org/name"
        )
    return ModelSource("hub", value, value)
