"""The app's resolved settings: CLI flags layered over the config file over defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from backends.events import GenerationParams
from backends.options import BackendOptions
from tui.attachments import DEFAULT_MAX_MB, Loaded


@dataclass(frozen=True, slots=True)
class AppSettings:
    """Everything the app needs to start; built by ``tui.cli``."""

    backend: BackendOptions = field(default_factory=BackendOptions)
    params: GenerationParams = field(default_factory=GenerationParams)
    system: str | None = None
    theme: str | None = None
    db_path: Path | None = None
    resume: int | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    clipboard: str = "auto"
    """auto | osc52 | file: how copied text reaches the user (see ``tui.clipboard``)."""
    kb_folders: tuple[Path, ...] = ()
    """Knowledge-base folders attached at start (``--kb``; see ``kb``)."""
    embedding_model: str | None = None
    """The sentence-transformers model for knowledge-base search (None: the packaged default)."""
    auto_approve_from: Path | None = None
    """The config file that sets ``approve = "auto"`` (no ``--approve`` flag): the app asks once
    before honouring it and the agent asks per call until then (see ``tui.approval_policy``)."""
    image_preview: bool = True
    """Draw attached images in the chat (Kitty / Sixel / half-blocks); False: a line of text."""
    max_attachment_mb: float = DEFAULT_MAX_MB
    """The largest file the picker and ``--attach`` accept."""
    attach: tuple[Loaded, ...] = ()
    """``--attach`` files, checked at start-up, attached to the first prompt."""
