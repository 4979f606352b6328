"""``python -m benchmarks --quick`` runs every benchmark for real and prints every figure.

Not a speed test (the figures are printed, not asserted against targets): this keeps the
benchmarks working, and checks that what they measure is measured (a reply that never reached
the terminal, or a cache that was never reused, would show up here).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_quick_benchmarks_print_every_figure(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout)
    errors = {name: part["error"] for name, part in figures.items() if "error" in part}
    assert not errors, errors
    assert set(figures) >= {"history", "local", "remote", "terminal", "turns"}
    assert figures["local"]["streaming_efficiency"] > 0
    assert figures["remote"]["streaming_efficiency"] > 0
    terminal = figures["terminal"]
    assert 0 < terminal["first_frame_local_s"]["median_s"] < 60
    stream = terminal["stream_120x40"]
    assert stream["bytes_per_token"] > 0 and stream["ui_cpu_ms_per_token_late"] > 0
    assert stream["ui_cpu_ms_per_token_windows"] and stream["ui_cpu_ms_per_token_window_median"] > 0
    turns = figures["turns"]
    assert turns["replies_identical_with_and_without_reuse"]
    assert all(row["cached_prompt_tokens"] > 0 for row in turns["per_turn"][1:])
    # what this round added: the figures exist and their invariants hold even at quick sizes
    signals = figures["signals"]
    assert signals["rounds"] > 0 and signals["survivors"] == 0 and signals["saved"] == 1.0
    sandbox = figures["sandbox"]
    assert sandbox["hostile_total"] >= 30 and sandbox["hostile_contained"] == 1.0
    history = figures["history"]
    assert history["locked_turn_saved"] and "key_roundtrip_locked_ms" in history
    branches = figures["branches"]
    assert branches["regenerate_cached_prompt_tokens"] > 0 and branches["regenerate_ttft_ratio"] > 0
    vision = figures["vision"]
    assert vision["preview"]["choose_to_listed_s"] > 0 and vision["preview"]["send_to_preview_drawn_s"] > 0
    assert all(row["sent_image_bytes"] > 0 for row in vision["bytes_sent"])
    hub = figures["hub"]
    assert hub["download"]["ours_mb_per_s"] > 0 and hub["download"]["time_ratio_ours_to_plain"] > 0
    assert hub["failover"]["turn_moved_off_a_dead_server_ms"] > 0
    kb = figures["kb"]
    assert kb["scale"]["pickup_found"] and kb["scale"]["pickup_changed_files"] == 1
    assert kb["recall_at_5"]["bm25"]["zh"] > 0.5
    tools = figures["tools"]
    assert tools["mcp_ready_s"] > 0 and tools["mcp_call_ms"] > 0
