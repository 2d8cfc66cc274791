"""The one wall-clock timing loop of the bench scripts that time Python calls (call_split.py,
cnn_bench.py, transfer.py, transformer_bench.py), and the speed table and CUDA check of the model
benchmarks:
imported from beside them (a script's own folder is on sys.path)."""
from __future__ import annotations

import statistics
import time
from typing import Callable, Dict, Sequence


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
