"""Images as a backend sends them: scaled to a longest side when larger, and as ``data:`` URLs.

An image within ``max_side`` pixels on its longest side is sent byte for byte as the user
attached it. A larger one is scaled down with Pillow (Lanczos, aspect kept) and re-encoded: PNG
when it has transparency, else JPEG at quality 90 (a scaled PNG photo or screenshot re-encoded as
PNG was seen to grow to three times the original's bytes); animated GIF and WebP send their
first frame. Vision models resize to a few hundred pixels per tile anyway,
so this mostly saves upload time and keeps requests under a server's body limit.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

from backends.events import Attachment

DEFAULT_MAX_SIDE = 1536
"""Longest side, in pixels, above which an image is scaled down before it is sent."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """The bytes that go to the model for one image, with their type and whether they were scaled."""

    mime: str
    data: bytes
    scaled: bool = False

    def data_url(self) -> str:
        """``data:image/png;base64,...``: how OpenAI-compatible servers take an inline image."""
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


def prepare_image(attachment: Attachment, max_side: int | None = DEFAULT_MAX_SIDE) -> Prepared:
    """The image as it is sent: unchanged within ``max_side`` (None or 0: never scaled), else
    scaled down. Raises ``ValueError`` when the bytes are not an image Pillow can read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(attachment.data)) as image:
            width, height = image.size
            if not max_side or max(width, height) <= max_side:
                return Prepared(attachment.mime, attachment.data)
            image.seek(0)
            image.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale, far cheaper
            frame = image.convert("RGBA" if _has_alpha(image) else "RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"{attachment.name}: not a readable image ({type(exc).__name__})") from None
    frame.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if frame.mode == "RGBA":
        frame.save(out, format="PNG", optimize=False)
        return Prepared("image/png", out.getvalue(), scaled=True)
    frame.save(out, format="JPEG", quality=90)
    return Prepared("image/jpeg", out.getvalue(), scaled=True)


def _has_alpha(image: object) -> bool:
    mode = getattr(image, "mode", "")
    info = getattr(image, "info", {})
    return mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in info)
