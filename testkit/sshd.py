"""A throwaway OpenSSH server on a loopback port, for end-to-end tests over a real SSH login.

Everything lives in a temp folder (host key, client key, authorized_keys, config, pid file);
nothing system-wide is changed except creating sshd's privilege-separation folder when it is
missing, which is removed again afterwards.
"""

from __future__ import annotations

import getpass
import os
import shlex
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = Path("/run/sshd")


def missing_tools() -> str | None:
    """Why the SSH tests cannot run here, or None."""
    for tool in (SSHD, shutil.which("ssh"), shutil.which("ssh-keygen"), shutil.which("tmux")):
        if tool is None or not Path(tool).exists():
            return "sshd, ssh, ssh-keygen and tmux are needed (scripts/system-deps.sh installs them)"
    return None


@dataclass(frozen=True)
class SshServer:
    """How to log in to the running server."""

    port: int
    key: Path
    user: str

    def command(self, remote: str, env: Mapping[str, str]) -> str:
        """A shell command that logs in with a pty (``ssh -tt``) and runs ``remote`` there."""
        exports = " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())
        options = (
            f"-tt -p {self.port} -i {shlex.quote(str(self.key))} -o StrictHostKeyChecking=no "
            "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes"
        )
        return f"ssh {options} {self.user}@127.0.0.1 {shlex.quote(f'env {exports} {remote}')}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


def run_sshd(folder: Path) -> Iterator[SshServer]:
    """Start sshd in ``folder`` and yield how to reach it; stop it afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    _keygen(folder / "host_key")
    _keygen(folder / "client_key")
    authorized = folder / "authorized_keys"
    shutil.copy(folder / "client_key.pub", authorized)
    os.chmod(authorized, 0o600)
    port = _free_port()
    config = folder / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {folder / 'host_key'}",
                f"AuthorizedKeysFile {authorized}",
                f"PidFile {folder / 'sshd.pid'}",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                "PermitRootLogin prohibit-password",
                "StrictModes no",
                "UsePAM no",
                "PrintMotd no",
                "Subsystem sftp internal-sftp",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    created_privsep = False
    if os.geteuid() == 0 and not PRIVSEP_DIR.exists():
        PRIVSEP_DIR.mkdir(mode=0o755, parents=True)
        created_privsep = True
    log = open(folder / "sshd.log", "wb")  # noqa: SIM115  (closed in finally)
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"sshd exited: {(folder / 'sshd.log').read_text(errors='replace')[-500:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("sshd did not start listening within 15 s") from None
                time.sleep(0.1)
        yield SshServer(port, folder / "client_key", getpass.getuser())
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        if created_privsep:
            shutil.rmtree(PRIVSEP_DIR, ignore_errors=True)
