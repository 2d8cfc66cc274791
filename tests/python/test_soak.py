"""Soak, bounded for CI: bench/soak.py runs thousands of inferences of the tutorial MLP with
varying batch sizes in a fresh process; after warm-up its RSS and mlprt's live device and pinned
allocations must stay flat. A run with a deliberate leak shows the check catches one. The long
run (100,000 inferences) is in docs/reliability.md."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "soak.py"
INFERENCES = 20_000
RSS_MARGIN_MIB = 2.0
LIVE_FIELDS = ("device_buffers", "device_bytes", "pinned_buffers", "pinned_bytes")


def run_soak(tmp_path: Path, *args: str) -> Tuple[subprocess.CompletedProcess, Dict[str, Any]]:
    report = tmp_path / "soak.json"
    result = subprocess.run([sys.executable, str(SCRIPT), "--json", str(report), *args], env=dict(os.environ),
                            capture_output=True, text=True, timeout=600)
    assert report.exists(), result.stdout + result.stderr
    return result, json.loads(report.read_text())


def settled(report: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [s for s in report["samples"] if s["inference"] >= report["warmup"]]


def test_memory_is_flat_over_thousands_of_inferences(tmp_path):
    result, report = run_soak(tmp_path, "--inferences", str(INFERENCES), "--samples", "15",
                              "--rss-margin-mib", str(RSS_MARGIN_MIB))
    print(result.stdout)  # the samples table, shown with -s or on failure
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["flat"] and report["problems"] == []
    # The run did what it claims: every inference, batches across the profile, right answers.
    assert report["samples"][-1]["inference"] == INFERENCES
    assert report["distinct_batches"] >= 60
    assert report["checks"] >= INFERENCES // 500 and report["max_relative_error"] <= 1e-4
    # Judged here again from the raw samples, not only by the script's verdict.
    after = settled(report)
    assert len(after) >= 10
    for name in LIVE_FIELDS:
        assert {s[name] for s in after} == {after[0][name]}, name
    # The engine's weights, the context's arena and both I/O buffers are live and counted.
    assert after[0]["device_buffers"] >= 3 and after[0]["pinned_buffers"] >= 2
    growth = max(s["rss_bytes"] for s in after) - after[0]["rss_bytes"]
    assert growth <= RSS_MARGIN_MIB * (1 << 20), f"RSS grew by {growth} bytes after warm-up"


def test_the_soak_reports_a_deliberate_leak(tmp_path):
    result, report = run_soak(tmp_path, "--inferences", "3000", "--samples", "10", "--churn", "500",
                              "--leak-bytes-per-inference", "4096", "--leak-device-every", "100")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "verdict: GROWING" in result.stdout
    assert not report["flat"]
    problems = "\n".join(report["problems"])
    assert "device_buffers went from" in problems and "RSS grew by" in problems, problems
