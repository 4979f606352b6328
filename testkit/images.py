"""Real image files for the vision tests and benchmark: made with Pillow, plus broken ones.

``png``/``jpeg`` encode a noisy picture (noise does not compress, so sizes are realistic);
``truncated_png`` cuts a real PNG short; ``bomb_png`` is a valid PNG header claiming
10000×10000 pixels (100 megapixels) followed by a tiny compressed stream, which is what a
decompression bomb looks like to a reader.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path


def _picture(width: int, height: int, seed: int = 1) -> object:
    import random

    from PIL import Image

    rng = random.Random(seed)
    noise = bytes(rng.getrandbits(8) for _ in range(min(width * height * 3, 3 * 256 * 256)))
    tile = Image.frombytes(
        "RGB", (min(width, 256), min(height, 256)), noise[: min(width, 256) * min(height, 256) * 3]
    )
    image = Image.new("RGB", (width, height), (40, 90, 160))
    for x in range(0, width, 256):
        for y in range(0, height, 256):
            image.paste(tile, (x, y))
    return image


def png(width: int = 64, height: int = 48, seed: int = 1) -> bytes:
    """A PNG of ``width`` × ``height`` pixels."""
    out = io.BytesIO()
    _picture(width, height, seed).save(out, format="PNG")  # type: ignore[attr-defined]
    return out.getvalue()


def jpeg(width: int = 64, height: int = 48, seed: int = 1) -> bytes:
    """A JPEG of ``width`` × ``height`` pixels."""
    out = io.BytesIO()
    _picture(width, height, seed).save(out, format="JPEG", quality=90)  # type: ignore[attr-defined]
    return out.getvalue()


def truncated_png(width: int = 64, height: int = 48) -> bytes:
    """A real PNG cut off in the middle of its image data."""
    data = png(width, height)
    return data[: len(data) // 2]


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bomb_png(width: int = 10_000, height: int = 10_000) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` pixels (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\x00" + b"\x00" * (width * 3)
    stream = zlib.compress(row * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", stream) + _chunk(b"IEND", b"")


def write(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` and return it."""
    path.write_bytes(data)
    return path
