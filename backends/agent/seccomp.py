"""A seccomp filter that lets a sandboxed program start threads but no other process.

RLIMIT_NPROC counts threads too, so on its own it cannot allow threads (numpy, thread pools)
while forbidding child processes (which would each get their own address-space limit). This
filter makes ``fork``, ``vfork`` and ``clone`` without ``CLONE_THREAD`` fail with EAGAIN and
``clone3`` fail with ENOSYS (glibc then creates threads with ``clone``); system calls of another
architecture (i386 / x32 on x86_64, AArch32 on arm64) fail with ENOSYS. Written here as a few
classic-BPF instructions because libseccomp's Python binding is rarely installed; bubblewrap
loads it (``--seccomp FD``). ``None`` on machines it does not know.
"""

from __future__ import annotations

import errno
import os
import platform
import struct

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
SYSCALLS = {
    "x86_64": {"fork": 57, "vfork": 58, "clone": 56, "clone3": 435},
    "aarch64": {"clone": 220, "clone3": 435},
}
X32_SYSCALL_BIT = 0x40000000
CLONE_THREAD = 0x00010000

LD_ABS_W = 0x20
JEQ = 0x15
JGE = 0x35
JSET = 0x45
RET = 0x06
ALLOW = 0x7FFF0000
ERRNO = 0x00050000

# offsets into struct seccomp_data
NR = 0
ARCH = 4
ARG0_LOW = 16  # little-endian: the low 32 bits of args[0] (clone's flags)


def _program(machine: str) -> list[tuple[int, int | str, int | str, int]]:
    """Instructions as (code, jump-if-true, jump-if-false, k); jumps name labels or are 0."""
    calls = SYSCALLS[machine]
    prog: list[tuple[int, int | str, int | str, int]] = [
        (LD_ABS_W, 0, 0, ARCH),
        (JEQ, 0, "nosys", AUDIT_ARCH[machine]),
        (LD_ABS_W, 0, 0, NR),
    ]
    if machine == "x86_64":
        prog.append((JGE, "nosys", 0, X32_SYSCALL_BIT))
    for name in ("fork", "vfork"):
        if name in calls:
            prog.append((JEQ, "again", 0, calls[name]))
    prog += [
        (JEQ, "nosys", 0, calls["clone3"]),
        (JEQ, 0, "allow", calls["clone"]),
        (LD_ABS_W, 0, 0, ARG0_LOW),
        (JSET, "allow", "again", CLONE_THREAD),
    ]
    return prog


LABELS = {"allow": ALLOW, "again": ERRNO | errno.EAGAIN, "nosys": ERRNO | errno.ENOSYS}


def filter_bytes(machine: str | None = None) -> bytes | None:
    """The compiled filter (``struct sock_filter[]``) for this machine, or None if unknown."""
    machine = machine or platform.machine()
    if machine not in SYSCALLS:
        return None
    body = _program(machine)
    tail = list(LABELS)  # one RET per label, after the body
    out = b""
    for index, (code, jt, jf, k) in enumerate(body):

        def offset(target: int | str, index: int = index) -> int:
            if isinstance(target, int):
                return target
            return len(body) + tail.index(target) - index - 1

        out += struct.pack("=HBBI", code, offset(jt), offset(jf), k)
    for label in tail:
        out += struct.pack("=HBBI", RET, 0, 0, LABELS[label])
    return out


def filter_fd() -> int | None:
    """A readable file descriptor holding the filter, for ``bwrap --seccomp``."""
    data = filter_bytes()
    if data is None:
        return None
    fd = os.memfd_create("internlm-tui-seccomp", os.MFD_CLOEXEC)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
