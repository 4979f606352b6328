"""The hostile-program suite, run the way the agent runs tools, as a normal user with a fake home.

``testkit.hostile_world.run_suite`` starts the suite as an unused unprivileged uid (we run as
root here) whose home holds ssh keys, the history database, config.toml and .bashrc, with a live
tmux server, an ssh-agent-like socket, a pty, a loopback TCP listener, an abstract socket, a
secret in its session keyring, a System V shared memory segment and a leaked file descriptor.
Every target is first shown reachable from outside the sandbox; then each program must be
contained. A control run without isolation shows the same checks catch real escapes.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest

from backends.agent.sandbox import isolation
from testkit.hostile import ESCAPE_UNISOLATED, HOSTILE
from testkit.hostile_world import run_suite

pytestmark = [
    pytest.mark.skipif(not isolation().available, reason=f"no isolation here: {isolation().problem}"),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
    pytest.mark.skipif(os.getuid() == 0 and shutil.which("setpriv") is None, reason="setpriv is missing"),
]


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return run_suite("isolated")


def test_the_suite_is_large_and_ran_as_a_normal_user(report: dict[str, Any]) -> None:
    assert len(HOSTILE) >= 30 and len(report["outcomes"]) == len(HOSTILE)
    assert report["uid"] != 0 and report["isolation"]["available"]


def test_every_target_is_reachable_from_outside_the_sandbox(report: dict[str, Any]) -> None:
    failed = {name: why for name, why in report["outside"].items() if why}
    assert not failed, failed


@pytest.mark.parametrize("name", [hostile.name for hostile in HOSTILE])
def test_hostile_program_is_contained(report: dict[str, Any], name: str) -> None:
    outcome = next(o for o in report["outcomes"] if o["name"] == name)
    assert outcome["contained"], f"{name}: {outcome['why']}\n{outcome['output']}"
    assert outcome["reason"] == "", outcome  # contained by isolation, not by a timeout or a kill


def test_without_isolation_the_same_checks_catch_escapes() -> None:
    control = run_suite("unisolated")
    escaped = {o["name"] for o in control["outcomes"] if not o["contained"]}
    assert escaped == set(ESCAPE_UNISOLATED), control["outcomes"]
