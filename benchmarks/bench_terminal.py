"""The app as a terminal sees it: first frame, bytes per streamed token, UI CPU per token.

Everything runs the real ``internlm-tui`` on a real pty (``testkit.pty_app``):

* **first frame**: from starting the process to the first paint (the prompt's placeholder on the
  wire), for the default local backend (the embedded model; heavy imports and loading happen
  after the first frame) and for the scripted backend. Median of a few launches.
* **bytes per token** at 120x40: one long Markdown reply (headings, paragraphs, lists, code
  blocks) streamed by the scripted backend at a steady 100 tokens/s, as a fast server would.
* **UI CPU per token and render flatness**: the app's CPU time per token near the start of that
  reply (tokens 50-250, ``ui_cpu_ms_per_token_early``) and near its end (the 200 tokens up to
  the last marker but one, ``ui_cpu_ms_per_token_late``), and their ratio; and the same for
  every 200-token window of the reply, with their median (steadier than one window). Paragraph tokens carry
  numbered markers (``w00042``), so the moment each first reaches the terminal is known; the
  app's CPU time (from ``/proc``) is sampled alongside and read off at those moments. The final
  render after the last token is measured on its own (``finish_ui_cpu_ms``).
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from testkit.app import reply_tokens
from testkit.pty_app import PtyApp

COLUMNS, ROWS = 120, 40
FIRST_PAINT = rb"Ask anything"
READY = rb"ready"
MARKER = re.compile(rb"w(\d{5})")
TOKEN_DELAY_S = 0.01


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLORTERM", "TMUX", "NO_COLOR")}
    env.update(
        TERM="xterm-256color",
        XDG_STATE_HOME=str(home / "state"),
        XDG_CONFIG_HOME=str(home / "config"),
        INTERNLM_TUI_DB=str(home / "history.sqlite3"),
        PYTHONPATH=str(Path(__file__).resolve().parent.parent),
    )
    return env


def _app_command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("internlm-tui")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "tui", *args]


def first_frame_s(args: list[str], env: dict[str, str], launches: int) -> dict[str, Any]:
    """Median seconds from process start to the first paint, and the raw launches."""
    times: list[float] = []
    for _ in range(launches):
        app = PtyApp(_app_command(*args), columns=COLUMNS, rows=ROWS, env=env)
        try:
            moment, _ = app.wait_for(FIRST_PAINT, timeout=60)
            times.append(moment - app.started)
            app.wait_for(rb"ready", timeout=120)  # let it finish loading before the next launch
        finally:
            app.close()
    return {"median_s": round(statistics.median(times), 3), "launches_s": [round(t, 3) for t in times]}


def _cpu_at(samples: list[tuple[float, float]], moment: float) -> float:
    """The app's CPU seconds at ``moment``, interpolated between the two nearest samples."""
    times = [t for t, _ in samples]
    index = min(max(bisect.bisect_left(times, moment), 1), len(samples) - 1)
    (t0, c0), (t1, c1) = samples[index - 1], samples[index]
    return c0 if t1 == t0 else c0 + (c1 - c0) * (moment - t0) / (t1 - t0)


def stream_figures(count: int, home: Path) -> dict[str, Any]:
    """Stream a ``count``-token reply on a 120x40 pty; bytes and CPU per token along the way."""
    tokens = reply_tokens(count)
    script = home / "reply.json"
    events = [{"type": "token", "text": t} for t in tokens] + [{"type": "done"}]
    script.write_text(json.dumps({"delay_s": TOKEN_DELAY_S, "turns": [events]}))
    app = PtyApp(
        _app_command("--backend", "scripted", "--model", str(script)),
        columns=COLUMNS,
        rows=ROWS,
        env=_environment(home),
    )
    samples: list[tuple[float, float]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            samples.append((time.perf_counter(), app.cpu_seconds()))

    sampler = threading.Thread(target=sample, daemon=True)
    try:
        app.wait_for(rb"ready", timeout=60)
        time.sleep(0.5)
        sampler.start()
        since = app.bytes_written
        app.send(b"write a long answer\r")
        # The status line says "ready" once the reply is finished. (The last marker itself may
        # never cross the wire whole: only the cells that changed are sent, and a row that
        # showed "w03915" before needs only "4004" to show "w04004".)
        app.wait_for(READY, since=since, timeout=60 + count * TOKEN_DELAY_S * 4)
        time.sleep(0.3)
    finally:
        stop.set()
        if sampler.is_alive():
            sampler.join()
        chunks = app.chunks()
        app.close()
    # When did each marker first reach the terminal, and how many bytes had been written by then?
    seen: list[tuple[int, float, int]] = []  # (token index, moment, bytes written)
    stream = b"".join(data for _, data in chunks)
    ends = list(itertools.accumulate(len(data) for _, data in chunks))
    best = -1
    for match in MARKER.finditer(stream, since):
        index = int(match.group(1))
        if index > best:
            chunk = bisect.bisect_left(ends, match.end())
            seen.append((index, chunks[chunk][0], ends[chunk]))
            best = index

    def first_reaching(token: int) -> tuple[int, float, int]:
        return next(entry for entry in seen if entry[0] >= token)

    def cpu_per_token(start: int, end: int) -> float:
        a, b = first_reaching(start), first_reaching(end)
        return (_cpu_at(samples, b[1]) - _cpu_at(samples, a[1])) / (b[0] - a[0])

    first, final = seen[0], seen[-1]
    last = final[0]  # the last marker seen (the reply's last token, unless it arrived in pieces)
    # Both windows measure streaming: the early one starts after the reply's first frames, the
    # late one ends at the last marker before the final one, which may first be painted by the
    # final render (measured on its own as ``finish_ui_cpu_ms``).
    streamed = seen[-2]
    early = (50, 250)
    late = (streamed[0] - 200, streamed[0])
    early_cost, late_cost = cpu_per_token(*early), cpu_per_token(*late)
    # Every 200-token window of the stream: one window's figure moves by a third with whether a
    # scroll, a seal or a full garbage collection falls in it; their median does not.
    starts = range(50, streamed[0] - 199, 200)
    windows = [round(cpu_per_token(start, start + 200) * 1000, 2) for start in starts]
    finish_cost = _cpu_at(samples, final[1]) - _cpu_at(samples, streamed[1])
    return {
        "reply_tokens": len(tokens),
        "last_marker_seen": last,
        "token_rate_per_s": round(1 / TOKEN_DELAY_S),
        "bytes_per_token": round((final[2] - first[2]) / (final[0] - first[0]), 1),
        "bytes_written": final[2] - first[2],
        "ui_cpu_ms_per_token_early": round(early_cost * 1000, 3),
        "ui_cpu_ms_per_token_late": round(late_cost * 1000, 3),
        "ui_cpu_ms_per_token_windows": windows,
        "ui_cpu_ms_per_token_window_median": statistics.median(windows) if windows else None,
        "render_flatness": round(late_cost / early_cost, 3) if early_cost else None,
        "finish_ui_cpu_ms": round(finish_cost * 1000, 1),
        "early_window_tokens": list(early),
        "late_window_tokens": list(late),
        "stream_seconds": round(final[1] - first[1], 2),
    }


def run(quick: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-terminal-") as folder:
        home = Path(folder)
        launches = 1 if quick else 3
        env = _environment(home)
        figures: dict[str, Any] = {
            "first_frame_local_s": first_frame_s([], env, launches),
            "first_frame_scripted_s": first_frame_s(["--backend", "scripted"], env, launches),
            "first_frame_target_s": "<= 1.0",
        }
        stream = stream_figures(600 if quick else 4000, home)
        stream["bytes_per_token_target"] = "<= 61"
        stream["ui_cpu_ms_per_token_late_target"] = "<= 2.0"
        stream["render_flatness_target"] = "<= 1.3"
        figures["stream_120x40"] = stream
        return figures
