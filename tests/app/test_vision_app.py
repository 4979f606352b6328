"""Attaching images by keyboard: the picker, the list above the prompt, --attach, bad files
(one line each, nothing else changes), and a backend that cannot see images."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from backends.base import ChatBackend, ProgressCallback
from backends.events import Attachment
from backends.scripted import ScriptedBackend
from testkit import images
from testkit.app import ready_screen, scripted_app, settle, wait_for
from testkit.hostile_text import raw_controls
from tui.app import InternLMApp
from tui.attachments import Loaded, load_attachment
from tui.screens.attach_picker import AttachPicker
from tui.screens.chat import ChatScreen
from tui.settings import AppSettings
from tui.widgets.attachment_list import AttachmentList
from tui.widgets.attachment_view import AttachmentView
from tui.widgets.prompt_input import PromptInput
from tui.widgets.user_message import UserMessage


def folder_with_images(tmp_path: Path) -> Path:
    images.write(tmp_path / "cat.png", images.png(64, 48))
    images.write(tmp_path / "dog.jpg", images.jpeg(40, 30))
    images.write(tmp_path / "notes.txt", b"not listed")
    (tmp_path / "sub").mkdir()
    images.write(tmp_path / "sub" / "deep.png", images.png(10, 10, seed=3))
    return tmp_path


def notes(app: InternLMApp) -> list[str]:
    return [n.message for n in app._notifications]


async def pick(pilot: Pilot[None], typed: str) -> AttachPicker:
    await pilot.press("f5")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, AttachPicker))
    picker = pilot.app.screen
    assert isinstance(picker, AttachPicker)
    path = picker.query_one(Input)
    path.value = ""
    await pilot.press(*typed)
    return picker


async def test_pick_an_image_see_it_listed_and_send_it(tmp_path: Path) -> None:
    folder = folder_with_images(tmp_path)
    app, backend = scripted_app()
    async with app.run_test(size=(110, 34)) as pilot:
        screen = await ready_screen(pilot)
        picker = await pick(pilot, f"{folder}/")
        listed = [e.name for e in picker._shown]
        assert listed == ["sub", "cat.png", "dog.jpg"]  # folders first; only images
        await pilot.press("c", "enter")  # type-ahead: "c" then Enter takes cat.png
        await wait_for(pilot, lambda: len(screen.session.files) == 1)
        shown = screen.query_one(AttachmentList)
        assert shown.display and "cat.png" in str(shown.get_option_at_index(0).prompt)
        assert screen.query_one(PromptInput).has_focus
        await pilot.press(*"what is it", "enter")
        await wait_for(pilot, lambda: bool(backend.seen) and not screen.busy)
        sent = backend.seen[-1][-1]
        assert sent.content == "what is it"
        assert sent.attachments == (Attachment("cat.png", "image/png", (folder / "cat.png").read_bytes()),)
        await wait_for(pilot, lambda: bool(screen.query(AttachmentView)))
        assert not shown.display and len(screen.session.files) == 0
        view = screen.query_one(AttachmentView)
        assert "cat.png · " in str(view.query_one(".attachment-caption").render())
        children = list(screen.chat_pane.children)
        assert isinstance(children[children.index(view) - 1], UserMessage)


async def test_folders_open_from_the_list(tmp_path: Path) -> None:
    folder = folder_with_images(tmp_path)
    app, _ = scripted_app()
    async with app.run_test(size=(110, 34)) as pilot:
        screen = await ready_screen(pilot)
        picker = await pick(pilot, f"{folder}/")
        await pilot.press("down", "enter")  # into the list; "sub" is first
        await wait_for(pilot, lambda: picker.query_one(Input).value == f"{folder}/sub/")
        assert [e.name for e in picker._shown] == ["deep.png"]
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(screen.session.files) == 1)
        assert screen.session.files.attachments[0].name == "deep.png"


async def test_bad_files_are_one_line_and_change_nothing(tmp_path: Path) -> None:
    good = images.write(tmp_path / "ok.png", images.png())
    bad = {
        "empty.png": b"",
        "text.png": b"hello",
        "cut.png": images.truncated_png(),
        "bomb.png": images.bomb_png(),
        "\x1b[31mred\x1b[0m.png": b"not an image",
    }
    for name, data in bad.items():
        images.write(tmp_path / name, data)
    app, _ = scripted_app()
    async with app.run_test(size=(110, 34)) as pilot:
        screen = await ready_screen(pilot)
        screen.session.files.add(load_attachment(good))
        screen.attach.refresh()
        await pilot.press(*"keep this")
        for name in [*bad, "missing.png"]:
            before = len(notes(app))
            await screen.attach.attach(str(tmp_path / name))
            await settle(pilot)
            added = notes(app)[before:]
            assert len(added) == 1 and "\n" not in added[0], added
            assert "\x1b" not in added[0]
        assert [a.name for a in screen.session.files.attachments] == ["ok.png"]
        assert screen.query_one(PromptInput).text == "keep this"
        assert screen.session.conversation.messages == []


async def test_remove_attachments_by_keyboard(tmp_path: Path) -> None:
    folder = folder_with_images(tmp_path)
    app, backend = scripted_app()
    async with app.run_test(size=(110, 34)) as pilot:
        screen = await ready_screen(pilot)
        for name in ("cat.png", "dog.jpg"):
            await screen.attach.attach(str(folder / name))
        shown = screen.query_one(AttachmentList)
        assert shown.option_count == 2
        shown.focus()
        await pilot.press("down", "delete")
        await wait_for(pilot, lambda: len(screen.session.files) == 1)
        assert screen.session.files.attachments[0].name == "cat.png"
        await pilot.press("backspace")
        await wait_for(pilot, lambda: len(screen.session.files) == 0)
        assert not shown.display and screen.query_one(PromptInput).has_focus
        await pilot.press(*"plain", "enter")
        await wait_for(pilot, lambda: bool(backend.seen) and not screen.busy)
        assert backend.seen[-1][-1].attachments == ()


async def test_attach_flag_goes_with_the_first_prompt(tmp_path: Path) -> None:
    loaded = load_attachment(images.write(tmp_path / "flag.png", images.png()))
    app, backend = scripted_app(settings=AppSettings(attach=(loaded,)))
    async with app.run_test(size=(110, 34)) as pilot:
        screen = await ready_screen(pilot)
        assert screen.query_one(AttachmentList).display
        await pilot.press(*"first", "enter")
        await wait_for(pilot, lambda: len(backend.seen) == 1 and not screen.busy)
        await pilot.press(*"second", "enter")
        await wait_for(pilot, lambda: len(backend.seen) == 2 and not screen.busy)
        assert backend.seen[0][-1].attachments == (loaded.attachment,)
        assert backend.seen[1][-1].attachments == ()
        assert backend.seen[1][0].attachments == (loaded.attachment,)  # the history keeps it


async def test_a_text_only_model_says_so_and_keeps_prompt_and_files(tmp_path: Path) -> None:
    backend = ScriptedBackend(capabilities=frozenset({"stream"}))

    def factory(progress: ProgressCallback) -> ChatBackend:
        return backend

    loaded = load_attachment(images.write(tmp_path / "a.png", images.png()))
    app = InternLMApp(AppSettings(attach=(loaded,)), backend_factory=factory)
    async with app.run_test(size=(110, 34)) as pilot:
        screen = await ready_screen(pilot)
        await pilot.press(*"look", "enter")
        await wait_for(pilot, lambda: any("text-only" in n for n in notes(app)))
        assert screen.query_one(PromptInput).text == "look"
        assert len(screen.session.files) == 1 and backend.seen == []
        assert isinstance(screen, ChatScreen) and not screen.query(UserMessage)


HOSTILE_NAME = "\x1b]0;PWNED-TITLE\x07[red]PWNED-MARKUP\x9b31m\u202e.png"
"""A file name with an OSC title sequence, Rich markup, a C1 control and a bidi override."""


def drawn_lines(app: InternLMApp) -> tuple[list[str], list[str]]:
    """Every line every widget of every screen would draw, and the problems found in them."""
    lines: list[str] = []
    problems: list[str] = []
    for screen in app.screen_stack:
        for widget in screen.walk_children(with_self=True):
            width, height = widget.size
            if not width or not height:
                continue
            for strip in widget.render_lines(Region(0, 0, width, height)):
                line = "".join(segment.text for segment in strip)
                lines.append(line)
                if raw_controls(line):
                    problems.append(f"{type(widget).__name__} draws raw {raw_controls(line)!r}")
                if "PWNED-MARKUP" in line and "[red]PWNED-MARKUP" not in line:
                    problems.append(f"{type(widget).__name__} applied markup: {line!r}")
    return lines, problems


async def test_hostile_file_names_are_drawn_inert_everywhere(tmp_path: Path) -> None:
    images.write(tmp_path / HOSTILE_NAME, images.png())
    app, backend = scripted_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready_screen(pilot)
        picker = await pick(pilot, f"{tmp_path}/")
        await settle(pilot)
        listed = picker.query_one("#attach-files", OptionList).get_option_at_index(0).prompt
        assert isinstance(listed, Text) and not raw_controls(listed.plain) and not listed.spans
        assert listed.plain.startswith("␛]0;PWNED-TITLE␇[red]PWNED-MARKUP")  # the picker list
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: len(screen.session.files) == 1)
        await pilot.press(*"look", "enter")
        await wait_for(pilot, lambda: bool(backend.seen) and not screen.busy)
        await wait_for(pilot, lambda: bool(screen.query(AttachmentView)))
        await settle(pilot)
        lines, problems = drawn_lines(app)
        assert problems == [] and any("␛]0;PWNED-TITLE" in line for line in lines)  # the placeholder
        assert backend.seen[-1][-1].attachments[0].name == HOSTILE_NAME  # kept raw, only drawn safe


async def test_a_reopened_chat_shows_its_images_and_sends_them_again(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    picture = load_attachment(images.write(tmp_path / "cat.png", images.png()))
    first, _ = scripted_app(settings=AppSettings(db_path=db, attach=(picture,)))
    async with first.run_test(size=(110, 34)) as pilot:
        screen = await ready_screen(pilot)
        await pilot.press(*"what is it", "enter")
        await wait_for(pilot, lambda: len(screen.session.conversation.messages) == 2 and not screen.busy)
        chat_id = screen.session.conversation_id
    assert chat_id is not None
    again, backend = scripted_app(settings=AppSettings(db_path=db))
    async with again.run_test(size=(110, 34)) as pilot:
        screen = await ready_screen(pilot)
        await screen.history.open(chat_id)
        await wait_for(pilot, lambda: bool(screen.query(AttachmentView)))
        assert "cat.png" in str(screen.query_one(".attachment-caption").render())
        await pilot.press(*"and now?", "enter")
        await wait_for(pilot, lambda: bool(backend.seen) and not screen.busy)
        assert backend.seen[-1][0].attachments == (picture.attachment,)
        assert backend.seen[-1][-1].attachments == ()


async def pictures_drawn(loaded: Loaded) -> tuple[int, int]:
    """How many half-block pictures a sent prompt with ``loaded`` draws, and their height."""
    from textual_image.widget import HalfcellImage

    app, _ = scripted_app(settings=AppSettings(attach=(loaded,)))
    async with app.run_test(size=(110, 34)) as pilot:
        screen = await ready_screen(pilot)
        await pilot.press(*"see", "enter")
        await wait_for(pilot, lambda: bool(screen.query(AttachmentView)) and not screen.busy)
        await settle(pilot)
        found = screen.query(HalfcellImage)
        return len(found), found.first().size.height if found else 0


async def test_half_blocks_draw_a_picture_and_text_mode_does_not(tmp_path: Path) -> None:
    from tui import image_preview

    loaded = load_attachment(images.write(tmp_path / "p.png", images.png(40, 20)))
    try:
        image_preview.set_mode("halfcell")
        assert await pictures_drawn(loaded) == (1, 10)
        image_preview.set_mode("text")
        assert await pictures_drawn(loaded) == (0, 0)
    finally:
        image_preview.set_mode("text")


async def test_hostile_names_never_reach_the_path_field_raw(tmp_path: Path) -> None:
    """The completion and an opened folder are drawn by the path field itself, which draws its
    text as it is: a name with control characters is never put there."""
    images.write(tmp_path / "a\x1b]2;PWNED-FILE\x07.png", images.png())
    (tmp_path / "\x1b]2;PWNED-DIR\x07").mkdir()
    app, _ = scripted_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready_screen(pilot)
        picker = await pick(pilot, f"{tmp_path}/a")
        await app.workers.wait_for_complete()
        await settle(pilot)
        path = picker.query_one(Input)
        assert not raw_controls(path._suggestion), repr(path._suggestion)
        _lines, problems = drawn_lines(app)
        assert problems == []
        path.value = f"{tmp_path}/"
        await settle(pilot)
        files = picker.query_one("#attach-files", OptionList)
        folder = next(i for i, e in enumerate(picker._shown) if e.is_dir)
        files.focus()
        files.highlighted = folder
        await pilot.press("enter")
        await settle(pilot)
        assert not raw_controls(path.value), repr(path.value)
        assert isinstance(app.screen, AttachPicker)
        assert screen.is_attached


async def test_a_large_picture_is_kept_as_a_small_preview(tmp_path: Path) -> None:
    """The preview widget holds a copy of at most 1024 px a side, not the whole photo."""
    from textual_image.widget import HalfcellImage

    from tui import image_preview
    from tui.widgets.attachment_view import PREVIEW_MAX_PX

    loaded = load_attachment(images.write(tmp_path / "big.png", images.png(3000, 1500)))
    image_preview.set_mode("halfcell")
    try:
        app, _ = scripted_app(settings=AppSettings(attach=(loaded,)))
        async with app.run_test(size=(110, 34)) as pilot:
            screen = await ready_screen(pilot)
            await pilot.press(*"see", "enter")
            await wait_for(pilot, lambda: bool(screen.query(HalfcellImage)) and not screen.busy)
            await settle(pilot)
            kept = screen.query_one(HalfcellImage).image
            assert kept is not None and not isinstance(kept, str | bytes)
            assert max(kept.size) == PREVIEW_MAX_PX and kept.size == (PREVIEW_MAX_PX, PREVIEW_MAX_PX // 2)
            assert screen.query_one(HalfcellImage).size.height == 10
    finally:
        image_preview.set_mode("text")
