"""The examples run as users run them (the demo command runs simple_mlp_tutorial.py)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_simple_mlp_tutorial_runs_and_matches(tmp_path):
    result = subprocess.run([sys.executable, str(EXAMPLES / "simple_mlp_tutorial.py"), "--workdir", str(tmp_path),
                             "--batch", "13"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("simple_mlp_")]
    assert len(rows) == 4 and all(row.endswith("yes") for row in rows), result.stdout
    assert sorted(p.name for p in tmp_path.glob("*.engine")) == [
        "simple_mlp_dynamic.engine", "simple_mlp_dynamic_fp16.engine",
        "simple_mlp_static.engine", "simple_mlp_static_fp16.engine"]


def test_driver_basics_runs(tmp_path):
    result = subprocess.run([sys.executable, str(EXAMPLES / "driver_basics.py")], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
