"""The one wall-clock timing loop of the bench scripts that time Python calls (call_split.py,
cnn_bench.py, transfer.py, transformer_bench.py), the speed table and CUDA check of the model
benchmarks, and the reading of the core's compile log (cnn_bench.py, benchmark.py):
imported from beside them (a script's own folder is on sys.path)."""
from __future__ import annotations

import re
import statistics
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

#: The core's verbose message for each driver compile (csrc/backend/opencl/program.cpp).
_COMPILED = re.compile(r"program compiled in ([0-9.]+) ms: (.*) \[(.*)\]$")


def compiled_program(message: str) -> Optional[Tuple[float, str, str]]:
    """(milliseconds, kernels, options) of a "program compiled in ..." log message, else None."""
    match = _COMPILED.match(message)
    return (float(match.group(1)), match.group(2), match.group(3)) if match else None


def compile_summary(compiles: List[Tuple[float, str, str]]) -> Dict[str, object]:
    """A build's driver compiles for a row: how many, their times summed (threads overlap them),
    the slowest three (kernels, seconds), per kernel [programs, seconds summed], and every
    compile as [kernel, options, seconds] (which variants a build compiled, and why so many)."""
    slowest = sorted(compiles, reverse=True)[:3]
    by_kernel: Dict[str, List[float]] = {}
    for ms, kernels, _ in compiles:
        entry = by_kernel.setdefault(kernels.split(";")[0], [0, 0.0])
        entry[0] += 1
        entry[1] = round(entry[1] + ms / 1e3, 3)
    return {"programs_compiled": len(compiles), "compile_s_sum": round(sum(ms for ms, _, _ in compiles) / 1e3, 3),
            "slowest_compiles": [[kernels.split(";")[0], round(ms / 1e3, 3)] for ms, kernels, _ in slowest],
            "compiles_by_kernel": by_kernel,
            "compiles": [[kernels.split(";")[0], options, round(ms / 1e3, 3)] for ms, kernels, options in compiles]}


def cuda_torch() -> bool:
    """Whether PyTorch has a CUDA device (without one the model benchmarks leave their PyTorch
    columns empty)."""
    import torch
    return torch.cuda.is_available()


def median_seconds(call: Callable[[], object], iterations: int, warmup: int = 3) -> float:
    """The median wall time of `call` in seconds over `iterations` calls, after `warmup` untimed ones."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def speed_table(rows: Sequence[Dict[str, object]]) -> str:
    """The markdown table of cnn_bench.py's and transformer_bench.py's rows (bench/RESULTS.md)."""
    lines = ["| model | batch | precision | mlprt ms | torch graph ms | torch eager ms | ORT CPU ms | mlprt/graph | build s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['batch']} | {r['precision']} | {r['mlprt']} | {r['torch_graph']} | "
                     f"{r['torch_eager']} | {r['onnxruntime_cpu']} | {r['mlprt_over_graph']} | {r['build_s']} |")
    return "\n".join(lines)
