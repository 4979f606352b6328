"""Loading files to attach: real images pass, every bad file is one clear line."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from backends.events import Attachment, BackendInfo
from testkit import images
from tui import terminal_query
from tui.attachments import AttachmentError, describe, load_attachment
from tui.pending_files import PendingFiles, refusal


def one_line_error(path: Path | str, **kwargs: object) -> str:
    with pytest.raises(AttachmentError) as caught:
        load_attachment(path, **kwargs)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "\n" not in message and 0 < len(message) < 300
    return message


def test_png_and_jpeg_are_typed_from_their_content(tmp_path: Path) -> None:
    data = images.png(64, 48)
    loaded = load_attachment(images.write(tmp_path / "photo.jpg", data))  # misnamed: content decides
    assert loaded.attachment == Attachment("photo.jpg", "image/png", data)
    assert (loaded.width, loaded.height) == (64, 48)
    assert loaded.label.startswith("photo.jpg · ") and loaded.label.endswith(" · 64×48")
    jpeg = load_attachment(images.write(tmp_path / "a.jpeg", images.jpeg(20, 10)))
    assert jpeg.attachment.mime == "image/jpeg" and (jpeg.width, jpeg.height) == (20, 10)


def test_tilde_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    images.write(tmp_path / "cat.png", images.png())
    assert load_attachment("~/cat.png").attachment.name == "cat.png"


def test_bad_files_are_one_line_each(tmp_path: Path) -> None:
    assert "no such file" in one_line_error(tmp_path / "missing.png")
    assert "is a folder" in one_line_error(tmp_path)
    assert "is empty" in one_line_error(images.write(tmp_path / "empty.png", b""))
    assert "not an image" in one_line_error(images.write(tmp_path / "notes.png", b"hello, not a picture"))
    assert "truncated" in one_line_error(images.write(tmp_path / "cut.png", images.truncated_png()))
    message = one_line_error(images.write(tmp_path / "bomb.png", images.bomb_png()))
    assert "10000×10000" in message and "megapixels" in message
    big = images.write(tmp_path / "big.png", images.png(300, 300))
    assert "too large" in one_line_error(big, max_mb=0.01)


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    assert "not a regular file" in one_line_error(fifo)
    assert "not a regular file" in one_line_error("/dev/zero")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything")
def test_unreadable_file_and_a_link_to_one(tmp_path: Path) -> None:
    secret = images.write(tmp_path / "shadow", images.png())
    secret.chmod(0)
    link = tmp_path / "innocent.png"
    link.symlink_to(secret)
    assert "no read permission" in one_line_error(secret)
    assert "no read permission" in one_line_error(link)
    secret.chmod(stat.S_IRUSR)


def test_any_file_mode_takes_other_files_but_never_as_images(tmp_path: Path) -> None:
    csv = load_attachment(images.write(tmp_path / "data.csv", b"a,b\n1,2\n"), any_file=True)
    assert csv.attachment.mime == "text/csv" and not csv.attachment.is_image
    fake = load_attachment(images.write(tmp_path / "fake.png", b"not a png"), any_file=True)
    assert fake.attachment.mime == "application/octet-stream"
    assert "truncated" in one_line_error(
        images.write(tmp_path / "cut.png", images.truncated_png()), any_file=True
    )


def test_hostile_names_are_kept_raw_for_storage_and_described(tmp_path: Path) -> None:
    name = "\x1b]0;pwned\x07[bold]x[\\bold].png"
    loaded = load_attachment(images.write(tmp_path / name, images.png()))
    assert loaded.attachment.name == name  # sanitised where drawn, never here
    assert describe(loaded.attachment).startswith(name)
    message = one_line_error(tmp_path / ("\x1b[2J" + "y" * 400 + ".png"))
    assert "\x1b" not in message


def test_pending_files_refuse_duplicates_and_say_what_a_backend_cannot_take(tmp_path: Path) -> None:
    files = PendingFiles()
    image = load_attachment(images.write(tmp_path / "a.png", images.png()))
    assert files.add(image) is None
    assert files.add(image) == "a.png is already attached"
    text_only = BackendInfo("local", "smol", capabilities=frozenset({"stream"}))
    assert "text-only" in (refusal(files.attachments, text_only) or "")
    assert refusal(files.attachments, BackendInfo("remote", "m", capabilities=frozenset({"images"}))) is None
    assert refusal(files.attachments, None) is None
    other = Attachment("a.csv", "text/csv", b"1")
    assert "not images" in (
        refusal((other,), BackendInfo("remote", "m", capabilities=frozenset({"images"}))) or ""
    )
    assert refusal((other,), BackendInfo("agent", "m", capabilities=frozenset({"tools"}))) is None
    assert files.remove(0) is image and files.remove(0) is None and len(files) == 0


def test_no_read_permission_is_one_line_even_as_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = images.write(tmp_path / "locked.png", images.png())
    real_open = os.open

    def refusing_open(path: object, flags: int, *args: object) -> int:
        if str(path) == str(target):
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refusing_open)
    assert "no read permission" in one_line_error(target)


def test_a_link_to_a_secret_file_never_shows_its_content(tmp_path: Path) -> None:
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$SECRET-HASH:19000:0:99999:7:::\n")
    secret.chmod(0o600)
    link = tmp_path / "holiday.png"
    link.symlink_to(secret)
    message = one_line_error(link)
    assert "SECRET-HASH" not in message and ("not an image" in message or "permission" in message)
    shadow = Path("/etc/shadow")
    if shadow.exists():
        etc_link = tmp_path / "etc.png"
        etc_link.symlink_to(shadow)
        assert "$" not in one_line_error(etc_link)


def test_terminal_answers_are_read_in_one_go() -> None:
    from tui.terminal_query import parse

    kitty = parse(b"\x1b_Gi=31;OK\x1b\\\x1b[6;20;10t\x1b[?62;22c")
    assert kitty.kitty and not kitty.sixel and (kitty.cell_width, kitty.cell_height) == (10, 20)
    assert parse(b"\x1b[?62;4;22c").sixel and not parse(b"\x1b[?64;22c").sixel
    assert not parse(b"\x1b_Gi=31;ENOTSUPPORTED:x\x1b\\\x1b[?1;2c").kitty
    assert not parse(b"").answered and parse(b"\x1b[?1;2c").answered


def test_no_kitty_query_inside_tmux_or_screen() -> None:
    """tmux takes the Kitty query (an APC string) as the pane title, and neither draws Kitty images."""
    assert terminal_query.inside_multiplexer({"TMUX": "/tmp/tmux-0/default,1,0", "TERM": "xterm"})
    assert terminal_query.inside_multiplexer({"TERM": "screen-256color"})
    assert terminal_query.inside_multiplexer({"TERM": "tmux-256color"})
    assert terminal_query.inside_multiplexer({"STY": "1234.pts-0", "TERM": "xterm"})
    assert not terminal_query.inside_multiplexer({"TERM": "xterm-kitty"})
