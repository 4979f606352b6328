"""The bubblewrap command line: what the sandbox is given to see, and in which order."""

from __future__ import annotations

import sys

import pytest

from backends.agent.isolation import SANDBOX_DIR, bwrap_argv, python_roots


def _mounts(argv: list[str]) -> list[tuple[str, str]]:
    """(option, destination) for every mount, in order."""
    found = []
    for index, arg in enumerate(argv):
        if arg in ("--ro-bind", "--ro-bind-try", "--bind", "--dev-bind-try"):
            found.append((arg, argv[index + 2]))
        elif arg in ("--tmpfs", "--proc"):
            found.append((arg, argv[index + 1]))
    return found


def test_a_python_in_tmp_is_bound_after_the_private_tmp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "prefix", "/tmp/venv")
    monkeypatch.setattr(sys, "exec_prefix", "/tmp/venv")
    mounts = _mounts(bwrap_argv("bwrap", "/tmp/work", sys.executable, 2))
    assert mounts.index(("--ro-bind", "/tmp/venv")) > mounts.index(("--tmpfs", "/tmp"))


def test_the_view_has_no_home_and_a_private_working_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/someone")
    argv = bwrap_argv("bwrap", "/tmp/work-1", "/usr/bin/python3", 2)
    destinations = [dest for _, dest in _mounts(argv)]
    assert not any(dest.startswith(("/home", "/root")) for dest in destinations)
    assert ("--tmpfs", SANDBOX_DIR) in _mounts(argv)
    assert ("--ro-bind", f"{SANDBOX_DIR}/main.py") in _mounts(argv)  # the only host file it gets
    assert "--bind" not in argv  # nothing of the host is writable
    for flag in ("--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--clearenv"):
        assert flag in argv


def test_a_python_prefix_holding_the_home_is_never_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/srv/people/someone")
    monkeypatch.setattr(sys, "prefix", "/srv/people")
    monkeypatch.setattr(sys, "exec_prefix", "/srv/people")
    assert "/srv/people" not in python_roots(sys.executable)
