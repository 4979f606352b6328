"""Auto-approve and approval keys from the config file: auto needs the user's confirmation, and the
approval actions cannot be bound to Enter or to keys pressed in ordinary typing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.approval_policy import ApprovalPolicy
from tui.cli import main, parse_settings
from tui.config import typing_key


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_auto_from_the_file_waits_for_confirmation(tmp_path: Path) -> None:
    path = write(tmp_path, '[agent]\napprove = "auto"\n')
    settings = parse_settings(["--config", str(path)])
    assert settings.backend.agent.approve == "ask" and settings.auto_approve_from == path
    assert ApprovalPolicy.from_settings(settings).mode == "confirm"


@pytest.mark.parametrize("flag", [["--approve", "auto"], ["--approve=auto"]])
def test_auto_from_the_command_line_is_deliberate(tmp_path: Path, flag: list[str]) -> None:
    path = write(tmp_path, '[agent]\napprove = "auto"\n')
    settings = parse_settings(["--config", str(path), *flag])
    assert settings.backend.agent.approve == "auto" and settings.auto_approve_from is None
    assert ApprovalPolicy.from_settings(settings).mode == "auto"


def test_ask_on_the_command_line_beats_auto_in_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[agent]\napprove = "auto"\n')
    settings = parse_settings(["--config", str(path), "--approve", "ask"])
    assert settings.backend.agent.approve == "ask" and settings.auto_approve_from is None


def test_a_confirmation_answer_sets_the_policy() -> None:
    policy = ApprovalPolicy("confirm")
    assert not policy.auto
    policy.decide(True)
    assert policy.auto and policy.answered_by_app
    declined = ApprovalPolicy("confirm")
    declined.decide(False)
    assert declined.mode == "ask" and not declined.answered_by_app


@pytest.mark.parametrize(
    "keys",
    [
        "enter",
        "ctrl+m",
        "ctrl+j",
        "tab",
        "space",
        "a",
        "Y",
        "shift+y",
        "comma",
        "full_stop",
        "1",
        "ctrl+y,enter",
    ],
)
@pytest.mark.parametrize("binding", ["approval.yes", "approval.no", "auto_approve.yes"])
def test_approval_keys_cannot_be_typing_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], keys: str, binding: str
) -> None:
    path = write(tmp_path, f'theme = "internlm-dark"\n\n[keymap]\n"{binding}" = "{keys}"\n')
    assert main(["--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"{path}:4:" in err and binding in err and "typing" in err


@pytest.mark.parametrize("keys", ["y", "n", "ctrl+y", "f5", "alt+y", "y,ctrl+y"])
def test_other_approval_keys_are_accepted(tmp_path: Path, keys: str) -> None:
    path = write(tmp_path, f'[keymap]\n"approval.yes" = "{keys}"\n')
    assert parse_settings(["--config", str(path)]).keymap == {"approval.yes": keys}


def test_other_bindings_may_use_printable_keys(tmp_path: Path) -> None:
    path = write(tmp_path, '[keymap]\n"chat.copy" = "f5"\n"confirm.yes" = "j"\n')
    assert parse_settings(["--config", str(path)]).keymap["confirm.yes"] == "j"


@pytest.mark.parametrize(
    ("key", "typed"),
    [
        *[(key, True) for key in ("x", "shift+x", "plus", "question_mark", "é", "enter")],
        *[(key, False) for key in ("ctrl+x", "f1", "escape", "up", "shift+tab")],
    ],
)
def test_typing_key(key: str, typed: bool) -> None:
    assert typing_key(key) is typed
