"""bench/call_split.py run as a user would, in a subprocess, on a small CNN exported here: every
part of the tutorials' call sequence is printed with a positive time, and the whole call is not
cheaper than its device part."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "call_split.py"
PARTS = ("whole tutorial call", "np.copyto into pinned", "np.array out of pinned", "np.copyto plain -> plain",
         "htod + sync", "execute + sync", "dtoh + sync", "htod + execute + dtoh + sync")


def test_call_split_prints_every_part(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 5, 3)).eval()
    path = tmp_path / "small_cnn.onnx"
    torch.onnx.export(model, (torch.randn(1, 3, 17, 19),), str(path), dynamo=False)
    result = subprocess.run([sys.executable, str(SCRIPT), str(path), "--fp32", "--calls", "5"],
                            capture_output=True, text=True, env=dict(os.environ), timeout=600)
    assert result.returncode == 0, result.stderr
    assert f"input {1 * 3 * 17 * 19 * 4} bytes, output {1 * 5 * 15 * 17 * 4} bytes" in result.stdout
    times = {}
    for part in PARTS:
        match = re.search(rf"^{re.escape(part)}\s+([0-9.]+) us$", result.stdout, re.MULTILINE)
        assert match, (part, result.stdout)
        times[part] = float(match.group(1))
        assert times[part] > 0, part
    assert times["whole tutorial call"] >= 0.5 * times["htod + execute + dtoh + sync"]
