"""Per-run kernel launches of an FP16 engine and its per-run time on this device: a BERT export
(bench/transformer_bench.py) or a vision model (bench/vision_zoo.py, as bench/cnn_bench.py builds
it).

The launches are the runtime's own count (the launch-capture log of the first run, less the steps
the inspector marks once-per-shapes); the time is the median of 20 runs of the tutorials' memcpy
workflow (the bench script's own runner). The count does not depend on the device's speed, but
tactics may differ between devices (a split-K tactic adds a finishing launch). Compare two trees
by pointing PYTHONPATH at each:

    python3 bench/launch_count.py bert_4x256 1 128     # model, batch, sequence
    python3 bench/launch_count.py yolov8n:64x64 1      # model:HxW, batch
"""
from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Tuple

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests" / "python"))

import numpy as np  # noqa: E402

import mlprt  # noqa: E402
import transformer_bench as tb  # noqa: E402
from mlprt.engine_tools import build_engine  # noqa: E402

class Rec(mlprt.ILogger):
    """Keeps the runtime's messages."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list = []

    def log(self, severity: "mlprt.Logger.Severity", msg: str) -> None:
        self.messages.append(msg)


def bert_engine(name: str, batch: int, seq: int) -> Tuple[bytes, Callable[[], object]]:
    """A BERT export's static FP16 engine and its memcpy-workflow runner."""
    path = Path(tempfile.gettempdir()) / "mlprt-launch-count" / f"{name}.onnx"  # one export per model
    path.parent.mkdir(exist_ok=True)
    if not path.exists():
        tb.export_onnx(tb.bert(name), tb.sample(2, 16), path)
    feeds = tb.sample(batch, seq)
    plan = build_engine(str(path), fp16=True, profiles=[{n: (feeds[n].shape,) * 3 for n in tb.INPUTS}],
                        logger=mlprt.Logger(mlprt.Logger.WARNING))
    return bytes(plan), tb.mlprt_runner(bytes(plan), feeds)


def vision_engine(spec: str, batch: int) -> Tuple[bytes, Callable[[], object]]:
    """A vision model's static FP16 engine at `spec` (name:HxW) and its memcpy-workflow runner."""
    import dataclasses

    import cnn_bench
    from vision_zoo import MODELS

    name, size = spec.split(":")
    h, w = (int(v) for v in size.split("x"))
    model = MODELS[name]
    channels = model.input_shape[1]
    data = dataclasses.replace(model, input_shape=(batch, channels, h, w)).export(opset=17, batch=batch)
    plan = build_engine(data, fp16=True, logger=mlprt.Logger(mlprt.Logger.WARNING))
    x = np.random.default_rng(batch).standard_normal((batch, channels, h, w)).astype(np.float32)
    return bytes(plan), cnn_bench.mlprt_runner(bytes(plan), x)


name, batch = sys.argv[1], int(sys.argv[2])
if ":" in name:
    plan, run = vision_engine(name, batch)
    label = f"{name} b{batch}"
else:
    seq = int(sys.argv[3])
    plan, run = bert_engine(name, batch, seq)
    label = f"{name} b{batch} s{seq}"
rec = Rec()  # the last logger made is the one the runtime logs to
engine = mlprt.Runtime(rec).deserialize_cuda_engine(plan)
text = engine.create_engine_inspector().get_engine_information(mlprt.LayerInformationFormat.ONELINE)
once = {l.split(" [")[0] for l in text.splitlines() if " [" in l and "once-per-shapes" in l}
run()
per_run = sum(int(m.group(2)) for m in (re.search(r"step '(.*)': (\d+) kernel launch", x) for x in rec.messages)
              if m and m.group(1) not in once)
for _ in range(3): run()
times = []
for _ in range(20):
    t = time.perf_counter(); run(); times.append(time.perf_counter() - t)
print(f"{label}: {engine.num_layers} engine layers, {per_run} launches per run, "
      f"median {np.median(times) * 1e3:.2f} ms")
