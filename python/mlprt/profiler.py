"""TensorRT's per-layer profiling interface: ``IProfiler`` to subclass, ``Profiler`` to print.

Set one on an execution context (``context.profiler = mlprt.Profiler()``); every inference then
reports each step of the engine, in execution order, with its device time. Steps are the
inspector's layers: fused layers report once, under their names joined by " + ".
"""
from __future__ import annotations

import statistics
import sys
from typing import Any, Dict, List, TextIO

__all__ = ["IProfiler", "LayerTimes", "Profiler"]


class IProfiler:
    """Base class of profilers: subclass it and implement ``report_layer_time(layer_name, ms)``."""

    def report_layer_time(self, layer_name: str, ms: float) -> None:  # pragma: no cover - interface
        raise NotImplementedError("IProfiler subclasses implement report_layer_time(layer_name, ms)")


class Profiler(IProfiler):
    """Prints each layer's time as ``layer_name: 0.0123 ms``, one line per layer and inference."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def report_layer_time(self, layer_name: str, ms: float) -> None:
        print(f"{layer_name}: {ms:.4f} ms", file=self.stream or sys.stdout)


class LayerTimes(IProfiler):
    """Collects every report: per layer, its time in each profiled inference, in the order the
    layers first ran. ``mlprt exec --dumpProfile`` prints its table."""

    def __init__(self) -> None:
        self.times: Dict[str, List[float]] = {}

    def report_layer_time(self, layer_name: str, ms: float) -> None:
        self.times.setdefault(layer_name, []).append(float(ms))

    @property
    def inferences(self) -> int:
        """How many inferences reported (the most reports of any layer)."""
        return max((len(v) for v in self.times.values()), default=0)

    def rows(self) -> List[Dict[str, Any]]:
        """Per layer: name, total, average and median ms, and share of the total time (%)."""
        grand = sum(sum(v) for v in self.times.values())
        return [{"name": name, "timeMs": sum(v), "averageMs": sum(v) / len(v), "medianMs": statistics.median(v),
                 "percentage": 100.0 * sum(v) / grand if grand > 0 else 0.0}
                for name, v in self.times.items()]

    def table(self) -> str:
        """trtexec's profile table: one line per layer in execution order, then the total."""
        rows = self.rows()
        lines = [f"=== Profile ({self.inferences} iterations) ===",
                 f"{'Time(ms)':>10} {'Avg.(ms)':>10} {'Median(ms)':>11} {'Time(%)':>8}   Layer"]
        for row in rows:
            lines.append(f"{row['timeMs']:10.4f} {row['averageMs']:10.4f} {row['medianMs']:11.4f} "
                         f"{row['percentage']:8.1f}   {row['name']}")
        total = sum(r["timeMs"] for r in rows)
        per_inference = total / self.inferences if self.inferences else 0.0
        lines.append(f"{total:10.4f} {per_inference:10.4f} {sum(r['medianMs'] for r in rows):11.4f} "
                     f"{100.0 if rows else 0.0:8.1f}   Total")
        return "\n".join(lines)

    def as_json(self) -> List[Dict[str, Any]]:
        """trtexec's --exportProfile layout: a count, then one object per layer."""
        return [{"count": self.inferences}] + self.rows()
