"""Runs model-written Python out of process, with limits (no UI imports, no lagent).

Each run gets a fresh ``python -I`` in a new temporary directory with an environment that holds
none of the user's variables, resource limits (CPU time, address space, file size, process
count), a wall-clock timeout, its own session / process group (killed whole at the end, on
timeout and on cancel) and capped output. Where ``unshare`` can create user, network and PID
namespaces (checked once) the program also has no network, and every process it started dies
with it; otherwise ``network_blocked`` is False and the UI says so. When the app runs as root
the program runs as ``nobody`` (root is exempt from the process-count limit).
"""

from __future__ import annotations

import contextlib
import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    """Limits of one run."""

    wall_s: float = 20.0
    cpu_s: int = 10
    memory_bytes: int = 512 * 1024 * 1024
    file_bytes: int = 16 * 1024 * 1024
    extra_processes: int = 32
    output_bytes: int = 16 * 1024


@dataclass(frozen=True, slots=True)
class SandboxResult:
    """What a run printed and how it ended."""

    output: str
    ok: bool
    elapsed_s: float
    reason: str = ""
    """Empty when the program ran to the end; else timeout / cancelled / output limit / exit N."""


@functools.cache
def namespaces_available() -> bool:
    """True if ``unshare`` can give a program its own user, network and PID namespaces."""
    exe = shutil.which("unshare")
    if exe is None:
        return False
    try:
        done = subprocess.run(
            [exe, "-rnpf", "--kill-child", "true"], capture_output=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def network_blocked() -> bool:
    """Whether sandboxed programs run without network access on this machine."""
    return namespaces_available()


NOBODY = 65534
"""Run as root, the app drops the sandboxed program to this user id: root ignores RLIMIT_NPROC."""


def _sandbox_uid() -> int:
    return NOBODY if os.getuid() == 0 else os.getuid()


def _world_executable(path: str) -> bool:
    """True if every directory on the way to ``path`` and the file itself are open to others."""
    path = os.path.realpath(path)
    parts = path.split(os.sep)
    for end in range(2, len(parts) + 1):
        try:
            mode = os.stat(os.sep.join(parts[:end]) or os.sep).st_mode
        except OSError:
            return False
        if not mode & 0o001:
            return False
    return True


@functools.cache
def interpreter() -> str:
    """The Python that runs sandboxed code (the app's own unless the dropped user cannot run it)."""
    if os.getuid() != 0 or _world_executable(sys.executable):
        return sys.executable
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(candidate) and _world_executable(candidate):
            return candidate
    return sys.executable


def _user_process_count(uid: int) -> int:
    """Processes ``uid`` already has (RLIMIT_NPROC counts them all)."""
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += 1
            except OSError:
                continue
    return count


def _limit_child(limits: SandboxLimits, nproc: int) -> None:  # pragma: no cover - runs in child
    os.nice(10)  # a busy program must not starve the UI on a small machine
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if os.getuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def run_python(
    code: str, *, limits: SandboxLimits | None = None, cancel: threading.Event | None = None
) -> SandboxResult:
    """Run ``code`` in a sandboxed interpreter; blocks until it ends (call from a worker thread)."""
    limits = limits or SandboxLimits()
    cancel = cancel or threading.Event()
    workdir = tempfile.mkdtemp(prefix="internlm-tui-py-")
    script = os.path.join(workdir, "main.py")
    with open(script, "w", encoding="utf-8") as handle:
        handle.write(code)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    uid = _sandbox_uid()
    if uid != os.getuid():
        os.chown(workdir, uid, uid)
        os.chown(script, uid, uid)
    argv = [interpreter(), "-I", script]
    if namespaces_available():
        unshare = shutil.which("unshare") or "unshare"
        argv = [unshare, "-rnpf", "--kill-child", *argv]
    nproc = _user_process_count(uid) + limits.extra_processes
    started = time.monotonic()
    chunks: list[bytes] = []
    size = 0
    over = threading.Event()
    try:
        proc = subprocess.Popen(
            argv,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=functools.partial(_limit_child, limits, nproc),
        )
    except OSError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        return SandboxResult(f"could not start the sandbox: {exc}", False, 0.0, "start failed")

    def reader() -> None:
        nonlocal size
        assert proc.stdout is not None
        while True:
            block = os.read(proc.stdout.fileno(), 4096)
            if not block:
                return
            if size < limits.output_bytes:
                chunks.append(block[: limits.output_bytes - size])
            size += len(block)
            if size > limits.output_bytes:
                over.set()
                _kill_group(proc)

    thread = threading.Thread(target=reader, name="sandbox-output", daemon=True)
    thread.start()
    reason = ""
    try:
        while True:
            try:
                proc.wait(timeout=0.05)
                break
            except subprocess.TimeoutExpired:
                pass
            if cancel.is_set():
                reason = "cancelled"
            elif time.monotonic() - started > limits.wall_s:
                reason = f"timeout after {limits.wall_s:g} s"
            elif over.is_set():
                reason = "output limit"
            if reason:
                _kill_group(proc)
                proc.wait()
                break
    finally:
        _kill_group(proc)  # stray children left in the group
        thread.join(timeout=2.0)
        if proc.stdout is not None:
            proc.stdout.close()
        shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - started
    output = b"".join(chunks).decode("utf-8", errors="replace")
    if over.is_set() and not reason:
        reason = "output limit"
    if reason == "output limit":
        output += f"\n[output cut at {limits.output_bytes} bytes]"
    code_ = proc.returncode
    if not reason and code_ != 0:
        if code_ is not None and code_ < 0:
            name = signal.Signals(-code_).name if -code_ in signal.valid_signals() else str(-code_)
            reason = f"killed by {name}"
        else:
            reason = f"exit {code_}"
        if elapsed >= limits.cpu_s * 0.9:
            reason += f" (CPU limit of {limits.cpu_s} s?)"
    return SandboxResult(output, not reason, elapsed, reason)
