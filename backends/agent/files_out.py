"""Files a sandboxed program leaves in its working folder (a saved plot), brought back safely.

The program is hostile, so the folder is never read by the app. Inside the sandbox, after the
program ends, a few lines of our own (``RUNNER``, in the same process, so the program could
tamper with them: everything they send is checked again here) list the folder without
following links and send regular image files that are new or changed since the start through
a pipe, as ``SIZE NAME\\n`` + bytes. The app reads at most ``MAX_TOTAL`` bytes from that pipe
(draining the rest), and keeps at most ``MAX_FILES`` files of at most ``MAX_FILE_BYTES`` each
whose content really is an image, under sanitised base names.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading

from backends.events import Attachment

MAX_FILES = 8
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_TOTAL = MAX_FILES * MAX_FILE_BYTES + 64 * 1024
MAX_SCANNED = 200_000
"""Folder entries looked at (only names ending in an image suffix are examined further)."""
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")
MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"RIFF")
"""First bytes of the images worth sending (checked properly again by ``sniff_image``)."""

RUNNER = f"""\
import os, runpy, stat, sys
_fd, _script = int(sys.argv[1]), sys.argv[2]
_dir = os.path.dirname(_script)
def _listing():
    found = {{}}
    try:
        with os.scandir(_dir) as entries:
            for number, entry in enumerate(entries):
                if number >= {MAX_SCANNED}:
                    break
                if not entry.name.lower().endswith({IMAGE_SUFFIXES!r}):
                    continue
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                found[entry.name] = (info.st_mtime_ns, info.st_size, info.st_ino)
    except OSError:
        pass
    return found
_before = _listing()
def _send():
    sent = 0
    for name, key in sorted(_listing().items()):
        if sent >= {MAX_FILES}:
            break
        if _before.get(name) == key:
            continue
        try:
            handle = os.open(os.path.join(_dir, name), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            info = os.fstat(handle)
            if not stat.S_ISREG(info.st_mode) or info.st_size > {MAX_FILE_BYTES}:
                continue
            data = b""
            while len(data) <= {MAX_FILE_BYTES}:
                block = os.read(handle, 1 << 20)
                if not block:
                    break
                data += block
        except OSError:
            continue
        finally:
            os.close(handle)
        if len(data) > {MAX_FILE_BYTES} or not data.startswith({MAGIC!r}):
            continue
        record = ("%d %s\\n" % (len(data), name)).encode("utf-8", "surrogateescape") + data
        try:
            while record:
                record = record[os.write(_fd, record):]
        except OSError:
            return
        sent += 1
sys.argv = [_script]
_status = 0
try:
    runpy.run_path(_script, run_name="__main__")
except SystemExit:
    raise
except BaseException as _error:
    import traceback
    _tb = _error.__traceback__
    while _tb is not None and _tb.tb_frame.f_code.co_filename != _script:
        _tb = _tb.tb_next
    traceback.print_exception(type(_error), _error, _tb)
    _status = 1
finally:
    try:
        _send()
    finally:
        os.close(_fd)
sys.exit(_status)
"""
"""Runs the program (``python -I -c RUNNER FD SCRIPT``) and then sends the images it saved."""

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class FilesReader:
    """Reads the runner's pipe in a thread: at most ``MAX_TOTAL`` bytes kept, the rest drained."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.data = bytearray()
        self.over = False
        self._thread = threading.Thread(target=self._read, name="sandbox-files", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            while True:
                block = os.read(self.fd, 1 << 16)
                if not block:
                    return
                if len(self.data) < MAX_TOTAL:
                    self.data += block[: MAX_TOTAL - len(self.data)]
                else:
                    self.over = True
        except OSError:
            return

    def finish(self, timeout: float = 2.0) -> bytes:
        """Wait for the end of the stream (bounded), close the pipe, return what was kept."""
        self._thread.join(timeout)
        with contextlib.suppress(OSError):
            os.close(self.fd)
        return bytes(self.data)


def safe_file_name(raw: str, taken: set[str]) -> str:
    """A plain base name (``[A-Za-z0-9._-]``, no leading dot, at most 80 characters) not in ``taken``."""
    base = os.path.basename(raw.replace("\\", "/"))
    base = _SAFE.sub("_", base).lstrip(".")[:80] or "file"
    stem, dot, suffix = base.rpartition(".")
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{stem}-{number}.{suffix}" if dot and stem else f"{base}-{number}"
    taken.add(name)
    return name


def sniff_image(data: bytes) -> str | None:
    """The image type ``data`` really is (by its first bytes), or None: names and claimed
    media types are never trusted."""
    for magic, mime in (
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
    ):
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def parse_files(stream: bytes) -> tuple[list[Attachment], list[str]]:
    """The images in the runner's stream, and one note per file left out (for the model)."""
    images: list[Attachment] = []
    notes: list[str] = []
    taken: set[str] = set()
    at = 0
    while at < len(stream) and len(images) + len(notes) < 4 * MAX_FILES:
        end = stream.find(b"\n", at, at + 400)
        if end < 0:
            break
        size_text, _, raw_name = stream[at:end].decode("utf-8", "replace").partition(" ")
        if not size_text.isdigit() or int(size_text) > MAX_FILE_BYTES:
            break
        size = int(size_text)
        data = stream[end + 1 : end + 1 + size]
        at = end + 1 + size
        if len(data) < size:
            notes.append("a file was cut off and left out")
            break
        name = safe_file_name(raw_name, taken)
        mime = sniff_image(data)
        if mime is None:
            notes.append(f"{name} is not an image and was left out")
        elif len(images) >= MAX_FILES:
            notes.append(f"{name} left out (at most {MAX_FILES} images)")
        else:
            images.append(Attachment(name, mime, data))
    return images, notes
