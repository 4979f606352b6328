"""One plain line describing an attached file (name, size, and WxH for an image), drawn where
an inline preview is not available yet. Textual-free; the name is sanitised here."""

from __future__ import annotations

import io

from backends.events import Attachment
from tui.sanitize import sanitize


def image_size(data: bytes) -> tuple[int, int] | None:
    """An image's width and height from its header (Pillow reads no pixels), or None."""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return int(image.width), int(image.height)
    except Exception:  # not an image Pillow knows, or a broken one: no size shown
        return None


def human_size(count: int) -> str:
    for unit in ("B", "KB", "MB"):
        if count < 1024 or unit == "MB":
            return f"{count} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count = count / 1024  # type: ignore[assignment]
    return f"{count} B"


def describe_attachment(attachment: Attachment) -> str:
    """e.g. ``plot.png · image/png · 12.3 KB · 640x480``."""
    parts = [sanitize(attachment.name), sanitize(attachment.mime), human_size(len(attachment.data))]
    if attachment.is_image:
        size = image_size(attachment.data)
        if size is not None:
            parts.append(f"{size[0]}x{size[1]}")
    return " · ".join(parts)
