"""Files we write for the user (history, exports, crash reports, copies, preferences) are private.

Chats and crash reports hold private text, so every such file is created 0600 and every folder
we create for them 0700 (security rule 4). A file is created with its final mode from the
start (``os.open`` with 0600), never created readable and tightened afterwards. Where a library
creates the file itself (SQLite's database, ``-wal`` and ``-shm``), ``private_umask`` keeps
what it creates private, and ``tighten`` removes group and other access from files that exist
already (an older version's world-readable database). An owner's own read-only mode is kept.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(folder: Path, *, tighten_existing: bool = False) -> Path:
    """Create ``folder`` and any missing parents as 0700; with ``tighten_existing``, an existing
    ``folder`` loses group and other access too (only for the app's own folders, never a
    folder the user chose, such as the working directory)."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        with suppress(FileExistsError):
            path.mkdir(mode=DIR_MODE)
            os.chmod(path, DIR_MODE)  # mkdir's mode is filtered by the umask
    if tighten_existing and not missing:
        tighten(folder)
    return folder


def tighten(path: Path) -> None:
    """Remove group and other permissions from ``path`` if it exists and is ours (else leave it)."""
    with suppress(OSError):
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, mode & ~0o077)


def _make_private(fd: int) -> None:
    """An existing regular file we are about to overwrite becomes 0600 (a tty or pipe is left alone)."""
    info = os.fstat(fd)
    if stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) != FILE_MODE:
        os.fchmod(fd, FILE_MODE)


def write_private_text(path: Path, text: str, *, new_file: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path``, created 0600 (an existing file is made 0600 too).

    A symbolic link at ``path`` is never followed (someone else's link in a shared folder must
    not make us overwrite its target); with ``new_file`` an existing file is refused too.
    Characters UTF-8 cannot hold (lone surrogates) are written as ``?`` rather than failing.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | (os.O_EXCL if new_file else 0)
    fd = os.open(path, flags, FILE_MODE)
    try:
        _make_private(fd)
    except OSError:
        os.close(fd)
        raise
    with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as handle:
        handle.write(text)
    return path


def replace_private_text(path: Path, text: str) -> Path:
    """Like ``write_private_text`` but atomic: a crash mid-write keeps the old file whole."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write_private_text(temporary, text)
        os.replace(temporary, path)
    finally:
        with suppress(FileNotFoundError):
            temporary.unlink()
    return path


def create_private_file(path: Path) -> None:
    """Create ``path`` empty and 0600 if it does not exist (so a library opening it keeps that mode)."""
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))


@contextmanager
def private_umask() -> Iterator[None]:
    """While inside, files and folders anything in this process creates get no group/other access.

    The umask is process-wide: use it around short start-up steps (opening the database), not
    while other threads create files the user should be able to share.
    """
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)
