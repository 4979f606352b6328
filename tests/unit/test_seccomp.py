"""The seccomp filter, run on a small classic-BPF interpreter: threads yes, processes no."""

from __future__ import annotations

import errno
import struct

import pytest

from backends.agent import seccomp
from backends.agent.seccomp import AUDIT_ARCH, CLONE_THREAD, SYSCALLS, filter_bytes

ALLOW = "allow"
THREAD_FLAGS = 0x3D0F00  # what glibc's pthread_create passes (CLONE_VM|...|CLONE_THREAD|...)
assert THREAD_FLAGS & CLONE_THREAD


def run_filter(program: bytes, nr: int, arch: int, arg0: int = 0) -> str:
    """Evaluate the filter on one system call; 'allow' or the errno name it returns."""
    data = struct.pack("=iIQ6Q", nr, arch, 0, arg0, 0, 0, 0, 0, 0)
    code = [struct.unpack_from("=HBBI", program, i) for i in range(0, len(program), 8)]
    acc, pc = 0, 0
    while True:
        op, jt, jf, k = code[pc]
        if op == seccomp.LD_ABS_W:
            acc = struct.unpack_from("=I", data, k)[0]
        elif op in (seccomp.JEQ, seccomp.JGE, seccomp.JSET):
            taken = {seccomp.JEQ: acc == k, seccomp.JGE: acc >= k, seccomp.JSET: bool(acc & k)}[op]
            pc += jt if taken else jf
        elif op == seccomp.RET:
            if k == seccomp.ALLOW:
                return ALLOW
            assert k & 0xFFFF0000 == seccomp.ERRNO
            return errno.errorcode[k & 0xFFFF]
        else:
            raise AssertionError(f"unexpected instruction {op:#x}")
        pc += 1


@pytest.mark.parametrize("machine", sorted(SYSCALLS))
def test_threads_pass_and_processes_do_not(machine: str) -> None:
    program = filter_bytes(machine)
    assert program is not None
    arch, calls = AUDIT_ARCH[machine], SYSCALLS[machine]
    assert run_filter(program, calls["clone"], arch, THREAD_FLAGS) == ALLOW
    assert run_filter(program, calls["clone"], arch, 17) == "EAGAIN"  # SIGCHLD: fork through clone
    assert run_filter(program, calls["clone"], arch, 0x4111) == "EAGAIN"  # CLONE_VM|CLONE_VFORK|SIGCHLD
    assert run_filter(program, calls["clone3"], arch) == "ENOSYS"  # glibc falls back to clone
    for name in ("fork", "vfork"):
        if name in calls:
            assert run_filter(program, calls[name], arch) == "EAGAIN"
    for other in (0, 1, 3, 60, 202, 231):  # read, write, close, exit, futex, exit_group on x86_64
        assert run_filter(program, other, arch) == ALLOW


def test_another_architecture_gets_nothing() -> None:
    program = filter_bytes("x86_64")
    assert program is not None
    assert run_filter(program, 2, 0x40000003) == "ENOSYS"  # i386 fork through int 0x80
    assert run_filter(program, 0x40000000 | 57, AUDIT_ARCH["x86_64"]) == "ENOSYS"  # x32 fork


def test_unknown_machine_has_no_filter() -> None:
    assert filter_bytes("mips") is None
