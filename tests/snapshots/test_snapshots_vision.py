"""Snapshots of attached images: the list above the prompt and the text placeholder in the chat
(``--no-image-preview``, 16 colours, or no graphics), with a hostile file name."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from backends.events import Attachment
from testkit import images
from testkit.app import ask, ready_screen, scripted_app
from tui import image_preview
from tui.attachments import Loaded
from tui.settings import AppSettings

PHOTO = Loaded(Attachment("holiday.png", "image/png", images.png(64, 48)), 64, 48)
HOSTILE = Loaded(Attachment("\x1b[2J[bold]x[/bold].png", "image/png", images.png(8, 8, seed=2)), 8, 8)


def test_attached_list_above_the_prompt(snap_compare: Any) -> None:
    image_preview.set_mode("text")
    app, _ = scripted_app(settings=AppSettings(attach=(PHOTO, HOSTILE)))

    async def run_before(pilot: Pilot[None]) -> None:
        await ready_screen(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_placeholder_in_the_chat(snap_compare: Any) -> None:
    image_preview.set_mode("text")
    app, _ = scripted_app(settings=AppSettings(attach=(PHOTO, HOSTILE)))

    async def run_before(pilot: Pilot[None]) -> None:
        await ask(pilot, "what is in these?")

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
