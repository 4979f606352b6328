"""Attached images: how long from choosing a file to seeing it, and how many bytes go to a server.

Two parts. On a real pty (a fake terminal that answers textual-image's queries as a plain
256-colour terminal, so half-blocks are drawn): F5, type the path, Enter; the time until the
file's line (with its pixel size) is drawn above the prompt (loading, checking, decoding), then
Enter on a prompt and the time until the half-block picture is drawn in the chat. And, without a
terminal, for a few image sizes: the file's bytes, what ``backends.images.prepare_image`` sends
at the default longest side (1536 px), the JSON request's bytes for it (base64 data URL), and how
long preparing takes.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SIZES = [(640, 480), (1920, 1080), (4000, 3000)]
PLAIN_TERMINAL = {b"\x1b[16t": b"\x1b[6;20;10t", b"\x1b[c": b"\x1b[?62;22c"}


def _pty_figures(folder: Path, width: int, height: int, rounds: int) -> dict[str, Any]:
    from testkit import images
    from testkit.pty_app import PtyApp
    from testkit.signal_rounds import app_environment

    picture = images.write(folder / f"photo-{width}x{height}.jpg", images.jpeg(width, height))
    listed_s: list[float] = []
    drawn_s: list[float] = []
    for attempt in range(rounds):
        env = app_environment(folder)
        env["INTERNLM_TUI_DB"] = str(folder / f"h{attempt}.sqlite3")
        env.pop("INTERNLM_TUI_IMAGES", None)
        argv = [sys.executable, "-m", "tui", "--backend", "scripted"]
        app = PtyApp(argv, columns=120, rows=40, env=env, answers=PLAIN_TERMINAL)
        try:
            app.wait_for(rb"ready", timeout=90)
            app.send(b"\x1b[15~")  # F5
            app.wait_for(rb"Attach an image", timeout=30)
            app.send(b"\x15")  # ctrl+u clears the path
            app.wait_for(rb"ath, e\.g\.", timeout=30)  # the placeholder: the field is empty
            since = app.bytes_written
            app.send(str(picture).encode())
            app.wait_for(rb"photo-", since=since, timeout=30)
            since = app.bytes_written
            chose = time.perf_counter()
            app.send(b"\r")
            shown, _ = app.wait_for(f"{width}\u00d7{height}".encode(), since=since, timeout=60)
            listed_s.append(shown - chose)
            since = app.bytes_written
            sent = time.perf_counter()
            app.send(b"look\r")
            drawn, _ = app.wait_for("\u2580".encode(), since=since, timeout=60)
            drawn_s.append(drawn - sent)
        finally:
            app.close()
    return {
        "image": f"{width}x{height} JPEG, {picture.stat().st_size:,} bytes",
        "choose_to_listed_s": round(statistics.median(listed_s), 3),
        "send_to_preview_drawn_s": round(statistics.median(drawn_s), 3),
        "rounds": rounds,
    }


def _bytes_figures(sizes: list[tuple[int, int]]) -> list[dict[str, Any]]:
    import json

    from backends.events import Attachment
    from backends.images import DEFAULT_MAX_SIDE, prepare_image
    from testkit import images

    rows: list[dict[str, Any]] = []
    for width, height in sizes:
        for kind, data in (("jpeg", images.jpeg(width, height)), ("png", images.png(width, height))):
            attachment = Attachment(f"x.{kind}", f"image/{kind}", data)
            started = time.perf_counter()
            prepared = prepare_image(attachment, DEFAULT_MAX_SIDE)
            took = time.perf_counter() - started
            part = {"type": "image_url", "image_url": {"url": prepared.data_url()}}
            rows.append(
                {
                    "image": f"{width}x{height} {kind}",
                    "file_bytes": len(data),
                    "sent_image_bytes": len(prepared.data),
                    "request_part_bytes": len(json.dumps(part)),
                    "scaled": prepared.scaled,
                    "prepare_s": round(took, 3),
                }
            )
    return rows


def run(quick: bool = False) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-vision-"))
    sizes = SIZES[:1] if quick else SIZES
    return {
        "preview": _pty_figures(folder, 640, 480, 1 if quick else 3),
        "bytes_sent": _bytes_figures(sizes),
    }
