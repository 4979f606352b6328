"""Image flags: --attach checks each file at start-up (one line, exit 2 for a bad one), the
scaling and size flags reach the settings, and the config file may set them (not --attach)."""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit import images
from tui.cli import main, parse_settings


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("empty.png", b"", "is empty"),
        ("text.png", b"hello", "not an image"),
        ("cut.png", None, "truncated"),
        ("bomb.png", None, "megapixels"),
        ("\x1b]0;title\x07.png", b"nope", "not an image"),
    ],
)
def test_a_bad_attach_is_one_line_and_exit_2(
    name: str, data: bytes | None, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = data if data is not None else images.truncated_png() if "cut" in name else images.bomb_png()
    path = images.write(tmp_path / name, content)
    assert main(["--backend", "scripted", "--db", str(tmp_path / "h.sqlite3"), "--attach", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and err.startswith("internlm-tui: error: --attach:")
    assert "\x1b" not in err and "\x07" not in err


def test_missing_attach_and_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for target, expected in ((tmp_path / "nope.png", "no such file"), (tmp_path, "is a folder")):
        assert (
            main(["--backend", "scripted", "--db", str(tmp_path / "h.sqlite3"), "--attach", str(target)]) == 2
        )
        assert expected in capsys.readouterr().err


def test_flags_reach_the_settings(tmp_path: Path) -> None:
    one = images.write(tmp_path / "a.png", images.png(seed=1))
    two = images.write(tmp_path / "b.png", images.png(seed=2))
    settings = parse_settings(
        [
            "--backend",
            "scripted",
            "--attach",
            str(one),
            "--attach",
            str(two),
            "--attach",
            str(one),
            "--image-max-side",
            "512",
            "--no-image-preview",
            "--max-attachment-mb",
            "2",
        ]
    )
    assert [loaded.attachment.name for loaded in settings.attach] == ["a.png", "b.png"]  # once each
    assert settings.backend.remote.image_max_side == 512
    assert not settings.image_preview and settings.max_attachment_mb == 2
    defaults = parse_settings(["--backend", "scripted"])
    assert defaults.backend.remote.image_max_side == 1536 and defaults.image_preview and defaults.attach == ()


def test_the_agent_takes_any_file(tmp_path: Path) -> None:
    data = images.write(tmp_path / "data.csv", b"a,b\n1,2\n")
    with pytest.raises(Exception, match="not an image"):
        parse_settings(["--backend", "scripted", "--attach", str(data)])
    settings = parse_settings(
        ["--backend", "agent", "--base-url", "http://127.0.0.1:9/v1", "--attach", str(data)]
    )
    assert settings.attach[0].attachment.mime == "text/csv"


def test_config_file_sets_image_options_but_not_attach(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("image_max_side = 800\nno_image_preview = true\n")
    settings = parse_settings(["--config", str(config), "--backend", "scripted"])
    assert settings.backend.remote.image_max_side == 800 and not settings.image_preview
    config.write_text('attach = "x.png"\n')
    with pytest.raises(Exception, match="attach"):
        parse_settings(["--config", str(config), "--backend", "scripted"])
