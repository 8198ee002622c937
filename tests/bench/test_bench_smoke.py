"""Smoke test of `python -m bench.store --quick`: it runs end to end and reports every figure. Speed is not asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEYS = (
    "raw_insert_per_s",
    "append_per_s",
    "append_ratio",
    "raw_publish_per_s",
    "relay_per_s",
    "relay_ratio",
    "relay_peak_rss_mb",
    "inserts",
    "appends",
    "events",
)


def test_quick_benchmark_reports_every_figure() -> None:
    # Its own embedded servers, never a real NATS or database from the environment.
    env = {k: v for k, v in os.environ.items() if k not in {"WANQING_DATABASE_URL", "WANQING_NATS_URL"}}
    run = subprocess.run(
        [sys.executable, "-m", "bench.store", "--quick"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    for key in KEYS:
        assert isinstance(result[key], (int, float)), key
        assert result[key] > 0, key
    assert "relay_ratio" in run.stdout.split(lines[-1])[0]  # the readable table comes before the JSON line
