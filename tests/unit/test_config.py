"""The TOML config file: flag defaults layered under the command line, one-line errors naming the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.cli import main, parse_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """\
# my defaults
backend = "local"
theme = "internlm-light"
clipboard = "file"

[generation]
system = "Be brief."
temperature = 0.2
max-new-tokens = 64
top_k = 20

[remote]
chunk_timeout = 5

[agent]
tools = ["python"]
approve = "auto"

[keymap]
"chat.new" = "ctrl+b"
"""


def test_file_sets_defaults_and_flags_win(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    settings = parse_settings(["--config", str(path), "--temperature", "0.9"])
    assert settings.params.temperature == 0.9  # the flag wins
    assert settings.params.max_new_tokens == 64
    assert settings.params.top_k == 20
    assert settings.system == "Be brief."
    assert settings.theme == "internlm-light"
    assert settings.clipboard == "file"
    assert settings.backend.remote.chunk_timeout_s == 5
    # approve = "auto" from the file waits for the user's confirmation in the app:
    assert settings.backend.agent.approve == "ask" and settings.auto_approve_from == path
    assert settings.backend.agent.tools == ("python",)
    assert settings.keymap == {"chat.new": "ctrl+b"}


def test_default_location_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "xdg" / "internlm-tui"
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text("[generation]\nseed = 7\n", encoding="utf-8")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert parse_settings([]).params.seed == 7


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[generation]\ntemperature = \n", ":2"),  # TOML syntax: tomllib names line 2
        ('backend = "local"\n[generation]\ntemprature = 0.1\n', ":3: unknown setting 'temprature'"),
        ("[generation]\n\ntemperature = -1\n", ":3: temperature: must be >= 0"),
        ('device = "tpu"\n', ":1: device: 'tpu' is not one of: auto, cpu, cuda"),
        ('system = "hi"\n', ":1: 'system' belongs in [generation]"),
        ("[generation]\nno_stream = 1\n", ":2: no_stream: must be true or false"),
        ('[remote]\napi_key_env = ["a"]\n', ":2: api_key_env: must be a single value"),
        ("[remote]\nbase_url = [3]\n", ":2: base_url: must be a URL or a list of URLs"),
        ("[remote]\nbase_url = []\n", ":2: base_url: must be a URL or a list of URLs"),
        ('[keymap]\n"chat.nwe" = "ctrl+b"\n', ":2: [keymap] has no binding 'chat.nwe'"),
        ('[keymap]\n"chat.new" = 3\n', ":2: keymap.chat.new must be keys"),
        ('theme = "nope"\n', "unknown theme 'nope'; choose one of: high-contrast, internlm-ansi"),
    ],
)
def test_bad_file_is_one_line_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    assert main(["--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("internlm-tui: error: ")
    assert expected in err
    assert "Traceback" not in err


def test_named_config_must_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(tmp_path / "missing.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_unknown_theme_flag_lists_the_valid_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--theme", "solarized-ish"]) == 2
    err = capsys.readouterr().err
    for name in ("internlm-dark", "internlm-light", "high-contrast", "internlm-ansi"):
        assert name in err


def test_unisolated_tools_from_the_file_or_the_flag(tmp_path: Path) -> None:
    assert not parse_settings([]).backend.agent.unisolated_tools
    path = write(tmp_path, "[agent]\nunisolated_tools = true\n")
    assert parse_settings(["--config", str(path)]).backend.agent.unisolated_tools
    assert parse_settings(["--unisolated-tools"]).backend.agent.unisolated_tools
