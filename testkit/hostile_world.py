"""Runs the hostile programs (``testkit.hostile``) the way the agent runs tools, as a normal user.

``run_suite`` (called by the test and the benchmark) makes a fake home with realistic files,
picks an unused unprivileged uid when run as root (``setpriv``; else the current user), copies
the sandbox's modules to a folder that user can read, and starts this module as that user.
There (``main``) it brings up the user's live world, proves every target is reachable from
outside the sandbox, runs each program through ``backends.agent.sandbox.run_python`` (or the
unisolated runner, for the control run), judges it, and prints one JSON report. Stdlib only.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

from backends.agent.sandbox import (
    SandboxLimits,
    SandboxResult,
    interpreter,
    isolation,
    run_python,
    run_unisolated,
)
from testkit.hostile import ESCAPE_UNISOLATED, HOSTILE, KEYCTL, Targets, home_digests, judge

REPO = Path(__file__).resolve().parent.parent
CODE = (
    "backends/__init__.py",
    "backends/agent/__init__.py",
    "backends/agent/sandbox.py",
    "backends/agent/isolation.py",
    "testkit/__init__.py",
    "testkit/hostile.py",
    "testkit/hostile_world.py",
)
"""What the unprivileged user needs to run the suite (the repo itself may be out of its reach)."""

MEMORY_MB = 512


def make_fake_home(home: Path, uid: int) -> None:
    """A home with what a real one holds: ssh keys, the app's history and config, a .bashrc."""
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    (home / ".ssh" / "id_rsa").write_text(
        "-----BEGIN OPENSSH PRIVATE KEY-----\nhostile-test-private-key\n-----END OPENSSH PRIVATE KEY-----\n"
    )
    (home / ".ssh" / "id_rsa").chmod(0o600)
    (home / ".ssh" / "authorized_keys").write_text("ssh-ed25519 AAAA hostile-test\n")
    data = home / ".local" / "share" / "internlm-tui"
    data.mkdir(parents=True, mode=0o700)
    with sqlite3.connect(data / "history.sqlite3") as conn:
        conn.execute("CREATE TABLE messages (content TEXT)")
        conn.execute("INSERT INTO messages VALUES ('my bank password is hunter2')")
    conn.close()
    config = home / ".config" / "internlm-tui"
    config.mkdir(parents=True, mode=0o700)
    (config / "config.toml").write_text('[agent]\napprove = "ask"\n')
    (home / ".bashrc").write_text("export PS1='$ '\n")
    for folder, dirs, files in os.walk(home):
        for name in [
            folder,
            *(os.path.join(folder, d) for d in dirs),
            *(os.path.join(folder, f) for f in files),
        ]:
            os.chown(name, uid, uid)
    home.chmod(0o700)


def _free_uid() -> int:
    owners = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                owners.add(entry.stat().st_uid)
            except OSError:
                continue
    known = {
        int(line.split(":")[2])
        for line in Path("/etc/passwd").read_text().splitlines()
        if line.count(":") >= 3
    }
    uid = 40000 + os.getpid() % 20000
    while uid in owners or uid in known:
        uid += 1
    return uid


def _processes_of(uid: int) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def run_suite(mode: str = "isolated", only: tuple[str, ...] = (), timeout_s: float = 600) -> dict[str, Any]:
    """Run the suite as an unprivileged user with a fake home; the driver's JSON report."""
    root = Path(tempfile.mkdtemp(prefix="internlm-tui-hostile-", dir="/tmp"))
    root.chmod(0o755)
    as_root = os.getuid() == 0
    uid = _free_uid() if as_root else os.getuid()
    try:
        code = root / "code"
        for name in CODE:
            (code / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REPO / name, code / name)
        for folder, _dirs, files in os.walk(code):
            os.chmod(folder, 0o755)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o644)
        home = root / "home"
        make_fake_home(home, uid)
        secret = "sk-hostile-" + secrets.token_hex(8)
        env = {
            "HOME": str(home),
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(code),
            "OPENAI_API_KEY": secret,
            "TERM": "xterm",
            "LANG": "C.UTF-8",
            "SSH_AUTH_SOCK": str(home / ".ssh" / "agent.sock"),
        }
        argv = [
            interpreter(),
            "-s",
            "-m",
            "testkit.hostile_world",
            "--home",
            str(home),
            "--app-dir",
            str(code),
        ]
        argv += ["--mode", mode, "--secret", secret, "--only", ",".join(only)]
        if as_root:
            argv = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", *argv]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout_s, check=False)
        if done.returncode != 0:
            raise RuntimeError(
                f"the hostile suite's driver failed ({done.returncode}): {done.stderr[-2000:]}"
            )
        report: dict[str, Any] = json.loads(done.stdout)
        report["uid"] = uid
        return report
    finally:
        if as_root:
            for pid in _processes_of(uid):  # only the throwaway user's, all started by this suite
                with suppress(OSError):
                    os.kill(pid, 9)
        shutil.rmtree(root, ignore_errors=True)


# --- the driver, running as the unprivileged user -------------------------------------------------


def _unix_connect(path: str) -> None:
    with socket.socket(socket.AF_UNIX) as conn:
        conn.settimeout(2)
        conn.connect(path)


def _listening_unix(path: str) -> socket.socket:
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(8)
    return server


def _tmux(sock: str, *args: str) -> str:
    done = subprocess.run(["tmux", "-S", sock, *args], capture_output=True, text=True, timeout=30, check=True)
    return done.stdout.strip()


@contextmanager
def user_world(home: str, app_dir: str, secret: str) -> Iterator[Targets]:
    """The user's live session: tmux server, agent socket, abstract socket, pty, TCP listener."""
    token = secrets.token_hex(6)
    tcp = socket.create_server(("127.0.0.1", 0))
    abstract_name = f"internlm-tui-hostile-{token}"
    abstract = _listening_unix("\0" + abstract_name)
    agent_path = os.path.join(home, ".ssh", "agent.sock")
    agent = _listening_unix(agent_path)
    master, slave = os.openpty()
    tmux_sock = os.path.join(tempfile.gettempdir(), f"tmux-{os.getuid()}", f"hostile-{token}")
    os.makedirs(os.path.dirname(tmux_sock), mode=0o700, exist_ok=True)
    _tmux(tmux_sock, "-f", "/dev/null", "new-session", "-d", "-s", "hostile", "sleep 600")
    _keyring_secret(token, secret)
    leaked = os.open(os.path.join(home, ".ssh", "id_rsa"), os.O_RDONLY)
    os.set_inheritable(leaked, True)  # an app that forgot O_CLOEXEC on a file it read
    libc = ctypes.CDLL(None, use_errno=True)
    shm_key = int(token[:6], 16) or 1
    shm_id = libc.shmget(shm_key, 4096, 0o1000 | 0o600)  # IPC_CREAT
    try:
        targets = Targets(
            home=home,
            app_pid=os.getpid(),
            app_dir=app_dir,
            python_prefix=sys.prefix,
            tcp_port=tcp.getsockname()[1],
            tmux_socket=tmux_sock,
            tmux_pid=int(_tmux(tmux_sock, "display-message", "-p", "#{pid}")),
            agent_socket=agent_path,
            abstract_name=abstract_name,
            pty_path=os.ttyname(slave),
            token=token,
            secret=secret,
            memory_mb=MEMORY_MB,
            shm_key=shm_key,
        )
        yield replace(targets, digests=home_digests(home))
    finally:
        subprocess.run(["tmux", "-S", tmux_sock, "kill-server"], capture_output=True, timeout=30, check=False)
        for closable in (tcp, abstract, agent):
            closable.close()
        os.close(master)
        os.close(slave)
        os.close(leaked)
        if shm_id >= 0:
            libc.shmctl(shm_id, 0, None)  # IPC_RMID


def _keyctl(*args: object) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    number = KEYCTL.get(platform.machine())
    if number is None:
        raise OSError("keyctl: unknown machine")
    result: int = libc.syscall(number[1], *args)
    if result < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return result


def _keyring_secret(token: str, secret: str) -> None:
    """Put the secret in a session keyring of the app's, as a login or ``keyctl`` would."""
    number = KEYCTL.get(platform.machine())
    if number is None:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    _keyctl(1, b"internlm-tui-hostile-session")  # KEYCTL_JOIN_SESSION_KEYRING
    data = secret.encode()
    if libc.syscall(number[0], b"user", token.encode(), data, len(data), ctypes.c_long(-3)) < 0:
        raise OSError(ctypes.get_errno(), "add_key failed")


def _read_keyring_secret(t: Targets) -> None:
    kid = _keyctl(10, ctypes.c_long(-3), b"user", t.token.encode(), 0)  # KEYCTL_SEARCH
    buf = ctypes.create_string_buffer(256)
    size = _keyctl(11, ctypes.c_long(kid), buf, 256)  # KEYCTL_READ
    _require(buf.raw[:size] == t.secret.encode(), "another key")


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)


def outside_checks(t: Targets) -> dict[str, str]:
    """Each target reached from outside the sandbox ("" when it worked): the checks can fail."""
    checks: dict[str, str] = {}

    def check(name: str, action: Any) -> None:
        try:
            action()
            checks[name] = ""
        except Exception as exc:
            checks[name] = f"{type(exc).__name__}: {exc}"

    check("tcp_listener", lambda: socket.create_connection(("127.0.0.1", t.tcp_port), timeout=2).close())
    check("tmux_socket", lambda: _unix_connect(t.tmux_socket))
    check("tmux_server", lambda: _tmux(t.tmux_socket, "has-session", "-t", "hostile"))
    check("agent_socket", lambda: _unix_connect(t.agent_socket))
    check("abstract_socket", lambda: _unix_connect("\0" + t.abstract_name))
    check("pty", lambda: os.close(os.open(t.pty_path, os.O_RDWR | os.O_NOCTTY)))
    check("ssh_key", lambda: Path(t.ssh_key).read_bytes())
    check("history_db", lambda: Path(t.history_db).read_bytes())
    check("config_writable", lambda: _require(os.access(t.config, os.W_OK), "config.toml not writable"))
    check("bashrc_writable", lambda: _require(os.access(t.bashrc, os.W_OK), ".bashrc not writable"))
    check("session_keyring", lambda: _read_keyring_secret(t))
    check(
        "sysv_shared_memory", lambda: _require(ctypes.CDLL(None).shmget(t.shm_key, 0, 0) >= 0, "no segment")
    )
    check("secret_in_app_env", lambda: _require(os.environ.get("OPENAI_API_KEY") == t.secret, "no secret"))
    return checks


def _survivors(deadline_s: float = 3.0) -> list[int]:
    """Sandboxed processes still alive (waits up to ``deadline_s`` for them to go)."""
    uid = 65534 if os.getuid() == 0 else os.getuid()
    end = time.monotonic() + deadline_s
    while True:
        alive = []
        for pid in _processes_of(uid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if b"main.py" in cmdline and state != "Z":
                alive.append(pid)
        if not alive or time.monotonic() > end:
            return alive
        time.sleep(0.05)


def drive(mode: str, home: str, app_dir: str, secret: str, only: set[str]) -> dict[str, Any]:
    """Bring up the world, check it from outside, run every program, judge each."""
    limits = SandboxLimits(wall_s=15.0, cpu_s=5, memory_bytes=MEMORY_MB * 1024 * 1024, output_bytes=8192)
    programs = [h for h in HOSTILE if not only or h.name in only]
    if mode == "unisolated":
        programs = [h for h in programs if h.name in ESCAPE_UNISOLATED]
    outcomes = []
    with user_world(home, app_dir, secret) as targets:
        outside = outside_checks(targets)
        for hostile in programs:
            code = hostile.code(targets)
            run = run_unisolated if mode == "unisolated" else run_python_with
            result = run(code, limits)
            why = judge(hostile, result.output, targets)
            survivors = _survivors()
            if survivors and not why:
                why = f"processes survived: {survivors}"
            outcomes.append(
                {
                    "name": hostile.name,
                    "contained": not why,
                    "why": why,
                    "reason": result.reason,
                    "elapsed_s": round(result.elapsed_s, 3),
                    "output": result.output[-600:],
                }
            )
        outside["tmux_server_after"] = "" if _tmux_alive(targets) else "tmux server gone"
    found = isolation()
    return {
        "mode": mode,
        "isolation": {"available": found.available, "problem": found.problem, "memory": found.memory_scope},
        "outside": outside,
        "outcomes": outcomes,
    }


def run_python_with(code: str, limits: SandboxLimits) -> SandboxResult:
    """``run_python`` as the agent calls it (isolated, or refused)."""
    return run_python(code, limits=limits)


def _tmux_alive(t: Targets) -> bool:
    try:
        _tmux(t.tmux_socket, "has-session", "-t", "hostile")
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testkit.hostile_world")
    parser.add_argument("--home", required=True)
    parser.add_argument("--app-dir", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--mode", choices=["isolated", "unisolated"], default="isolated")
    parser.add_argument("--only", default="")
    args = parser.parse_args(argv)
    only = {name for name in args.only.split(",") if name}
    print(json.dumps(drive(args.mode, args.home, args.app_dir, args.secret, only)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
