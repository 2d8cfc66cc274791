"""bench/host_overhead.py (issue 5's per-call host cost) run as a user would, in a subprocess, with
few calls: exit status, the printed tables, and the JSON record (every row present, times
positive, outputs identical with launch capture on and off)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "host_overhead.py"
ROWS = ("zero-copy, capture on", "zero-copy, capture off", "memcpy, capture on", "memcpy, capture off")
PIECES = ("execute_async_v3, 20 us of host work, synchronize", "np.copyto of the input into the pinned array",
          "copy of the output out of the pinned array", "stream.handle",
          "stream.synchronize() with nothing queued", "execute_async_v3 + synchronize",
          "the whole call (copy in, execute, synchronize, copy out)")


def test_host_overhead_prints_and_records_every_row(tmp_path: Path) -> None:
    record = tmp_path / "host_overhead.json"
    result = subprocess.run([sys.executable, str(SCRIPT), "--calls", "20", "--repeats", "1", "--json", str(record)],
                            capture_output=True, text=True, env=dict(os.environ), timeout=600)
    assert result.returncode == 0, result.stderr
    assert "outputs identical: True" in result.stdout
    for label in ROWS + PIECES:
        assert f"| {label} |" in result.stdout, label
    figures = json.loads(record.read_text())
    assert figures["batch"] == 1 and figures["outputs_identical"] is True
    assert set(figures["results"]) == set(ROWS)
    for row in figures["results"].values():
        assert row["enqueue_us"] > 0 and row["e2e_us"] > 0
    assert set(figures["pieces_us"]) == set(PIECES)
    assert all(value > 0 for value in figures["pieces_us"].values())
    # The spin alone lasts 20 us, so the call with it cannot take less.
    assert figures["pieces_us"]["execute_async_v3, 20 us of host work, synchronize"] >= 20.0
