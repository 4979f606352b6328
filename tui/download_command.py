"""``internlm-tui download ORG/NAME``: fetch a model into the hub cache with progress on stderr.

Textual-free. The progress line is rewritten in place on a terminal and printed at most every
two seconds otherwise (logs stay short). ctrl+c cancels: the part fetched stays in the cache
and the next run resumes it. Every failure is one line and exit code 1 (misuse: 2).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from backends.local.hub_download import DownloadError, DownloadProgress, Hub, describe, download
from backends.local.model_source import MODELSCOPE_PREFIX
from tui.sanitize import one_line

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def build_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "repo_id", metavar="ORG/NAME", help="model id on the hub (modelscope:ORG/NAME for ModelScope)"
    )
    parser.add_argument("--revision", default=None, help="branch, tag or commit (default: main)")
    parser.add_argument(
        "--hub",
        choices=["hf", "modelscope"],
        default=None,
        help="Hugging Face (default; HF_ENDPOINT, HF_HOME, HF_TOKEN, HF_HUB_OFFLINE apply) or ModelScope",
    )
    return parser


class StderrProgress:
    """Writes the progress figures to stderr: in place on a terminal, sparsely into a file."""

    def __init__(self, repo_id: str) -> None:
        self._repo_id = repo_id
        self._tty = sys.stderr.isatty()
        self._last = 0.0
        self._width = 0

    def __call__(self, figures: DownloadProgress) -> None:
        now = time.monotonic()
        final = figures.stage != "downloading"
        if not self._tty and not final and now - self._last < 2.0:
            return
        self._last = now
        line = f"{self._repo_id}: {describe(figures)}"
        if self._tty:
            sys.stderr.write("\r" + line.ljust(self._width))
            self._width = len(line)
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def say(self, line: str) -> None:
        self.end_line()
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def end_line(self) -> None:
        if self._tty and self._width:
            sys.stderr.write("\n")
            self._width = 0


def run_download(args: argparse.Namespace) -> int:
    """Download in a worker thread so ctrl+c in the main thread can cancel it cleanly."""
    repo_id: str = args.repo_id
    hub: Hub = "modelscope" if args.hub == "modelscope" else "hf"
    if repo_id.startswith(MODELSCOPE_PREFIX):
        repo_id, hub = repo_id.removeprefix(MODELSCOPE_PREFIX), "modelscope"
    show = StderrProgress(repo_id)
    cancel = threading.Event()
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            outcome["folder"] = download(
                repo_id, revision=args.revision, hub=hub, progress=show, notice=show.say, cancel=cancel
            )
        except DownloadError as exc:
            outcome["error"] = exc
        except Exception as exc:  # a bug: still one line
            outcome["error"] = DownloadError(f"download of {repo_id} failed: {type(exc).__name__}")

    worker = threading.Thread(target=work, name="download", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:
        cancel.set()
        worker.join(30)
        show.end_line()
        print("internlm-tui: download cancelled; run it again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    show.end_line()
    error = outcome.get("error")
    if error is not None:
        print(f"internlm-tui: error: {one_line(str(error), limit=1000)}", file=sys.stderr)
        return EXIT_FAILED
    folder = outcome["folder"]
    assert isinstance(folder, Path)
    print(folder)  # stdout: the path, for scripts
    return 0


def main(argv: Sequence[str], parser: argparse.ArgumentParser) -> int:
    """Parse ``download``'s own arguments (misuse raises the CLI's one-line error) and run it."""
    return run_download(build_parser(parser).parse_args(list(argv)))
