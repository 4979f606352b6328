"""Attached files kept once by content hash, in a private folder beside the history database.

Each file is named by its sha256 (hex) and written 0600 in a 0700 folder, atomically (a
temporary file renamed into place), so two app instances writing the same image both end with
one whole copy. What is read back is checked against its name: a damaged or swapped file is
treated as missing rather than sent to a model. The in-memory store (history not saved) keeps
its files in a dict instead.
"""

from __future__ import annotations

import hashlib
import os
import re
from contextlib import suppress
from pathlib import Path

from tui.private_files import FILE_MODE, private_dir

_HEX = re.compile(r"^[0-9a-f]{64}$")


class BlobFolder:
    """Files by content hash; every method is safe to call from the writer or a reader thread."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        """None: kept in memory (the history is not being saved)."""
        self._memory: dict[str, bytes] = {}

    @staticmethod
    def beside(database: Path) -> Path:
        """The folder of a database's attachments: ``history.sqlite3.files``."""
        return database.with_name(database.name + ".files")

    def path_of(self, sha256: str) -> Path | None:
        """Where the file of ``sha256`` is kept (None in memory or for a malformed hash)."""
        if self.folder is None or not _HEX.match(sha256):
            return None
        return self.folder / sha256

    def put(self, data: bytes) -> str:
        """Keep ``data`` (once) and return its sha256; raises ``OSError`` if the disk refuses."""
        sha = hashlib.sha256(data).hexdigest()
        if self.folder is None:
            self._memory[sha] = data
            return sha
        target = self.folder / sha
        if target.is_file():
            return sha
        private_dir(self.folder, tighten_existing=True)
        temporary = self.folder / f".{sha}.{os.getpid()}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, target)
        finally:
            with suppress(FileNotFoundError):
                temporary.unlink()
        return sha

    def get(self, sha256: str) -> bytes | None:
        """The bytes of ``sha256``, or None when missing or not matching their hash."""
        if self.folder is None:
            return self._memory.get(sha256)
        path = self.path_of(sha256)
        if path is None:
            return None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as handle:
            data = handle.read()
        return data if hashlib.sha256(data).hexdigest() == sha256 else None

    def keep_only(self, referenced: set[str]) -> int:
        """Remove the files no message references any more; returns how many went."""
        if self.folder is None:
            gone = [sha for sha in self._memory if sha not in referenced]
            for sha in gone:
                del self._memory[sha]
            return len(gone)
        removed = 0
        try:
            names = os.listdir(self.folder)
        except OSError:
            return 0
        for name in names:
            if _HEX.match(name) and name not in referenced:
                with suppress(OSError):
                    (self.folder / name).unlink()
                    removed += 1
        return removed
