"""Transfer and launch latency through mlprt, against raw OpenCL in the same run.

Measures host-to-device and device-to-host copies (pinned vs pageable NumPy arrays; 3 KB to
64 MB: median latency and bandwidth) and empty-kernel launches (launch + synchronize, and
pipelined), each through mlprt's Python API. With --baseline (bench/cl_baseline.cpp built by
--build-baseline), the same operations run through raw OpenCL calls from C++ in the same run, and
the table shows mlprt / raw ratios.

    python bench/transfer.py --build-baseline --json out.json
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np

import mlprt
import mlprt.driver as cuda
from mlprt.compiler import SourceModule
from timing import median_seconds

SIZES = [3 << 10, 200 << 10, 1 << 20, 64 << 20]
REPO = Path(__file__).resolve().parent.parent


def median_us(iterations: int, body: Callable[[], None]) -> float:
    """The median of `iterations` timed calls of `body`, in microseconds."""
    return median_seconds(body, iterations) * 1e6


def measure_mlprt(iterations: int) -> List[Dict]:
    rows = []
    stream = cuda.Stream()
    for nbytes in SIZES:
        reps = max(10, iterations // 10) if nbytes >= 64 << 20 else iterations
        device = cuda.mem_alloc(nbytes)
        pinned = cuda.pagelocked_empty(nbytes, np.uint8)
        pinned.fill(7)
        pageable = np.full(nbytes, 7, np.uint8)
        cases = [
            ("H2D pinned", lambda: (cuda.memcpy_htod_async(device, pinned, stream), stream.synchronize())),
            ("D2H pinned", lambda: (cuda.memcpy_dtoh_async(pinned, device, stream), stream.synchronize())),
            ("H2D pageable", lambda: cuda.memcpy_htod(device, pageable)),
            ("D2H pageable", lambda: cuda.memcpy_dtoh(pageable, device)),
        ]
        for what, body in cases:
            rows.append({"what": what, "bytes": nbytes, "median_us": median_us(reps, body)})
        device.free()

    empty = SourceModule("__kernel void empty(void) {}").get_function("empty")
    rows.append({"what": "empty kernel, launch + finish", "bytes": 0,
                 "median_us": median_us(iterations, lambda: (empty(stream=stream), stream.synchronize()))})
    batch = 1000

    def pipelined() -> None:
        for _ in range(batch):
            empty(stream=stream)
        stream.synchronize()

    rows.append({"what": "empty kernel, pipelined", "bytes": 0,
                 "median_us": median_us(10, pipelined) / batch})
    # The same launches queued by mlprt's C++ layer, as engines do, without a Python call each.
    kernel, global_size = empty._kernel, [1]
    rows.append({"what": "empty kernel, pipelined from C++", "bytes": 0,
                 "median_us": median_us(10, lambda: (kernel.launch(stream, global_size, [], batch),
                                                     stream.synchronize())) / batch})
    return rows


def build_baseline() -> Path:
    output = REPO / "build" / "cl_baseline"
    output.parent.mkdir(exist_ok=True)
    subprocess.run(["g++", "-O2", "-std=c++17", str(REPO / "bench" / "cl_baseline.cpp"),
                    "-lOpenCL", "-o", str(output)], check=True)
    return output


def measure_baseline(binary: Path, device_index: int, iterations: int) -> Dict:
    result = subprocess.run([str(binary), str(device_index), str(iterations)], check=True,
                            capture_output=True, text=True)
    return json.loads(result.stdout)


def format_table(rows: List[Dict], baseline: Optional[Dict]) -> str:
    raw = {(r["what"], r["bytes"]): r["median_us"] for r in (baseline or {}).get("rows", [])}
    raw[("empty kernel, pipelined from C++", 0)] = raw.get(("empty kernel, pipelined", 0))
    lines = ["| what | bytes | mlprt median (us) | mlprt GB/s | raw OpenCL (us) | mlprt / raw |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        us = row["median_us"]
        rate = f"{row['bytes'] / us / 1e3:.2f}" if row["bytes"] else ""
        base = raw.get((row["what"], row["bytes"]))  # None without a baseline
        lines.append(f"| {row['what']} | {row['bytes']} | {us:.1f} | {rate} | "
                     f"{'' if base is None else f'{base:.1f}'} | "
                     f"{'' if base is None else f'{us / base:.2f}'} |")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--build-baseline", action="store_true",
                        help="compile bench/cl_baseline.cpp with g++ and compare against it")
    parser.add_argument("--baseline", type=Path, help="a built cl_baseline binary")
    parser.add_argument("--json", type=Path, help="write all figures to this file")
    args = parser.parse_args(argv)

    device = mlprt.current_device()
    binary = build_baseline() if args.build_baseline else args.baseline
    rows = measure_mlprt(args.iterations)
    baseline = measure_baseline(binary, device.index, args.iterations) if binary else None
    header = (f"device: {device.name} ({device.platform}, driver {device.driver_version}); "
              f"date {date.today()}; host {platform.node()}; python {sys.version.split()[0]}; "
              f"mlprt {mlprt.__version__}")
    print(header)
    print(format_table(rows, baseline))
    if args.json:
        args.json.write_text(json.dumps({"header": header, "mlprt": rows, "raw": baseline}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
