"""One attached file under its prompt: the picture (Kitty / Sixel / half-blocks) or a line of text."""

from __future__ import annotations

import io

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static

from tui import image_preview
from tui.attachments import Loaded
from tui.sanitize import sanitize

PREVIEW_ROWS = 10
"""How many terminal rows a picture takes (its width follows from its shape)."""
PREVIEW_MAX_PX = 1024
"""The preview keeps a copy at most this many pixels on a side: ten rows never need more, and a
50-megapixel photo would otherwise stay in memory whole (150 MB) and be scaled on every redraw."""


def caption(loaded: Loaded) -> Text:
    """``🖼 cat.png · 12.3 KB · 640×480`` (a file that is not an image gets 📎), never markup."""
    icon = "🖼 " if loaded.attachment.is_image else "📎 "
    return Text(icon + sanitize(loaded.label), no_wrap=True, overflow="ellipsis")


class AttachmentView(Vertical):
    """A caption line, and the picture below it when the terminal can draw one."""

    def __init__(self, loaded: Loaded) -> None:
        super().__init__(classes="attachment-view")
        self.loaded = loaded

    def compose(self) -> ComposeResult:
        yield Static(caption(self.loaded), classes="attachment-caption")
        picture = self._picture()
        if picture is not None:
            yield picture

    def _picture(self) -> Widget | None:
        mode = image_preview.mode()
        if mode == "text" or not self.loaded.attachment.is_image:
            return None
        if self.app.console.color_system in (None, "standard", "windows"):
            return None  # 16 colours: half-blocks would be mud, graphics are not expected
        try:
            image_preview.load_widgets()
        except Exception:  # a library that fails to load: the caption alone says what it is
            return None
        from PIL import Image
        from textual_image.widget import HalfcellImage, SixelImage, TGPImage

        kind = {"kitty": TGPImage, "sixel": SixelImage}.get(mode, HalfcellImage)
        try:
            picture = Image.open(io.BytesIO(self.loaded.attachment.data))
            picture.draft("RGB", (PREVIEW_MAX_PX, PREVIEW_MAX_PX))  # JPEG: decode at a smaller scale
            picture.load()
            picture.thumbnail((PREVIEW_MAX_PX, PREVIEW_MAX_PX))
        except Exception:  # checked when attached; a damaged copy read back is shown as text
            return None
        widget: Widget = kind(picture, classes="attachment-picture")
        return widget
