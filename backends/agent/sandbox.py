"""Runs model-written Python out of process, isolated, with limits (no UI imports, no lagent).

Each run gets a fresh ``python -I`` in a new working folder, inside a bubblewrap sandbox
(``backends.agent.isolation``): no home, no network, private /proc, /tmp and /dev, its own PID
namespace (every process it started dies with it), an unprivileged uid, no user variables, no
tty (stdin is /dev/null, output goes through a pipe, new session), a new empty session keyring
(keys a login put in the user's are out of reach), no_new_privs. Resource limits: CPU time,
address space, file size, threads but no child processes (``backends.agent.seccomp``; cgroups
are not used, so this is what makes the memory limit cover the whole program), a wall-clock
timeout and capped output.

Whether isolation works is checked once by really running a probe (``isolation()``). Where it
does not, every call is refused with one line naming what to enable, unless the user opted in
to ``--unisolated-tools``; then the program runs as before this sandbox existed (own session,
limits, ``unshare -rnpf`` when available) and the UI says so. When the app runs as root the
program runs as ``nobody``.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from backends.agent import seccomp
from backends.agent.files_out import RUNNER, FilesReader, parse_files
from backends.agent.isolation import HOW_TO_ENABLE, INPUTS, SANDBOX_DIR, Isolation, bwrap_argv, find_bwrap
from backends.events import Attachment


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    """Limits of one run, and whether the user allowed running without isolation."""

    wall_s: float = 20.0
    cpu_s: int = 10
    memory_bytes: int = 512 * 1024 * 1024
    file_bytes: int = 16 * 1024 * 1024
    extra_processes: int = 32
    """Child processes allowed in the unisolated mode only (the isolated program may start none)."""
    output_bytes: int = 16 * 1024
    unisolated: bool = False
    """The user's explicit opt-in (``--unisolated-tools``): run even where isolation is impossible."""


@dataclass(frozen=True, slots=True)
class SandboxResult:
    """What a run printed and how it ended."""

    output: str
    ok: bool
    elapsed_s: float
    reason: str = ""
    """Empty when the program ran to the end; else timeout / cancelled / output limit / exit N /
    refused (isolation impossible and no opt-in)."""
    images: tuple[Attachment, ...] = ()
    """Images the program saved in its working folder (checked: ``backends.agent.files_out``)."""
    notes: tuple[str, ...] = ()
    """Files it saved that were left out, and why."""


NOBODY = 65534
"""Run as root, the app drops the sandboxed program to this user id."""

PR_SET_NO_NEW_PRIVS = 38
KEYCTL_JOIN_SESSION_KEYRING = 1
KEYCTL_SYSCALL = {"x86_64": 250, "aarch64": 219, "riscv64": 219, "ppc64le": 280, "s390x": 280, "i686": 288}
"""``keyctl``'s system call number (glibc has no wrapper; libkeyutils may be missing)."""


PROBE = """\
import os, socket
checks = {{
    "own pid namespace": sum(p.isdigit() for p in os.listdir("/proc")) < 5,
    "no home": not os.path.exists({home!r}),
    "no network": [name for _, name in socket.if_nameindex()] == ["lo"],
}}
try:
    os.fork() or os._exit(0)
    checks["no child processes"] = False
except OSError:
    pass
failed = [name for name, ok in checks.items() if not ok]
print(os.getuid(), os.getcwd(), "failed checks: " + ", ".join(failed) if failed else "ok")
"""
"""The probe: run in the sandbox, it prints ``65534 /sandbox ok`` only if the view is right."""


@functools.cache
def isolation() -> Isolation:
    """Check once, by really running a tiny program in the sandbox, whether isolation works here."""
    bwrap = find_bwrap()
    if bwrap is None:
        return Isolation(False, problem=f"bubblewrap (bwrap) is not installed; {HOW_TO_ENABLE}")
    if shutil.which("prlimit") is None:
        return Isolation(False, problem=f"prlimit (util-linux) is not installed; {HOW_TO_ENABLE}")
    home = os.path.expanduser("~")
    if os.path.realpath(home) == os.sep:
        home = "/nonexistent"  # a home of "/" (some containers) is not something the view can lack
    result = run_isolated(PROBE.format(home=home), bwrap, SandboxLimits(wall_s=15.0))
    if not result.ok or result.output.split() != [str(NOBODY), SANDBOX_DIR, "ok"]:
        said = next((line.strip() for line in result.output.splitlines() if line.strip()), result.reason)
        return Isolation(False, problem=f"bubblewrap cannot set up a sandbox here ({said}); {HOW_TO_ENABLE}")
    return Isolation(True, bwrap=bwrap)


def tools_isolated() -> bool:
    """Whether sandboxed programs run isolated on this machine (else refused or unisolated)."""
    return isolation().available


def network_blocked() -> bool:
    """Whether sandboxed programs run isolated (no network, no home, ...) on this machine."""
    return tools_isolated()


def refusal() -> str:
    """The one line a refused call returns."""
    return f"The Python tool is off because it cannot be isolated: {isolation().problem}"


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


def _new_session_keyring() -> None:  # pragma: no cover - runs in child
    """Leave the user's session keyring (keys a login or ssh put there) for a new, empty one."""
    number = KEYCTL_SYSCALL.get(platform.machine())
    if number is None:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(number, KEYCTL_JOIN_SESSION_KEYRING, None) < 0:
        err = ctypes.get_errno()
        if err not in (errno.ENOSYS, errno.EPERM):  # keyctl blocked here (seccomp): no keys to reach
            raise OSError(err, f"cannot leave the session keyring: {os.strerror(err)}")


def _common_limits(limits: SandboxLimits) -> None:  # pragma: no cover - runs in child
    os.nice(10)  # a busy program must not starve the UI on a small machine
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if os.getuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    _new_session_keyring()


def _limit_isolated(limits: SandboxLimits) -> None:  # pragma: no cover - runs in child
    _common_limits(limits)
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def _limit_unisolated(limits: SandboxLimits, nproc: int) -> None:  # pragma: no cover - runs in child
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    _common_limits(limits)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _workdir(code: str, inputs: Sequence[Attachment] = (), inputs_apart: bool = True) -> str:
    """A new private folder holding ``main.py`` and copies of the user's files (in ``in/`` when
    ``inputs_apart``, for the sandbox to mount; else beside ``main.py``), owned by the user the
    program runs as. Input names are plain base names already (``backends.agent.files_in``)."""
    parent = tempfile.gettempdir()
    if os.getuid() == 0 and not _world_executable(parent):
        parent = "/tmp"  # nobody must be able to reach it
    workdir = tempfile.mkdtemp(prefix="internlm-tui-py-", dir=parent)
    script = os.path.join(workdir, "main.py")
    with open(script, "w", encoding="utf-8") as handle:
        handle.write(code)
    owned = [workdir, script]
    if inputs:
        folder = os.path.join(workdir, INPUTS) if inputs_apart else workdir
        if inputs_apart:
            os.mkdir(folder, 0o700)
            owned.append(folder)
        for item in inputs:
            path = os.path.join(folder, item.name)
            handle_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(handle_fd, "wb") as out:
                out.write(item.data)
            owned.append(path)
    uid = _sandbox_uid()
    if uid != os.getuid():
        for path in owned:
            os.chown(path, uid, uid)
    return workdir


ISOLATED_PROCESSES = 2
"""Processes of the sandbox's user inside its namespace when the program starts (bubblewrap's
init and the program): RLIMIT_NPROC at this value lets the program start no other task."""

THREADS = 64
"""Threads a program may start where the seccomp filter forbids child processes."""


def run_isolated(
    code: str,
    bwrap: str,
    limits: SandboxLimits,
    cancel: threading.Event | None = None,
    inputs: Sequence[Attachment] = (),
) -> SandboxResult:
    """Run ``code`` inside a bubblewrap sandbox (see ``backends.agent.isolation``)."""
    workdir = _workdir(code, inputs)
    fd = seccomp.filter_fd()
    nproc = ISOLATED_PROCESSES + (THREADS if fd is not None else 0)
    files_read, files_write = os.pipe()
    names = [item.name for item in inputs]
    argv = bwrap_argv(bwrap, workdir, interpreter(), nproc, fd, files_write, names)
    preexec = functools.partial(_limit_isolated, limits)
    passed = (files_write,) if fd is None else (fd, files_write)
    try:
        return _supervise(argv, workdir, preexec, limits, cancel or threading.Event(), passed, files_read)
    finally:
        if fd is not None:
            os.close(fd)


def run_unisolated(
    code: str,
    limits: SandboxLimits,
    cancel: threading.Event | None = None,
    inputs: Sequence[Attachment] = (),
) -> SandboxResult:
    """Run ``code`` without a filesystem view of its own (only with the user's opt-in)."""
    workdir = _workdir(code, inputs, inputs_apart=False)
    files_read, files_write = os.pipe()
    argv = [interpreter(), "-I", "-c", RUNNER, str(files_write), os.path.join(workdir, "main.py")]
    if namespaces_available():
        unshare = shutil.which("unshare") or "unshare"
        argv = [unshare, "-rnpf", "--kill-child", *argv]
    nproc = _user_process_count(_sandbox_uid()) + limits.extra_processes
    preexec = functools.partial(_limit_unisolated, limits, nproc)
    return _supervise(argv, workdir, preexec, limits, cancel or threading.Event(), (files_write,), files_read)


def run_python(
    code: str,
    *,
    limits: SandboxLimits | None = None,
    cancel: threading.Event | None = None,
    inputs: Sequence[Attachment] = (),
) -> SandboxResult:
    """Run ``code`` in the sandbox with the user's files ``inputs`` in its working folder;
    blocks until it ends (call from a worker thread). Images it saves there come back.

    Refused (nothing runs) where isolation is impossible, unless ``limits.unisolated``.
    """
    limits = limits or SandboxLimits()
    found = isolation()
    if found.available:
        return run_isolated(code, found.bwrap, limits, cancel, inputs)
    if limits.unisolated:
        return run_unisolated(code, limits, cancel, inputs)
    return SandboxResult(refusal(), False, 0.0, "refused")


def _supervise(
    argv: list[str],
    workdir: str,
    preexec: Callable[[], None],
    limits: SandboxLimits,
    cancel: threading.Event,
    pass_fds: tuple[int, ...] = (),
    files_fd: int | None = None,
) -> SandboxResult:
    """Start ``argv``, collect capped output (and the images sent on ``files_fd``, whose write
    end is the last of ``pass_fds``), enforce wall clock and cancel, clean up."""
    started = time.monotonic()
    chunks: list[bytes] = []
    size = 0
    over = threading.Event()
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": workdir,
        "TMPDIR": workdir,
        "PYTHONIOENCODING": "utf-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    try:
        proc = subprocess.Popen(
            argv,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            pass_fds=pass_fds,
            preexec_fn=preexec,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        if files_fd is not None:
            os.close(files_fd)
            os.close(pass_fds[-1])
        return SandboxResult(f"could not start the sandbox: {exc}", False, 0.0, "start failed")
    files = None
    if files_fd is not None:
        os.close(pass_fds[-1])  # only the program holds the write end now
        files = FilesReader(files_fd)

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
        stream = files.finish() if files is not None else b""
    images, notes = parse_files(stream)
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
    return SandboxResult(output, not reason, elapsed, reason, tuple(images), tuple(notes))
