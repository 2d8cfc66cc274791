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


def test_yolo_detector_runs_and_matches(tmp_path):
    """The YOLO tutorial flow: ultralytics export, `mlprt exec --saveEngine`, the engine class,
    letterbox and decoding (threshold 0 so that decoding and NMS have boxes to work on)."""
    result = subprocess.run([sys.executable, str(EXAMPLES / "yolo_detector.py"), "--workdir", str(tmp_path),
                             "--size", "96", "--threshold", "0"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "output (1, 84, 189)" in result.stdout, result.stdout
    assert (tmp_path / "yolov8n.engine").is_file()
    count = int(result.stdout.splitlines()[1].split()[0])
    assert 0 < count < 189 * 80, result.stdout


def test_yolo_decoding_undoes_the_letterbox():
    sys.path.insert(0, str(EXAMPLES))
    import numpy as np
    import yolo_detector

    image = np.zeros((100, 200, 3), np.uint8)  # wide: padded above and below
    blob, scale, pad = yolo_detector.preprocess(image, (64, 64))
    assert blob.shape == (1, 3, 64, 64) and scale == 0.32 and pad == (0, 16)
    output = np.zeros((1, 4 + 3, 4), np.float32)
    # Anchor 1: class 2 at 0.9, a 16 x 8 box centred at (32, 32) in input pixels; anchor 3 overlaps
    # it with a lower score (suppressed); anchor 0 is another class, below the threshold.
    output[0, :4, 1] = (32, 32, 16, 8)
    output[0, 6, 1] = 0.9
    output[0, :4, 3] = (33, 32, 16, 8)
    output[0, 6, 3] = 0.8
    output[0, :4, 0] = (10, 40, 4, 4)
    output[0, 4, 0] = 0.1
    detections = yolo_detector.decode(output, scale, pad, image.shape[:2], threshold=0.25)
    assert len(detections) == 1
    box, score, cls = detections[0]
    assert cls == 2 and abs(score - 0.9) < 1e-6
    np.testing.assert_allclose(box, [(32 - 8) / 0.32, (32 - 4 - 16) / 0.32, (32 + 8) / 0.32, (32 + 4 - 16) / 0.32])
