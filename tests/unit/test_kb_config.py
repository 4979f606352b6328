"""Knowledge-base settings in the config file: ``[kb]`` folders and embedding model."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.cli import UsageError, parse_settings
from tui.config import ConfigError


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_kb_section_sets_folders_and_model_and_flags_add_folders(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    config = _config(tmp_path, f'[kb]\nkb = ["{tmp_path / "a"}"]\nembedding_model = "BAAI/bge-m3"\n')
    settings = parse_settings(["--config", str(config), "--backend", "scripted"])
    assert settings.kb_folders == (tmp_path / "a",) and settings.embedding_model == "BAAI/bge-m3"
    more = parse_settings(["--config", str(config), "--backend", "scripted", "--kb", str(tmp_path / "b")])
    assert more.kb_folders == (tmp_path / "a", tmp_path / "b")
    single = _config(tmp_path, f'[kb]\nkb = "{tmp_path / "b"}"\n')
    assert parse_settings(["--config", str(single), "--backend", "scripted"]).kb_folders == (tmp_path / "b",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[kb]\nkb = []\n", "must be a folder or a list of folders"),
        ("[kb]\nkb = [1]\n", "must be a folder or a list of folders"),
        ('[kb]\nkb_query = "x"\n', "unknown setting"),
        ('kb = "x"\n', "belongs in [kb]"),
    ],
)
def test_bad_kb_settings_are_one_line_with_the_file(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"config\.toml:") as raised:
        parse_settings(["--config", str(_config(tmp_path, text)), "--backend", "scripted"])
    assert message in str(raised.value)


def test_a_missing_folder_from_the_config_is_misuse(tmp_path: Path) -> None:
    config = _config(tmp_path, f'[kb]\nkb = ["{tmp_path / "gone"}"]\n')
    with pytest.raises(UsageError, match="is not a folder"):
        parse_settings(["--config", str(config), "--backend", "scripted"])
