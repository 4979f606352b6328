"""Loading a file the user attaches: checked, typed from its content, and described in one line.

No Textual here: the picker, ``--attach`` and the tests all use ``load_attachment``, which either
returns an ``Attachment`` or raises ``AttachmentError`` whose message is one line for the user.

What is refused, and why: a missing path, a folder, anything that is not a regular file (a fifo
or a device is never opened in a way that could block: ``O_NONBLOCK``, then ``fstat`` of what
was really opened), no read permission, an empty file, one over the size cap, and, for images,
anything Pillow cannot fully decode (a truncated PNG), a type we do not send, or more pixels than
``MAX_PIXELS``: that is checked from the header before any pixel is decoded, so a decompression
bomb never takes the memory it asks for. Image types come from the content, never the name.
"""

from __future__ import annotations

import errno
import io
import mimetypes
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

from backends.events import Attachment
from tui.sanitize import one_line

IMAGE_FORMATS = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "BMP": "image/bmp",
}
"""Pillow format names of the images we send, with their media types."""
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp"})
"""File name endings the picker lists when only images can be attached (content decides later)."""
DEFAULT_MAX_MB = 20.0
"""The default size cap of one attached file, in megabytes."""
MAX_PIXELS = 50_000_000
"""Images with more pixels are refused before decoding (Pillow's own bomb limit is ~89 Mpx)."""


class AttachmentError(Exception):
    """A file cannot be attached; the message is one line naming the file and the reason."""


@dataclass(frozen=True, slots=True)
class Loaded:
    """An attachment with what the list above the prompt shows about it."""

    attachment: Attachment
    width: int | None = None
    height: int | None = None

    @property
    def label(self) -> str:
        """``name · 12.3 KB · 640×480`` (the name still raw: sanitise before drawing)."""
        return describe(self.attachment, self.width, self.height)


def human_size(size: int) -> str:
    """Bytes as ``812 B``, ``12.3 KB`` or ``4.1 MB``."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def describe(attachment: Attachment, width: int | None = None, height: int | None = None) -> str:
    """One line about an attachment: name, size and, for an image, its pixel dimensions."""
    parts = [attachment.name, human_size(len(attachment.data))]
    if width and height:
        parts.append(f"{width}×{height}")
    return " · ".join(parts)


def image_size(data: bytes) -> tuple[int, int] | None:
    """An image's (width, height) from its header, or None when it is not one we can read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # only the header is read
            with Image.open(io.BytesIO(data)) as image:
                return image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


def _read_regular(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file, never blocking on a fifo or device and never reading more
    than ``max_bytes`` + 1."""
    shown = one_line(str(path), limit=200)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise AttachmentError(f"{shown}: no such file") from None
    except PermissionError:
        raise AttachmentError(f"{shown}: no permission to look at it") from None
    except OSError as exc:
        raise AttachmentError(f"{shown}: {exc.strerror or type(exc).__name__}") from None
    if stat.S_ISDIR(info.st_mode):
        raise AttachmentError(f"{shown} is a folder; choose a file in it")
    if not stat.S_ISREG(info.st_mode):
        raise AttachmentError(f"{shown} is not a regular file (a pipe, socket or device)")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except PermissionError:
        raise AttachmentError(f"{shown}: no read permission") from None
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise AttachmentError(f"{shown}: no such file") from None
        raise AttachmentError(f"{shown}: {exc.strerror or type(exc).__name__}") from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):  # swapped for a fifo between stat and open
            raise AttachmentError(f"{shown} is not a regular file (a pipe, socket or device)")
        if opened.st_size > max_bytes:
            raise AttachmentError(
                f"{shown} is too large ({human_size(opened.st_size)}; the limit is {human_size(max_bytes)})"
            )
        with os.fdopen(fd, "rb", closefd=True) as handle:
            fd = -1
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise AttachmentError(f"{shown}: could not read it ({exc.strerror or type(exc).__name__})") from None
    finally:
        if fd >= 0:
            os.close(fd)
    if not data:
        raise AttachmentError(f"{shown} is empty")
    if len(data) > max_bytes:  # it grew while we read it
        raise AttachmentError(f"{shown} is too large (the limit is {human_size(max_bytes)})")
    return data


def check_image(data: bytes, shown: str, max_pixels: int = MAX_PIXELS) -> tuple[str, int, int]:
    """The media type and size of an image we can send, or ``AttachmentError`` saying why not.

    The pixel count is checked from the header first; only an image within ``max_pixels`` is
    decoded (fully, so a truncated file is caught now rather than at the server)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit is lower
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                kind = image.format or ""
                if width * height > max_pixels:
                    raise AttachmentError(
                        f"{shown} is {width}×{height} ({width * height / 1e6:.0f} megapixels); "
                        f"the limit is {max_pixels / 1e6:.0f} megapixels"
                    )
                if kind not in IMAGE_FORMATS:
                    raise AttachmentError(
                        f"{shown} is a {kind or 'unknown'} image; send PNG, JPEG, WebP, GIF or BMP"
                    )
                image.load()
    except AttachmentError:
        raise
    except UnidentifiedImageError:
        raise AttachmentError(f"{shown} is not an image (PNG, JPEG, WebP, GIF or BMP)") from None
    except Image.DecompressionBombError:
        raise AttachmentError(f"{shown} has too many pixels to open safely") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        reason = "it is truncated" if "truncated" in str(exc) else "it is damaged"
        raise AttachmentError(f"{shown} cannot be read as an image: {reason}") from None
    return IMAGE_FORMATS[kind], width, height


def load_attachment(
    path: str | Path,
    *,
    any_file: bool = False,
    max_mb: float = DEFAULT_MAX_MB,
    max_pixels: int = MAX_PIXELS,
) -> Loaded:
    """Read and check one file to attach (``~`` expanded).

    Images must decode; with ``any_file`` (the agent's tools take files) any other regular file
    is attached as it is, typed from its name."""
    target = Path(os.path.expanduser(str(path)))
    shown = one_line(target.name or str(target), limit=120)
    data = _read_regular(target, int(max_mb * 1024 * 1024))
    size = image_size(data)
    if size is None and any_file:
        mime = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if mime.startswith("image/"):
            mime = "application/octet-stream"  # named like an image but not one: never sent as one
        return Loaded(Attachment(target.name, mime, data))
    mime, width, height = check_image(data, shown, max_pixels)
    return Loaded(Attachment(target.name, mime, data), width, height)


def loaded_from(attachment: Attachment) -> Loaded:
    """An attachment read back from history, with its dimensions for the list and placeholder."""
    size = image_size(attachment.data) if attachment.is_image else None
    return Loaded(attachment, *(size or (None, None)))
