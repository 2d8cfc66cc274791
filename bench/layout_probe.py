"""What the builder's layout pass (docs/workflow.md, build step 9) weighs for vision models: each
group of convolutions' LINEAR time against its channels-last (HWC) time with the reformats it
needs, as timed on this device, what it chose, and the build's time.

    python bench/layout_probe.py --models resnet18:64x64 --precisions fp32 [--mode timed]

``--mode``: MLPRT_CHANNELS_LAST for the build (``timed``, the default, times the layouts on any
device, CPUs included; ``1`` forces HWC; ``0`` none). Kernel caches are whatever the environment
has: for cold builds, run with MLPRT_CACHE_DIR and POCL_CACHE_DIR set to empty folders, once per
mode."""
from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import time
from pathlib import Path
from typing import List

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "python"))

import mlprt  # noqa: E402
from mlprt.engine_tools import build_engine  # noqa: E402
from vision_zoo import MODELS  # noqa: E402


class Lines(mlprt.ILogger):
    """Keeps the builder's layout decisions and its summary line."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: List[str] = []

    def log(self, severity: mlprt.ILogger.Severity, msg: str) -> None:
        if msg.startswith("layout:") or "convolutions channels-last in" in msg:
            self.lines.append(msg)


def timed_build(data: bytes, fp16: bool, mode: str, logger: mlprt.ILogger) -> float:
    os.environ["MLPRT_CHANNELS_LAST"] = mode
    try:
        start = time.perf_counter()
        build_engine(data, fp16=fp16, logger=logger)
        return time.perf_counter() - start
    finally:
        del os.environ["MLPRT_CHANNELS_LAST"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="resnet18:64x64", help="name:HxW,... (vision_zoo names)")
    parser.add_argument("--precisions", default="fp32")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--mode", default="timed", choices=["timed", "1", "0"])
    args = parser.parse_args()
    print(f"device: {mlprt.current_device().name}")
    for spec in args.models.split(","):
        name, size = spec.split(":")
        h, w = (int(v) for v in size.split("x"))
        model = MODELS[name]
        sized = dataclasses.replace(model, input_shape=(args.batch, model.input_shape[1], h, w))
        data = sized.export(opset=17, batch=args.batch)
        for precision in args.precisions.split(","):
            fp16 = precision == "fp16"
            lines = Lines()
            seconds = timed_build(data, fp16, args.mode, lines)
            print(f"\n{name} {h}x{w} batch {args.batch} {precision}: build {seconds:.2f} s with MLPRT_CHANNELS_LAST={args.mode}")
            for line in lines.lines:
                summary = re.search(r"\d+ convolutions channels-last in \d+ of \d+ groups with \d+ reformats", line)
                print("  " + (summary.group(0) if summary else line))


if __name__ == "__main__":
    main()
