"""Walks a folder for documents to index, and says what it skipped and why.

``.gitignore`` files (at any depth) are honoured with ``pathspec``'s git-style matcher; hidden
folders (``.git``, ``.venv``) are not entered. Symbolic links are followed only when they stay
inside the folder, and a folder reached twice (a link loop) is entered once. Nothing here reads
a file's contents: that is ``kb.extract``'s job.
"""

from __future__ import annotations

import os
import re
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

KINDS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdx": "markdown",
    ".txt": "text",
    ".text": "text",
    ".rst": "rst",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}
"""File name endings indexed, and how each is read."""

_SURROGATE = re.compile("[\ud800-\udfff]")

MAX_TEXT_BYTES = 4 * 1024 * 1024
MAX_PDF_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Found:
    """A file to index: its path relative to the folder (with ``/``), kind, size and mtime."""

    path: str
    kind: str
    size: int
    mtime_ns: int


@dataclass
class ScanResult:
    """Every file to index, and how many were skipped for each reason."""

    files: list[Found] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


def _ignore_spec(folder: Path) -> pathspec.GitIgnoreSpec | None:
    try:
        text = (folder / ".gitignore").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(text.splitlines())


def scan(root: Path) -> ScanResult:
    """Every indexable file under ``root`` (which must be a folder), in a stable order."""
    result = ScanResult()
    root = root.resolve()
    seen: set[tuple[int, int]] = set()
    # (folder, its path relative to root, the .gitignore specs above it with their base)
    stack: list[tuple[Path, str, list[tuple[str, pathspec.GitIgnoreSpec]]]] = [(root, "", [])]
    while stack:
        folder, rel, specs = stack.pop()
        try:
            info = folder.stat()
        except OSError:
            result.skipped["folder vanished or unreadable"] += 1
            continue
        if (info.st_dev, info.st_ino) in seen:
            result.skipped["link loop"] += 1
            continue
        seen.add((info.st_dev, info.st_ino))
        spec = _ignore_spec(folder)
        if spec is not None:
            specs = [*specs, (rel, spec)]
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            result.skipped["folder vanished or unreadable"] += 1
            continue
        subfolders = []
        for entry in entries:
            relpath = f"{rel}{entry.name}"
            if _SURROGATE.search(entry.name):  # bytes that are not UTF-8 (cannot be stored or shown)
                result.skipped["name not UTF-8"] += 1
                continue
            try:
                is_link = entry.is_symlink()
                st = entry.stat(follow_symlinks=True)
            except OSError:
                result.skipped["broken link or vanished"] += 1
                continue
            is_dir = stat.S_ISDIR(st.st_mode)
            if _ignored(specs, relpath, is_dir):
                result.skipped["ignored (.gitignore)"] += 1
                continue
            if is_link and not _inside(Path(entry.path), root):
                result.skipped["link outside the folder"] += 1
                continue
            if is_dir:
                if entry.name.startswith("."):
                    result.skipped["hidden folder"] += 1
                else:
                    subfolders.append((Path(entry.path), relpath + "/", specs))
                continue
            if not stat.S_ISREG(st.st_mode):
                result.skipped["not a regular file"] += 1
                continue
            kind = KINDS.get(os.path.splitext(entry.name)[1].lower())
            if entry.name.startswith("."):
                result.skipped["hidden file"] += 1
                continue
            if kind is None:
                result.skipped["unsupported type"] += 1
                continue
            limit = MAX_PDF_BYTES if kind == "pdf" else MAX_TEXT_BYTES
            if st.st_size > limit:
                result.skipped["too large"] += 1
                continue
            result.files.append(Found(relpath, kind, st.st_size, st.st_mtime_ns))
        stack.extend(reversed(subfolders))
    return result


def _ignored(specs: list[tuple[str, pathspec.GitIgnoreSpec]], relpath: str, is_dir: bool) -> bool:
    for base, spec in specs:
        below = relpath[len(base) :] + ("/" if is_dir else "")
        if spec.match_file(below):
            return True
    return False


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a link loop resolving a link
        return False
