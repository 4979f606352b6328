"""Drive a real terminal program in a detached tmux session: send keys, read the screen."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path


class TmuxSession:
    """One detached tmux session on a private socket, killed on ``close``."""

    def __init__(
        self, command: str, *, width: int = 120, height: int = 40, env: Mapping[str, str] | None = None
    ) -> None:
        if shutil.which("tmux") is None:
            raise RuntimeError("tmux is not installed")
        self.socket = f"internlm-tui-test-{uuid.uuid4().hex[:8]}"
        self.name = "app"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        shell_cmd = f"env {exports} {command}; echo '[exited '$?']'; sleep 600"
        self._tmux("new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), shell_cmd)

    def _tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30
        )
        if result.returncode != 0:
            raise RuntimeError(f"tmux {args[0]} failed: {result.stderr.strip()}")
        return result.stdout

    def send(self, *keys: str, literal: bool = False) -> None:
        """Send keys (tmux key names, or literal text with ``literal=True``)."""
        self._tmux("send-keys", "-t", self.name, *(["-l"] if literal else []), *keys)

    def screen(self) -> str:
        """The visible screen as plain text."""
        return self._tmux("capture-pane", "-p", "-t", self.name)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 60.0, what: str = "") -> str:
        """Poll the screen until ``predicate`` holds; fail with the last screen on timeout."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what or predicate}; screen was:\n{screen}")

    def record_output(self, path: str) -> None:
        """Append every byte the program writes to its terminal to ``path`` (tmux pipe-pane)."""
        self._tmux("pipe-pane", "-O", "-t", self.name, f"cat >> {shlex.quote(path)}")

    def resize(self, width: int, height: int) -> None:
        """Resize the window, as a user dragging the terminal would."""
        self._tmux("resize-window", "-t", self.name, "-x", str(width), "-y", str(height))

    def title(self) -> str:
        """The pane title, which an OSC 0/2 sequence written by the program would change."""
        return self._tmux("display-message", "-p", "-t", self.name, "#{pane_title}").strip()

    def hang_up(self) -> None:
        """Close the terminal under the program, as a dropped SSH connection does (SIGHUP)."""
        self._tmux("kill-session", "-t", self.name)

    def close(self) -> None:
        """Kill the session and its programs."""
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)


def app_pid(marker: str) -> int:
    """The Python process of the app (not the shell tmux started it from)."""
    found = subprocess.run(["pgrep", "-f", "--", marker], capture_output=True, text=True).stdout.split()
    for pid in found:
        if Path(f"/proc/{pid}/comm").read_text().startswith("python"):
            return int(pid)
    raise AssertionError(f"app process not found among {found}")
