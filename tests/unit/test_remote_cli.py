"""The remote backend's command-line flags: filled into RemoteOptions, misuse is one line + exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from backends.options import RemoteOptions
from tui.cli import main, parse_settings


def test_remote_flags_fill_the_options(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    args = "--backend remote --base-url https://gpu:23333/v1 --model internlm2 --api-key-env MY_KEY"
    args += " --connect-timeout 2.5 --first-token-timeout 30 --chunk-timeout 7 --deadline 100"
    settings = parse_settings([*args.split(), "--max-retries", "0", "--ca-file", str(ca)])
    assert settings.backend.backend == "remote" and settings.backend.model == "internlm2"
    assert settings.backend.remote == RemoteOptions(
        base_url="https://gpu:23333/v1",
        api_key_env="MY_KEY",
        connect_timeout_s=2.5,
        first_token_timeout_s=30,
        chunk_timeout_s=7,
        deadline_s=100,
        max_retries=0,
        ca_file=str(ca),
    )


def test_defaults_when_flags_are_absent() -> None:
    settings = parse_settings(["--backend", "remote", "--base-url", "http://127.0.0.1:23333/v1"])
    assert settings.backend.remote == RemoteOptions(base_url="http://127.0.0.1:23333/v1")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--backend", "remote"], "--backend remote needs --base-url"),
        (["--backend", "remote", "--base-url", "gpu:23333"], "must start with http:// or https://"),
        (["--base-url", "http://h/v1", "--backend", "remote", "--connect-timeout", "0"], "number > 0"),
        (["--base-url", "http://h/v1", "--backend", "remote", "--deadline", "soon"], "--deadline"),
        (["--base-url", "http://h/v1", "--backend", "remote", "--max-retries", "-1"], "integer >= 0"),
        (["--base-url", "http://h/v1", "--backend", "remote", "--ca-file", "/no/such.pem"], "not a readable"),
    ],
)
def test_misuse_is_one_line_and_exit_2(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and expected in err and "Traceback" not in err


def test_missing_base_url_from_the_real_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tui", "--backend", "remote"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "internlm-tui: error: --backend remote needs --base-url, e.g. http://host:23333/v1"
    )


def test_base_url_repeated_gives_several_servers() -> None:
    settings = parse_settings(
        ["--backend", "remote", "--base-url", "http://a:1/v1", "--base-url", "http://b:2/v1"]
    )
    remote = settings.backend.remote
    assert remote.base_url == "http://a:1/v1" and remote.more_urls == ("http://b:2/v1",)
    assert remote.urls == ("http://a:1/v1", "http://b:2/v1")


def test_config_list_of_servers_and_the_command_line_replaces_it(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('backend = "remote"\n[remote]\nbase_url = ["http://a:1/v1", "http://b:2/v1"]\n')
    assert parse_settings(["--config", str(path)]).backend.remote.urls == ("http://a:1/v1", "http://b:2/v1")
    given = parse_settings(["--config", str(path), "--base-url", "http://c:3/v1"])
    assert given.backend.remote.urls == ("http://c:3/v1",)
    path.write_text('backend = "remote"\n[remote]\nbase_url = "http://only:1/v1"\n')
    assert parse_settings(["--config", str(path)]).backend.remote.urls == ("http://only:1/v1",)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--base-url", "http://a/v1", "--base-url", "ftp://b/v1"], "must start with http:// or https://"),
        (["--base-url", "http://a/v1", "--base-url", "http://a/v1"], "the same server is given twice"),
    ],
)
def test_several_servers_misuse(args: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--backend", "remote", *args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and expected in err
