"""What the user sees when the app hits a bug: one line and a report file, never a secret.

Textual's own crash screen prints a traceback with every frame's local variables, and those
hold API keys, Authorization headers and whole conversations. We replace it with a one-line
message and write a report (traceback without locals) to a private file, with every secret we
know of removed: the values of environment variables that look like credentials (the configured
API key variable included), and bearer tokens or ``sk-`` keys that appear anywhere in the text.
"""

from __future__ import annotations

import os
import re
import time
import traceback
from collections.abc import Iterable
from pathlib import Path

from tui.sanitize import one_line

_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH", re.IGNORECASE)
_SECRET_SHAPES = (
    re.compile(r"(?i)(bearer\s+)[^\s'\",]+"),
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^\s'\",]+"),
    re.compile(r"()\bsk-[A-Za-z0-9_\-]{8,}"),
)
_MIN_SECRET_LEN = 6


def known_secrets(extra_env_names: Iterable[str] = ()) -> list[str]:
    """Values of credential-like environment variables (and of the named ones), longest first."""
    names = {name for name in os.environ if _SECRET_NAME.search(name)} | set(extra_env_names)
    values = {os.environ.get(name, "") for name in names}
    return sorted((v for v in values if len(v) >= _MIN_SECRET_LEN), key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every known secret and every token-shaped string replaced by ``***``."""
    for secret in secrets:
        text = text.replace(secret, "***")
    for shape in _SECRET_SHAPES:
        text = shape.sub(lambda match: match.group(1) + "***", text)
    return text


def crash_dir() -> Path:
    """Where crash reports go: a private folder in the user data dir."""
    from platformdirs import user_data_path

    return user_data_path("internlm-tui") / "crash"


def write_report(error: BaseException, secrets: Iterable[str]) -> Path | None:
    """Write the scrubbed traceback (no local variables) to a new 0600 file; None if impossible."""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    folder = crash_dir()
    path = folder / time.strftime("crash-%Y%m%d-%H%M%S.txt")
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(scrub(text, list(secrets)))
    except OSError:
        return None
    return path


def crash_message(error: BaseException, report: Path | None, secrets: Iterable[str]) -> str:
    """The lines printed after the app has left the alternate screen."""
    what = one_line(scrub(f"{type(error).__name__}: {error}", list(secrets)), limit=200)
    where = f"Details (secrets removed) are in {report}." if report else "No report could be written."
    return (
        f"internlm-tui stopped after an internal error: {what}\n"
        f"{where}\n"
        "Your conversations are saved: `internlm-tui --resume` continues the last one.\n"
    )
