"""`python -m bench --smoke`, as CI runs it: every scenario, micro-benchmark and the soak run to
the end against a real daemon and report their figures. No thresholds: absolute times belong to
the machine (bench/README.md); this only keeps the benchmarks working."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_smoke(tmp_path):
    out = tmp_path / "bench.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--no-references", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    for heading in ("idle", "dashboard", "fanout", "many", "startup", "micro", "soak"):
        assert f"== {heading}" in proc.stdout
    (record,) = [json.loads(line) for line in out.read_text().splitlines()]
    scenarios = record["scenarios"]
    assert scenarios["fanout"]["project"]["delivered_ratio"] > 0.5
    assert scenarios["many"]["project"]["connect_all_s"] > 0
    assert scenarios["startup"]["project"]["startup_ms"] > 0
    assert all(ns > 0 for ns in record["micro"].values())
    assert record["soak"]["messages"] > 0
