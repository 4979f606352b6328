"""What the user sees when the app hits a bug: one line and a report file, never a secret.

Textual's own crash screen prints a traceback with every frame's local variables, and those
hold API keys, Authorization headers and whole conversations. We replace it with a one-line
message and write a report (traceback without locals) to a private file, with every secret we
know of removed: the values of environment variables that look like credentials (the configured
API key variable included), and credentials of known shapes anywhere in the text: the value of
an ``Authorization`` header whatever its scheme, ``Bearer``/``Basic``/``Token`` credentials,
``x-api-key`` / ``api_key`` values, ``sk-`` keys and the password (or lone token) in a URL.
"""

from __future__ import annotations

import os
import re
import time
import traceback
from collections.abc import Iterable
from pathlib import Path

from tui.private_files import private_dir, write_private_text
from tui.sanitize import one_line

_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH", re.IGNORECASE)
_VALUE = r"[^\s'\",;}\]]+"
_SECRET_SHAPES = (
    # A header's whole value, scheme included: "Authorization: Basic dXNlcjpwdw==" keeps nothing.
    re.compile(rf"(?i)((?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)(?:[A-Za-z][\w-]*\s+)?{_VALUE}"),
    re.compile(rf"(?i)((?:x-)?api[-_]?key['\"]?\s*[:=]\s*['\"]?){_VALUE}"),
    re.compile(rf"(?i)(\bbearer\s+){_VALUE}"),
    re.compile(r"(?i)(\bbasic\s+)[A-Za-z0-9+/]{8,}={0,2}"),
    # "Token <value>" (GitHub and Django style); a value this long is not an English word.
    re.compile(r"(?i)(\btoken\s+)[A-Za-z0-9._~+/=-]{12,}"),
    re.compile(r"()\bsk-[A-Za-z0-9_\-]{8,}"),
    # scheme://user:password@host keeps the user; scheme://token@host keeps nothing of it.
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s/@:'\"]*:)[^\s/'\"]*(?=@)"),
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^\s/@:'\"]+(?=@)"),
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
        private_dir(folder, tighten_existing=True)
        write_private_text(path, scrub(text, list(secrets)))
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
