"""The exit watchdog: never ends the process before the history is saved, always ends it after.

Each guard gets a fake ``exit`` that records the code, so the process running the tests lives.
Waits are on events; the only fixed waits check that nothing happens too early (a slow machine
can only make those pass, never fail).
"""

from __future__ import annotations

import signal
import threading

from tui.exit_guard import ExitGuard


class Exits:
    """A stand-in for ``os._exit``: remembers the code and wakes the test."""

    def __init__(self) -> None:
        self.codes: list[int] = []
        self.called = threading.Event()

    def __call__(self, code: int) -> None:
        self.codes.append(code)
        self.called.set()


def guard(exits: Exits, *, grace_s: float, save_wait_s: float = 30.0) -> ExitGuard:
    alarms: list[int] = []
    return ExitGuard(grace_s=grace_s, save_wait_s=save_wait_s, exit=exits, alarm=alarms.append)


def test_no_signal_no_exit() -> None:
    exits = Exits()
    watched = guard(exits, grace_s=0.0)
    watched.saved()
    assert not exits.called.wait(0.3)


def test_exit_waits_for_the_save_then_uses_128_plus_the_signal() -> None:
    exits = Exits()
    watched = guard(exits, grace_s=0.0)
    assert watched.signalled(signal.SIGTERM) is True
    assert not exits.called.wait(0.3), "exited before the history was saved"
    watched.saved()
    assert exits.called.wait(10)
    assert exits.codes == [128 + signal.SIGTERM]


def test_a_second_signal_ends_it_without_waiting_for_the_grace_period() -> None:
    exits = Exits()
    watched = guard(exits, grace_s=3600.0)
    assert watched.signalled(signal.SIGHUP) is True
    watched.saved()
    assert not exits.called.wait(0.3), "exited before the grace period with one signal"
    assert watched.signalled(signal.SIGTERM) is False
    assert exits.called.wait(10)
    assert exits.codes == [128 + signal.SIGHUP]  # the first signal's code


def test_a_second_signal_during_the_save_waits_for_the_save() -> None:
    exits = Exits()
    watched = guard(exits, grace_s=3600.0)
    watched.signalled(signal.SIGTERM)
    watched.signalled(signal.SIGTERM)
    assert not exits.called.wait(0.3), "exited in the middle of the save"
    watched.saved()
    assert exits.called.wait(10)


def test_a_save_that_never_finishes_still_ends_the_process() -> None:
    exits = Exits()
    watched = guard(exits, grace_s=0.1, save_wait_s=0.2)
    watched.signalled(signal.SIGHUP)
    assert exits.called.wait(10)
    assert exits.codes == [128 + signal.SIGHUP]


def test_the_last_resort_alarm_is_armed_once_past_the_watchdog() -> None:
    alarms: list[int] = []
    watched = ExitGuard(grace_s=3.0, save_wait_s=5.0, exit=Exits(), alarm=alarms.append)
    watched.signalled(signal.SIGTERM)
    watched.signalled(signal.SIGTERM)
    assert len(alarms) == 1 and alarms[0] > 3.0 + 5.0
