"""The sandbox's own view of the system: the bubblewrap command line (the probe is in ``sandbox``).

A sandboxed program gets new user, mount, PID, network, IPC, UTS and cgroup namespaces from
bubblewrap (``bwrap``): a root made of read-only system and Python paths, its working folder
read-write at ``/sandbox`` (a private tmpfs with the program as ``main.py``), private empty
``/tmp``, ``/var/tmp``, ``/dev/shm`` and ``/run`` (small tmpfs), a private ``/proc``, a
``/dev`` with only null, zero, full, random and urandom, no home, no network and no further
user namespaces. Bubblewrap is used rather than hand-made ``unshare`` mounts because it is the
maintained tool for exactly this (Flatpak's sandbox); where it is missing or cannot create
namespaces the tool refuses to run (``Isolation.problem``)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from backends.agent.files_out import RUNNER

SANDBOX_DIR = "/sandbox"
"""The program's working folder inside the sandbox (also its HOME): a private tmpfs holding a
read-only ``main.py``, so what it writes never reaches the user's disk and vanishes with it."""

INPUTS = "in"
"""The host folder (inside the run's private folder) holding copies of the user's attached files."""

WORKDIR_BYTES = 128 * 1024 * 1024
"""Size of the working folder: a program cannot fill the user's disk."""

TMPFS_BYTES = 64 * 1024 * 1024
"""Size of each private tmpfs (/tmp, /var/tmp, /dev/shm, /run): files there are memory."""

SYSTEM_DIRS = ("/usr", "/opt")
"""Read-only system paths (programs and libraries); nothing from /home, /root, /etc or /var."""

ETC_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/localtime",
    "/etc/alternatives",
    "/etc/matplotlibrc",  # Debian's python3-matplotlib keeps its defaults there
)
"""The few /etc entries a dynamically linked Python needs (no passwd, no shadow, no ssh)."""

DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")

HOW_TO_ENABLE = (
    "install bubblewrap (apt install bubblewrap) and allow unprivileged user namespaces "
    "(e.g. sysctl kernel.apparmor_restrict_unprivileged_userns=0), "
    "or run with --unisolated-tools to run it without isolation"
)


@dataclass(frozen=True, slots=True)
class Isolation:
    """Whether sandboxed programs can be isolated here; ``problem`` is one line when not."""

    available: bool
    bwrap: str = ""
    problem: str = ""
    memory_scope: str = "the whole program: one process (no child processes), threads share its limit"
    """What the memory limit covers: cgroups are not used; RLIMIT_AS limits the one process, and
    the seccomp filter (``backends.agent.seccomp``) with RLIMIT_NPROC counted inside the user
    namespace keeps it from starting another (threads only; no threads where seccomp is unknown)."""


def find_bwrap() -> str | None:
    """The ``bwrap`` executable on PATH or in the usual places, if installed."""
    return shutil.which("bwrap") or next(
        (path for path in ("/usr/bin/bwrap", "/usr/local/bin/bwrap") if os.access(path, os.X_OK)), None
    )


def python_roots(interpreter: str) -> list[str]:
    """Folders the interpreter needs (its prefix, base prefix, real location) outside /usr.

    Never ``/`` or a folder holding the user's home: a Python installed there is refused (the
    probe then fails) rather than exposing the home.
    """
    home = os.path.realpath(os.path.expanduser("~"))
    roots: list[str] = []
    candidates = [os.path.dirname(os.path.dirname(os.path.realpath(interpreter)))]
    if os.path.realpath(interpreter) == os.path.realpath(sys.executable):
        candidates += [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    for path in candidates:
        real = os.path.realpath(path)
        if real in roots or any(real == d or real.startswith(d + os.sep) for d in SYSTEM_DIRS):
            continue
        if real == os.sep or real == home or home.startswith(real.rstrip(os.sep) + os.sep):
            continue
        roots.append(real)
        if path != real and os.path.abspath(path) not in roots:
            roots.append(os.path.abspath(path))  # a venv reached through a symlink
    return roots


def bwrap_argv(
    bwrap: str,
    workdir: str,
    interpreter: str,
    nproc: int,
    seccomp_fd: int | None = None,
    files_fd: int | None = None,
    inputs: Sequence[str] = (),
) -> list[str]:
    """The command line that runs ``interpreter -I main.py`` in ``workdir`` inside a new sandbox.

    ``nproc`` is applied inside (by ``prlimit``) so it counts only the sandbox's own tasks
    (threads included); ``seccomp_fd`` holds the filter that forbids child processes.
    """
    argv = [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--uid",
        "65534",
        "--gid",
        "65534",
        "--hostname",
        "sandbox",
    ]
    for path in SYSTEM_DIRS:
        argv += ["--ro-bind-try", path, path]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        target = os.path.join("/", name)
        if os.path.islink(target):
            argv += ["--symlink", os.readlink(target), target]
        elif os.path.isdir(target):
            argv += ["--ro-bind", target, target]
    for path in ETC_FILES:
        argv += ["--ro-bind-try", path, path]
    argv += ["--proc", "/proc", "--tmpfs", "/dev"]
    for device in DEVICES:
        argv += ["--dev-bind-try", device, device]
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        argv += ["--symlink", target, f"/dev/{name}"]
    for path in ("/tmp", "/var/tmp", "/dev/shm", "/run"):
        argv += ["--size", str(TMPFS_BYTES), "--perms", "1777", "--tmpfs", path]
    argv += [
        "--size",
        str(WORKDIR_BYTES),
        "--perms",
        "0700",
        "--tmpfs",
        SANDBOX_DIR,
    ]
    for path in python_roots(interpreter):  # after the tmpfs mounts: a venv may live in /tmp
        argv += ["--ro-bind", path, path]
    for name in inputs:  # the user's attached files, read-only, by plain base name
        argv += ["--ro-bind", os.path.join(workdir, INPUTS, name), f"{SANDBOX_DIR}/{name}"]
    argv += [
        "--ro-bind",
        os.path.join(workdir, "main.py"),
        f"{SANDBOX_DIR}/main.py",
        "--chdir",
        SANDBOX_DIR,
        "--setenv",
        "PATH",
        "/usr/bin:/bin",
        "--setenv",
        "HOME",
        SANDBOX_DIR,
        "--setenv",
        "TMPDIR",
        "/tmp",
        "--setenv",
        "LANG",
        "C.UTF-8",
        "--setenv",
        "PYTHONIOENCODING",
        "utf-8",
        "--setenv",
        "PYTHONDONTWRITEBYTECODE",
        "1",
        "--setenv",
        "MALLOC_ARENA_MAX",
        "2",  # threads' malloc arenas would use up the address-space limit
    ]
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
    argv += [
        "--",
    ]
    prlimit = shutil.which("prlimit") or "/usr/bin/prlimit"
    argv += [prlimit, f"--nproc={nproc}:{nproc}", "--", interpreter, "-I"]
    if files_fd is None:
        return [*argv, f"{SANDBOX_DIR}/main.py"]
    return [*argv, "-c", RUNNER, str(files_fd), f"{SANDBOX_DIR}/main.py"]
