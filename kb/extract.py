"""Reads one file into text whose lines match the file's own lines (so hits can cite them).

Markdown, text and reST are read as UTF-8. HTML is parsed with the standard library's
``html.parser`` (lenient, no dependency) and each piece of text stays on the line it came from,
with headings written as Markdown headings so the chunker can follow them. PDFs are read with
``pypdf``; their "lines" are those of the extracted text, pages separated by a blank line.

Every way a file can fail to read is a ``Skipped`` with a short reason, never a crash.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from kb.scan import MAX_PDF_BYTES


class Skipped(Exception):
    """The file cannot be indexed; ``str(exc)`` is the reason, counted in the status."""


@dataclass(frozen=True, slots=True)
class Extracted:
    """A file's text (lines as in the file), the SHA-256 of its bytes, and its size and mtime."""

    text: str
    sha256: str
    size: int
    mtime_ns: int


def read_bytes(path: Path, limit: int = MAX_PDF_BYTES) -> tuple[bytes, int, int]:
    """The file's bytes with the size and mtime they were read at; a file that changed while
    being read (size or mtime differ before and after) is skipped, to be read next time.

    What was opened is checked again (the scan saw the path a moment earlier): anything but a
    regular file, or one over ``limit`` bytes, is skipped without reading more than ``limit``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except PermissionError as exc:
        raise Skipped("permission denied") from exc
    except OSError as exc:
        if os.path.islink(path):
            raise Skipped("link") from exc
        raise Skipped("vanished or unreadable") from exc
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise Skipped("not a regular file")
        if before.st_size > limit:
            raise Skipped("too large")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1) or b""
        after = os.fstat(fd)
    except OSError as exc:
        raise Skipped("unreadable") from exc
    finally:
        os.close(fd)
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns) or len(
        data
    ) != after.st_size:
        raise Skipped("changed while reading")
    return data, after.st_size, after.st_mtime_ns


def sha256(data: bytes) -> str:
    """The hex SHA-256 of ``data`` (how a touched but unchanged file is recognised)."""
    return hashlib.sha256(data).hexdigest()


def extract(path: Path, kind: str, data: bytes | None = None) -> Extracted:
    """Read ``path`` (of ``kind``, see ``kb.scan.KINDS``) into text; raises ``Skipped``."""
    if data is None:
        data, size, mtime_ns = read_bytes(path)
    else:
        st = path.stat()
        size, mtime_ns = st.st_size, st.st_mtime_ns
    digest = sha256(data)
    if kind == "pdf":
        text = _pdf_text(data)
    else:
        if b"\x00" in data[:8192]:
            raise Skipped("binary")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Skipped("not UTF-8") from exc
        if kind == "html":
            text = html_text(text)
    return Extracted(text, digest, size, mtime_ns)


_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_SKIP_TAGS = {"script", "style", "template", "noscript", "svg", "head"}


class _LineText(HTMLParser):
    """Collects visible text per source line; headings get ``#`` marks."""

    def __init__(self, line_count: int) -> None:
        super().__init__(convert_charrefs=True)
        self.lines = [""] * max(1, line_count)
        self.skipping = 0
        self.heading = 0

    def _put(self, text: str) -> None:
        line = min(self.getpos()[0], len(self.lines)) - 1
        for offset, part in enumerate(text.split("\n")):
            at = min(line + offset, len(self.lines) - 1)
            self.lines[at] += part

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skipping += 1
        elif tag in _HEADINGS:
            self.heading = _HEADINGS[tag]
            self._put("#" * self.heading + " ")
        elif tag in {"p", "div", "li", "br", "tr", "pre", "section", "article"}:
            self._put(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _HEADINGS:
            self.heading = 0

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.heading:
            data = data.replace("\n", " ")
        self._put(data)


def html_text(source: str) -> str:
    """The visible text of an HTML document, each piece on its source line (blank lines kept)."""
    parser = _LineText(source.count("\n") + 1)
    try:
        parser.feed(source)
        parser.close()
    except Exception as exc:  # html.parser is lenient; anything else is a broken file
        raise Skipped("unreadable HTML") from exc
    lines = []
    for line in parser.lines:
        stripped = " ".join(line.split())
        if stripped.startswith("#") and stripped.lstrip("#").strip() == "":
            stripped = ""
        lines.append(stripped)
    return "\n".join(lines)


def _pdf_text(data: bytes) -> str:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError

        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise Skipped("encrypted PDF")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except Skipped:
        raise
    except PdfReadError as exc:
        raise Skipped("broken PDF") from exc
    except Exception as exc:  # pypdf raises many types on hostile input
        raise Skipped("broken PDF") from exc
    return "\n\n".join(pages)
