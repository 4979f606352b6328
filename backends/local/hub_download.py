"""Fetch a model from the Hugging Face Hub (or ModelScope) with progress, resume and a disk check.

The downloading is the libraries' own: ``huggingface_hub`` (honours ``HF_ENDPOINT``,
``HF_HOME``, ``HF_TOKEN`` and ``HF_HUB_OFFLINE``) and ``modelscope.snapshot_download``. What
this module adds: the progress hook (a ``tqdm_class``) turned into ``DownloadProgress``
figures, cancellation from that same hook, the free-space check before the first byte, the
LFS sha256 of every weights file checked after the last one, and every failure as one line
(no token, no traceback).

Resuming after an interruption: huggingface_hub 2.x resumes only within one call (its partial
files are per process and deleted on failure), so each missing file is fetched with the
library's own ``http_get`` (Range, retries, a server ignoring Range) into a stable
``blobs/<etag>.part`` under a file lock, then moved to ``blobs/<etag>``; ``snapshot_download``
afterwards finds the blobs and only links the snapshot. A killed or cancelled download keeps its
``.part`` and the next run continues from its size.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

Hub = Literal["hf", "modelscope"]
ProgressSink = Callable[["DownloadProgress"], None]
FreeBytes = Callable[[Path], int]


PIECE_BYTES = 1024 * 1024
"""How much is read, written and reported at a time."""


class DownloadError(Exception):
    """A download failed; the message is one line for the user."""


class DownloadCancelled(DownloadError):
    """The user cancelled; what was fetched so far is kept for the next try."""


@dataclass(frozen=True, slots=True)
class DownloadProgress:
    """Bytes on disk so far (resumed bytes included) out of the total, with rate and time left."""

    done: int
    total: int
    rate_bps: float | None = None
    eta_s: float | None = None
    stage: str = "downloading"


def human_bytes(count: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(count) < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} GB"  # pragma: no cover - the loop always returns


def describe(progress: DownloadProgress) -> str:
    """``12.3 MB / 270.0 MB · 4.1 MB/s · 1 min 5 s left`` (what the panel and stderr show)."""
    parts = [f"{human_bytes(progress.done)} / {human_bytes(progress.total)}"]
    if progress.rate_bps:
        parts.append(f"{human_bytes(progress.rate_bps)}/s")
    if progress.eta_s is not None and progress.done < progress.total:
        minutes, seconds = divmod(int(progress.eta_s), 60)
        parts.append(f"{minutes} min {seconds} s left" if minutes else f"{seconds} s left")
    if progress.stage != "downloading":
        parts.insert(0, progress.stage)
    return " · ".join(parts)


def free_bytes(path: Path) -> int:
    """Free space where ``path`` is (or would be): its nearest existing folder's file system."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


class _Meter:
    """Turns byte counts into rate and time left (a moving window, so a stall shows)."""

    def __init__(self, sink: ProgressSink, cancel: threading.Event, interval_s: float = 0.2) -> None:
        self.sink = sink
        self.cancel = cancel
        self.total = 0
        self.done = 0
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._last_sent = 0.0
        self._window: list[tuple[float, int]] = []

    def add(self, count: int) -> None:
        if self.cancel.is_set():
            raise DownloadCancelled("download cancelled; what was fetched is kept and resumes next time")
        with self._lock:
            self.done += count
            now = time.monotonic()
            self._window.append((now, self.done))
            self._window = [(t, d) for t, d in self._window if now - t <= 3.0]
            if now - self._last_sent < self._interval_s:
                return
            self._last_sent = now
        try:
            self.sink(self.figures())
        except Exception:  # the watcher stopped us (the app's load was cancelled)
            self.cancel.set()
            raise DownloadCancelled(
                "download cancelled; what was fetched is kept and resumes next time"
            ) from None

    def figures(self, stage: str = "downloading") -> DownloadProgress:
        rate: float | None = None
        if len(self._window) >= 2:
            (t0, d0), (t1, d1) = self._window[0], self._window[-1]
            rate = (d1 - d0) / (t1 - t0) if t1 > t0 else None
        eta = (self.total - self.done) / rate if rate else None
        return DownloadProgress(
            min(self.done, max(self.total, self.done)), max(self.total, self.done), rate, eta, stage
        )


def _progress_class(meter: _Meter, *, every: bool = False) -> type:
    """A tqdm stand-in for ``snapshot_download(tqdm_class=...)``: the bytes bar feeds ``meter``.

    ``snapshot_download`` makes a files bar and two bytes bars (network transfer and bytes
    written, ``Reconstructing``); the second counts resumed bytes too, so it is the one used.
    Raising from ``update`` is how a cancel stops the file being fetched.
    """

    class Bar:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.desc = str(kwargs.get("desc") or "")
            self.counts = every or (kwargs.get("unit") == "B" and self.desc.startswith("Reconstruct"))
            self.n = 0
            self._total = kwargs.get("total") or 0
            initial = kwargs.get("initial") or 0
            if initial:
                self.update(initial)

        @property
        def total(self) -> int:
            return int(self._total)

        @total.setter
        def total(self, value: int | None) -> None:
            self._total = value or 0  # the meter's total comes from the dry run instead

        def update(self, n: float | None = 1) -> None:
            self.n += int(n or 0)
            if self.counts:
                meter.add(int(n or 0))
            elif meter.cancel.is_set():
                raise DownloadCancelled("download cancelled; what was fetched is kept and resumes next time")

        def __enter__(self) -> Bar:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        @property
        def format_dict(self) -> dict[str, Any]:
            return {}

        def close(self) -> None: ...

        def refresh(self) -> None: ...

        def set_description(self, desc: str | None = None, refresh: bool = True) -> None: ...

        def set_description_str(self, desc: str | None = None, refresh: bool = True) -> None: ...

        def set_postfix_str(self, s: str = "", refresh: bool = True) -> None: ...

    return Bar


def cache_dir() -> Path:
    """Where the hub library keeps models (``HF_HUB_CACHE``, else ``HF_HOME``/hub)."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def _one_line(exc: BaseException, repo_id: str, revision: str | None, endpoint: str | None) -> str:
    """What went wrong, for the user, without any token."""
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = _shown(endpoint or constants.ENDPOINT)
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(chain) < 8:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    known = (
        GatedRepoError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
        LocalEntryNotFoundError,
        HfHubHTTPError,
    )
    exc = next((item for item in chain if isinstance(item, known)), exc)
    if isinstance(exc, GatedRepoError):
        return f"{repo_id} is gated: accept its terms on the hub, then set HF_TOKEN"
    if isinstance(exc, RepositoryNotFoundError):
        return f"no model {repo_id} on {where} (or it is private: set HF_TOKEN)"
    if isinstance(exc, RevisionNotFoundError):
        return f"{repo_id} has no revision {revision!r}"
    if isinstance(exc, LocalEntryNotFoundError | OfflineModeIsEnabled):
        if constants.HF_HUB_OFFLINE:
            return f"{repo_id} is not in the cache {cache_dir()} and HF_HUB_OFFLINE=1 forbids downloading it"
        return f"cannot reach the hub at {where} and {repo_id} is not in the cache"
    if isinstance(exc, HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else "?"
        return f"the hub at {where} answered {status} for {repo_id}"
    if not isinstance(exc, known) and any(_is_unreachable(item) for item in chain):
        return f"cannot reach the hub at {where} and {repo_id} is not in the cache"
    if isinstance(exc, OSError) and "Consistency check failed" in str(exc):
        return f"a file of {repo_id} arrived with the wrong size; run the download again"
    return f"download of {repo_id} failed: {type(exc).__name__}"


def _is_unreachable(exc: BaseException) -> bool:
    """A refused or timed-out connection or an unknown host, however the HTTP library wraps it."""
    if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror):
        return True
    return any(kind.__name__ in ("TransportError", "TimeoutException") for kind in type(exc).__mro__)


def _shown(url: str) -> str:
    """The hub's address without ``user:password@`` (an ``HF_ENDPOINT`` mirror may carry one)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _quiet_libraries() -> None:
    """The hub libraries log retries as warnings on stderr, which would draw over the app and
    add lines to the command's output: their failures reach the user as our one line instead."""
    for name in ("huggingface_hub", "modelscope", "modelscope_hub"):
        logging.getLogger(name).setLevel(logging.ERROR)


def download(
    repo_id: str,
    *,
    revision: str | None = None,
    hub: Hub = "hf",
    progress: ProgressSink = lambda _p: None,
    notice: Callable[[str], None] = lambda _s: None,
    cancel: threading.Event | None = None,
    endpoint: str | None = None,
    free: FreeBytes = free_bytes,
) -> Path:
    """Download (or find in the cache) ``repo_id`` and return its local folder.

    ``endpoint`` overrides ``HF_ENDPOINT`` (tests); ``free`` measures free space (tests pass a
    small number to see the refusal). Raises ``DownloadError`` with one line.
    """
    cancel = cancel or threading.Event()
    if hub == "modelscope":
        return _modelscope(repo_id, revision, progress, cancel)
    from huggingface_hub import constants, snapshot_download

    _quiet_libraries()  # after the import: the library sets its loggers' levels when imported
    # The library writes (and reports) what it receives in 10 MiB pieces: 1 MiB gives a live
    # progress line on a slow link and loses at most 1 MiB to a kill.
    constants.DOWNLOAD_CHUNK_SIZE = min(constants.DOWNLOAD_CHUNK_SIZE, PIECE_BYTES)
    endpoint = endpoint or constants.ENDPOINT

    if constants.HF_HUB_OFFLINE:
        notice(f"HF_HUB_OFFLINE=1: using the cache {cache_dir()} only")
        try:
            return Path(snapshot_download(repo_id, revision=revision, local_files_only=True))
        except Exception as exc:
            raise DownloadError(_one_line(exc, repo_id, revision, endpoint)) from None
    try:
        silent = _progress_class(_Meter(lambda _p: None, cancel))
        plan = snapshot_download(
            repo_id, revision=revision, endpoint=endpoint, dry_run=True, tqdm_class=silent
        )
        needed = sum(item.file_size or 0 for item in plan if item.will_download)
        total = sum(item.file_size or 0 for item in plan)
        room = free(cache_dir())
        if needed > room:
            raise DownloadError(
                f"not enough disk space for {repo_id}: it needs {human_bytes(needed)} more, "
                f"{human_bytes(room)} free in {cache_dir()}"
            )
        meter = _Meter(progress, cancel)
        meter.total = total
        meter.done = total - needed  # complete files already in the cache; a partial one adds its part
        commit = plan[0].commit_hash if plan else revision
        partial = _partial_bytes(repo_id)
        if needed < total or partial:
            notice(f"resuming: {human_bytes(total - needed + partial)} already in the cache")
        bar = _progress_class(meter, every=True)
        for item in plan:
            if item.will_download:
                _fetch_resumable(repo_id, item.filename, commit, endpoint, bar)
        folder = Path(
            snapshot_download(repo_id, revision=commit, endpoint=endpoint, tqdm_class=silent, max_workers=4)
        )
        progress(meter.figures("checking"))
        _check_sha256(repo_id, commit, folder, endpoint)
        progress(DownloadProgress(max(total, meter.done), max(total, meter.done), stage="done"))
        return folder
    except DownloadError:
        raise
    except Exception as exc:
        cached = _cached_when_unreachable(exc, repo_id, revision)
        if cached is None:
            raise DownloadError(_one_line(exc, repo_id, revision, endpoint)) from None
        notice(f"cannot reach the hub at {_shown(endpoint)}: using the copy in the cache {cache_dir()}")
        return cached


def _cached_when_unreachable(exc: BaseException, repo_id: str, revision: str | None) -> Path | None:
    """The cached snapshot when the hub could not be reached (as huggingface_hub itself does
    without our dry run), else None."""
    from huggingface_hub import snapshot_download

    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(chain) < 8:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    if not any(_is_unreachable(item) for item in chain):
        return None
    try:
        return Path(snapshot_download(repo_id, revision=revision, local_files_only=True))
    except Exception:
        return None


def _storage(repo_id: str) -> Path:
    from huggingface_hub.file_download import repo_folder_name

    return cache_dir() / repo_folder_name(repo_id=repo_id, repo_type="model")


def _partial_bytes(repo_id: str) -> int:
    """Bytes in ``.part`` files left by an interrupted download of ``repo_id``."""
    blobs = _storage(repo_id) / "blobs"
    return sum(part.stat().st_size for part in blobs.glob("*.part")) if blobs.is_dir() else 0


def _fetch_resumable(
    repo_id: str, filename: str, commit: str | None, endpoint: str | None, bar: type
) -> None:
    """Fetch one file into ``blobs/<etag>``, continuing a ``.part`` left by an earlier run."""
    from filelock import FileLock
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]

    meta = get_hf_file_metadata(hf_hub_url(repo_id, filename, revision=commit, endpoint=endpoint))
    if not meta.etag:
        return  # the hub gave no ETag: leave this file to snapshot_download
    blob = _storage(repo_id) / "blobs" / meta.etag
    if blob.exists():
        return
    blob.parent.mkdir(parents=True, exist_ok=True)
    part = blob.with_name(blob.name + ".part")
    with FileLock(str(part) + ".lock"):
        if blob.exists():
            return
        with part.open("ab") as handle:
            http_get(
                meta.location,
                handle,
                resume_size=handle.tell(),
                headers=build_hf_headers(),
                expected_size=meta.size,
                displayed_filename=filename,
                tqdm_class=bar,
            )
        os.replace(part, blob)


def _check_sha256(repo_id: str, revision: str | None, folder: Path, endpoint: str | None) -> None:
    """Every LFS file's sha256 must match the hub's listing; a corrupt blob is removed so the
    next try fetches it again (the hub library itself checks only sizes)."""
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile

    for entry in HfApi(endpoint=endpoint).list_repo_tree(repo_id, revision=revision, recursive=True):
        if not isinstance(entry, RepoFile) or entry.lfs is None:
            continue
        path = folder / entry.path
        if not _inside(path, folder):  # a hostile listing must not make us read or remove a user's file
            raise DownloadError(f"the hub listed a file outside {repo_id}; nothing was checked or removed")
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != entry.lfs.sha256:
            blob = path.resolve()
            path.unlink(missing_ok=True)
            blob.unlink(missing_ok=True)
            raise DownloadError(
                f"{entry.path} of {repo_id} does not match the hub's checksum; "
                "it was removed, run the download again"
            )


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` (a snapshot entry, itself a link into ``blobs``) names a file of the model:
    inside ``folder`` by its name, and inside the model's cache folder once its link is followed."""
    storage = folder.resolve().parent.parent
    try:
        return (
            path.absolute().is_relative_to(folder.absolute())
            and os.path.normpath(path) == str(path)
            and (path.resolve().is_relative_to(storage))
        )
    except (OSError, RuntimeError):  # a link loop
        return False


def _modelscope(repo_id: str, revision: str | None, progress: ProgressSink, cancel: threading.Event) -> Path:
    """ModelScope's own ``snapshot_download``; its ``progress_callbacks`` feed the same figures."""
    try:
        from modelscope.hub.callback import ProgressCallback
        from modelscope.hub.snapshot_download import snapshot_download
    except ImportError:
        raise DownloadError(
            "--hub modelscope needs the modelscope package (pip install modelscope)"
        ) from None
    _quiet_libraries()  # its loggers are made at import
    meter = _Meter(progress, cancel)

    class Feed(ProgressCallback):  # type: ignore[misc]
        def __init__(self, filename: str, file_size: int) -> None:
            super().__init__(filename, file_size)
            meter.total += file_size

        def update(self, size: int) -> None:
            meter.add(size)

        def end(self) -> None:
            return None

    try:
        folder = snapshot_download(repo_id, revision=revision, progress_callbacks=[Feed])
    except DownloadError:
        raise
    except Exception as exc:
        endpoint = (
            os.environ.get("MODELSCOPE_ENDPOINT") or os.environ.get("MODELSCOPE_DOMAIN") or "modelscope.cn"
        )
        raise DownloadError(
            f"ModelScope download of {repo_id} failed ({type(exc).__name__}; hub {_shown(endpoint)})"
        ) from None
    return Path(folder)
