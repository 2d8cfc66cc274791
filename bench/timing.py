"""The one wall-clock timing loop of the bench scripts that time Python calls (call_split.py,
cnn_bench.py, transfer.py): imported from beside them (a script's own folder is on sys.path)."""
from __future__ import annotations

import statistics
import time
from typing import Callable


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
