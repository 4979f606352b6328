"""No credential is stored or written: URL passwords stripped before saving, crash reports scrubbed."""

from __future__ import annotations

import pytest

from backends.options import BackendOptions, RemoteOptions
from tui.crash import crash_message, scrub
from tui.credentials import without_credentials
from tui.session import launch_options
from tui.settings import AppSettings


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("http://alice:s3cret@gpu-box:23333/v1", "http://gpu-box:23333/v1"),
        ("https://token-only@host/v1?api-version=1#x", "https://host/v1?api-version=1#x"),
        ("http://u:p@ss@[::1]:8000/v1", "http://[::1]:8000/v1"),  # an unencoded @ in the password
        ("http://host:8000/v1", "http://host:8000/v1"),
        ("http://host/v1/a@b", "http://host/v1/a@b"),  # an @ in the path is not user information
        (None, None),
    ],
)
def test_url_credentials_are_stripped(url: str | None, kept: str | None) -> None:
    assert without_credentials(url) == kept


def test_a_new_conversation_saves_the_url_without_its_password() -> None:
    remote = RemoteOptions(base_url="http://alice:s3cret@gpu-box:23333/v1")
    settings = AppSettings(backend=BackendOptions(backend="remote", remote=remote))
    options = launch_options(settings)
    assert options["base_url"] == "http://gpu-box:23333/v1"
    assert "s3cret" not in str(options) and "alice" not in str(options)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("{'Authorization': 'Basic YWxpY2U6czNjcmV0cHc='}", "YWxpY2U6czNjcmV0cHc="),
        ("{'Authorization': 'Bearer abc.def-ghi'}", "abc.def-ghi"),
        ("Authorization: Token 0123456789abcdef0123", "0123456789abcdef0123"),
        ("proxy-authorization=Digest username-and-response", "username-and-response"),
        ("curl -H 'Basic dXNlcjpwYXNzd29yZA=='", "dXNlcjpwYXNzd29yZA=="),
        ("gh: token ghp_A1b2C3d4E5f6G7h8I9j0", "ghp_A1b2C3d4E5f6G7h8I9j0"),
        ("{'x-api-key': 'k-1234567890'}", "k-1234567890"),
        ("X-Api-Key: k-1234567890", "k-1234567890"),
        ("api_key='plain-value-99'", "plain-value-99"),
        ("connect http://alice:s3cret-pw@gpu-box:23333/v1 failed", "s3cret-pw"),
        ("clone https://ghp_tokenvalue@github.com/o/r", "ghp_tokenvalue"),
        ("key sk-abcdefghijklmnop in text", "sk-abcdefghijklmnop"),
    ],
)
def test_the_crash_scrubber_removes_every_credential_shape(text: str, secret: str) -> None:
    scrubbed = scrub(text, [])
    assert secret not in scrubbed and "***" in scrubbed


def test_the_scrubber_keeps_ordinary_text_and_the_user_name() -> None:
    for text in (
        "the first token timeout is 120 s",
        "a basic example",
        "api_key_env='OPENAI_API_KEY'",
        "see http://gpu-box:23333/v1 for details",
    ):
        assert scrub(text, []) == text
    assert scrub("http://alice:pw-123@host/v1", []) == "http://alice:***@host/v1"


def test_known_secrets_are_removed_from_the_one_line_message() -> None:
    error = RuntimeError("sending {'Authorization': 'Basic YWxpY2U6czNjcmV0cHc='} with my-env-secret")
    shown = crash_message(error, None, ["my-env-secret"])
    assert "YWxpY2U6czNjcmV0cHc=" not in shown and "my-env-secret" not in shown
