"""Hostile programs in the Python sandbox: each is contained within its limit while a
heartbeat thread (standing in for the UI's event loop) keeps ticking. (The isolation itself,
as a normal user with a fake home, is tests/slow/test_sandbox_hostile.py.)"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from backends.agent.isolation import SANDBOX_DIR
from backends.agent.sandbox import (
    SandboxLimits,
    SandboxResult,
    namespaces_available,
    run_python,
    run_unisolated,
)

LIMITS = SandboxLimits(wall_s=4.0, cpu_s=2, memory_bytes=256 * 1024 * 1024, output_bytes=4096)


class Heartbeat:
    """Ticks every 20 ms; ``worst_gap`` is the longest pause seen."""

    def __init__(self) -> None:
        self.worst_gap = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(0.02):
            now = time.monotonic()
            self.worst_gap = max(self.worst_gap, now - last)
            last = now

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def heartbeat() -> Iterator[Heartbeat]:
    with Heartbeat() as beat:
        yield beat
    assert beat.worst_gap < 0.5, f"the heartbeat stalled for {beat.worst_gap:.2f} s"


def contained(code: str, limits: SandboxLimits = LIMITS) -> SandboxResult:
    started = time.monotonic()
    result = run_python(code, limits=limits)
    assert time.monotonic() - started < limits.wall_s + 3
    return result


def test_plain_program(heartbeat: Heartbeat) -> None:
    result = contained("print((10 - 3) / 2)")
    assert result.ok and result.output == "3.5\n"


def test_endless_loop_hits_the_cpu_limit(heartbeat: Heartbeat) -> None:
    result = contained("while True:\n    pass\n")
    assert not result.ok
    assert result.elapsed_s < LIMITS.wall_s + 1


def test_sleeping_forever_hits_the_wall_clock(heartbeat: Heartbeat) -> None:
    result = contained("import time\ntime.sleep(60)\n", SandboxLimits(wall_s=1.0))
    assert not result.ok and result.reason.startswith("timeout")
    assert result.elapsed_s < 2.5


def test_memory_bomb(heartbeat: Heartbeat) -> None:
    result = contained("x = bytearray(4 * 1024**3)\nprint('allocated')\n")
    assert not result.ok and "MemoryError" in result.output and "allocated" not in result.output


def test_fork_bomb(heartbeat: Heartbeat) -> None:
    """Every copy of the bomb carries a token in its command line: none is left after the run
    (counting the user's processes instead was upset by other sandboxes running meanwhile)."""
    token = f"internlm-tui-bomb-{os.getpid()}-{time.monotonic_ns()}"
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    code = f"import os, sys\nos.execv(sys.executable, [sys.executable, '-c', {bomb!r}, {token!r}])\n"
    result = contained(code)
    assert not result.ok
    deadline = time.monotonic() + 5
    while _processes_with(token.encode()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _processes_with(token.encode()), "a copy of the bomb outlived the sandbox"


def test_huge_output_is_capped(heartbeat: Heartbeat) -> None:
    result = contained("while True:\n    print('x' * 1000)\n")
    assert not result.ok and result.reason == "output limit"
    assert len(result.output) < LIMITS.output_bytes + 100


def test_environment_holds_no_user_variables(heartbeat: Heartbeat, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value")
    result = contained("import os\nprint(sorted(os.environ.items()))\nprint(os.getcwd())\n")
    assert result.ok
    assert "sk-secret-value" not in result.output and "OPENAI_API_KEY" not in result.output
    assert result.output.splitlines()[-1] == SANDBOX_DIR
    assert os.getcwd() not in result.output


def test_working_directory_is_removed(heartbeat: Heartbeat, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    real_mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(*args: Any, **kwargs: Any) -> str:
        made.append(real_mkdtemp(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", recording_mkdtemp)
    result = contained("open('f.txt', 'w').write('x')\nprint(open('f.txt').read())\n")
    assert result.ok and result.output == "x\n"
    assert len(made) == 1 and not os.path.exists(made[0])


def test_file_size_limit(heartbeat: Heartbeat) -> None:
    limits = SandboxLimits(wall_s=4.0, file_bytes=1024 * 1024)
    result = contained("open('big', 'wb').write(b'x' * 8 * 1024 * 1024)\nprint('written')\n", limits)
    assert not result.ok and "written" not in result.output


def test_no_network(heartbeat: Heartbeat) -> None:
    """A loopback listener this test opens: reachable from here, not from the sandbox."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass  # reachable from outside the sandbox
        code = (
            "import socket\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
            "    print('connected')\n"
            "except OSError as exc:\n"
            "    print('blocked', exc)\n"
        )
        result = contained(code)
    assert result.ok and "blocked" in result.output and "connected" not in result.output


def test_the_program_cannot_start_processes(heartbeat: Heartbeat) -> None:
    """No child processes: the per-process memory limit then bounds the whole program."""
    code = (
        "import subprocess, sys\n"
        "try:\n"
        "    subprocess.Popen([sys.executable, '-c', 'pass'], start_new_session=True)\n"
        "    print('started')\n"
        "except OSError as exc:\n"
        "    print('refused', exc.errno)\n"
    )
    result = contained(code)
    assert result.ok and result.output.startswith("refused") and "started" not in result.output


def test_stray_children_are_killed_unisolated(heartbeat: Heartbeat) -> None:
    """With the opt-in and no isolation, a child that leaves the session still dies with the run."""
    marker = f"/tmp/internlm-tui-stray-{os.getpid()}"
    child = f"import time\ntime.sleep(1.5)\nopen({marker!r}, 'w').write('alive')\n"
    code = (
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', {child!r}], start_new_session=True)\n"
        "print('parent exits')\n"
    )
    if not namespaces_available():
        pytest.skip("unshare cannot make namespaces here")
    result = run_unisolated(code, LIMITS)
    assert result.ok
    time.sleep(2.5)
    try:
        assert not os.path.exists(marker), "a child outlived the sandbox"
    finally:
        if os.path.exists(marker):
            os.remove(marker)


def test_cancel_kills_a_running_program(heartbeat: Heartbeat) -> None:
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    result = run_python("import time\ntime.sleep(30)\n", limits=LIMITS, cancel=cancel)
    assert result.reason == "cancelled" and result.elapsed_s < 2.0


def test_threads_work(heartbeat: Heartbeat) -> None:
    """Threads are allowed (numpy and thread pools need them); only other processes are not."""
    code = (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "with ThreadPoolExecutor(4) as pool:\n"
        "    print(sum(pool.map(lambda x: x * x, range(100))))\n"
    )
    result = contained(code)
    assert result.ok and result.output == "328350\n"


def _processes_with(token: bytes) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as handle:
                    if token in handle.read():
                        found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_nothing_survives_the_wall_clock(heartbeat: Heartbeat) -> None:
    """A program that hangs (under a name we can find) is gone, with its namespace, on timeout."""
    token = f"internlm-tui-hang-{os.getpid()}-{time.monotonic_ns()}"
    code = (
        "import os, sys\n"
        f"os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(60)', {token!r}])\n"
    )
    runner = threading.Thread(target=contained, args=(code, SandboxLimits(wall_s=2.0)))
    runner.start()
    deadline = time.monotonic() + 10
    while not _processes_with(token.encode()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _processes_with(token.encode()), "the hanging program never showed up"
    runner.join()
    deadline = time.monotonic() + 3
    while _processes_with(token.encode()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _processes_with(token.encode())


def test_nothing_survives_the_app_being_killed(heartbeat: Heartbeat) -> None:
    """SIGKILL to the app (no cleanup runs) still takes the sandboxed program with it."""
    token = f"internlm-tui-orphan-{os.getpid()}-{time.monotonic_ns()}"
    program = (
        "import os, sys\n"
        f"os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(60)', {token!r}])\n"
    )
    app_code = (
        "from backends.agent.sandbox import SandboxLimits, run_python\n"
        f"run_python({program!r}, limits=SandboxLimits(wall_s=60, cpu_s=60))\n"
    )
    app = subprocess.Popen([sys.executable, "-c", app_code])
    try:
        deadline = time.monotonic() + 20
        while not _processes_with(token.encode()) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _processes_with(token.encode()), "the hanging program never showed up"
    finally:
        app.kill()
        app.wait()
    deadline = time.monotonic() + 5
    while _processes_with(token.encode()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _processes_with(token.encode()), "the sandboxed program outlived the app"
