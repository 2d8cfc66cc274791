"""Soak test: many inferences of the tutorial MLP (784-32-10) with varying batch sizes, watching
the process's host memory (RSS) and mlprt's live device and pinned allocations.

After a warm-up, every sample must show the same live allocations and an RSS within a margin of
the first sample after warm-up; the script prints the samples and a verdict, and exits 1 when
something grew. Every `--churn` inferences it drops its execution context, stream and buffers
and makes new ones, so their release paths are soaked too; every `--check-every` inferences it
compares the output with NumPy.

    python bench/soak.py                         # 100,000 inferences, batches 1..64
    python bench/soak.py --inferences 15000 --json soak.json

tests/python/test_soak.py runs a bounded form; docs/reliability.md ("Soak") has the figures of
the long one.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional

import numpy as np

import mlprt
import mlprt.driver as cuda

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
MIB = 1 << 20


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/statm."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_BYTES


@dataclass
class Sample:
    """The process's memory after `inference` inferences."""
    inference: int
    seconds: float
    rss_bytes: int
    device_buffers: int
    device_bytes: int
    pinned_buffers: int
    pinned_bytes: int


@dataclass
class Report:
    inferences: int
    batches: List[int]
    warmup: int
    rss_margin_bytes: int
    samples: List[Sample] = field(default_factory=list)
    checks: int = 0
    max_relative_error: float = 0.0
    distinct_batches: int = 0
    problems: List[str] = field(default_factory=list)

    @property
    def flat(self) -> bool:
        return not self.problems


def tutorial_weights(seed: int) -> Dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"w1": (rng.standard_normal((784, 32)) * 0.05).astype(np.float32),
            "b1": rng.standard_normal(32).astype(np.float32),
            "w2": (rng.standard_normal((32, 10)) * 0.2).astype(np.float32),
            "b2": rng.standard_normal(10).astype(np.float32)}


def build_engine(weights: Dict[str, np.ndarray], min_batch: int, max_batch: int) -> mlprt.ICudaEngine:
    """The tutorial's SimpleMLP (Linear 784-32, ReLU, Linear 32-10) with a dynamic batch."""
    logger = mlprt.Logger(mlprt.Logger.ERROR)
    builder = mlprt.Builder(logger)
    network = builder.create_network(1 << int(mlprt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    x = network.add_input("input", mlprt.DataType.FLOAT, (-1, 784))
    h = network.add_matrix_multiply(x, mlprt.MatrixOperation.NONE,
                                    network.add_constant((784, 32), weights["w1"]).get_output(0),
                                    mlprt.MatrixOperation.NONE).get_output(0)
    h = network.add_elementwise(h, network.add_constant((1, 32), weights["b1"].reshape(1, 32)).get_output(0),
                                mlprt.ElementWiseOperation.SUM).get_output(0)
    h = network.add_activation(h, mlprt.ActivationType.RELU).get_output(0)
    y = network.add_matrix_multiply(h, mlprt.MatrixOperation.NONE,
                                    network.add_constant((32, 10), weights["w2"]).get_output(0),
                                    mlprt.MatrixOperation.NONE).get_output(0)
    y = network.add_elementwise(y, network.add_constant((10,), weights["b2"]).get_output(0),
                                mlprt.ElementWiseOperation.SUM).get_output(0)
    y.name = "output"
    network.mark_output(y)
    config = builder.create_builder_config()
    profile = builder.create_optimization_profile()
    opt = (min_batch + max_batch) // 2
    profile.set_shape("input", (min_batch, 784), (opt, 784), (max_batch, 784))
    config.add_optimization_profile(profile)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise RuntimeError("building the SimpleMLP engine failed")
    engine = mlprt.Runtime(logger).deserialize_cuda_engine(bytes(plan))
    if engine is None:
        raise RuntimeError("loading the SimpleMLP engine failed")
    return engine


class Session:
    """An execution context with its stream and buffers for the largest batch."""

    def __init__(self, engine: mlprt.ICudaEngine, max_batch: int) -> None:
        self.context = engine.create_execution_context()
        self.stream = cuda.Stream()
        self.host_in = cuda.pagelocked_empty((max_batch, 784), np.float32)
        self.host_out = cuda.pagelocked_empty((max_batch, 10), np.float32)
        self.d_in = cuda.mem_alloc(self.host_in.nbytes)
        self.d_out = cuda.mem_alloc(self.host_out.nbytes)
        self.context.set_tensor_address("input", int(self.d_in))
        self.context.set_tensor_address("output", int(self.d_out))

    def infer(self, x: np.ndarray) -> np.ndarray:
        """One inference the tutorial way (a copy of the output, so no view keeps the pinned
        buffer of a dropped session alive)."""
        rows = x.shape[0]
        if not self.context.set_input_shape("input", x.shape):
            raise RuntimeError(f"batch {rows} was refused")
        self.host_in[:rows] = x
        cuda.memcpy_htod_async(self.d_in, self.host_in[:rows], self.stream)
        self.context.execute_async_v3(self.stream.handle)
        cuda.memcpy_dtoh_async(self.host_out[:rows], self.d_out, self.stream)
        self.stream.synchronize()
        return self.host_out[:rows].copy()


def sample(inference: int, started: float) -> Sample:
    gc.collect()
    live = mlprt._core.live_allocations()
    return Sample(inference, time.perf_counter() - started, rss_bytes(), live["device_buffers"],
                  live["device_bytes"], live["pinned_buffers"], live["pinned_bytes"])


def judge(report: Report) -> None:
    """Fills report.problems: live allocations that differ after warm-up, RSS above the margin."""
    settled = [s for s in report.samples if s.inference >= report.warmup]
    if len(settled) < 2:
        report.problems.append("fewer than two samples after warm-up: run more inferences")
        return
    first = settled[0]
    for s in settled[1:]:
        for name in ("device_buffers", "device_bytes", "pinned_buffers", "pinned_bytes"):
            if getattr(s, name) != getattr(first, name):
                report.problems.append(f"{name} went from {getattr(first, name)} at inference {first.inference} "
                                       f"to {getattr(s, name)} at inference {s.inference}")
    peak = max(settled, key=lambda s: s.rss_bytes)
    growth = peak.rss_bytes - first.rss_bytes
    if growth > report.rss_margin_bytes:
        report.problems.append(f"RSS grew by {growth / MIB:.2f} MiB (from inference {first.inference} to "
                               f"{peak.inference}), more than the margin of {report.rss_margin_bytes / MIB:.2f} MiB")


def soak(inferences: int, min_batch: int, max_batch: int, samples: int, warmup_fraction: float,
         churn: int, check_every: int, rss_margin_mib: float, seed: int,
         leak_bytes_per_inference: int = 0, leak_device_every: int = 0) -> Report:
    """Runs the soak; the leak_* arguments add a deliberate leak, to show the check catches one."""
    rng = np.random.default_rng(seed)
    weights = tutorial_weights(seed)
    engine = build_engine(weights, min_batch, max_batch)
    pool = rng.standard_normal((max_batch * 4, 784)).astype(np.float32)
    batches = rng.integers(min_batch, max_batch + 1, size=inferences)
    report = Report(inferences, [], int(inferences * warmup_fraction), int(rss_margin_mib * MIB))
    report.distinct_batches = int(np.unique(batches).size)
    every = max(1, inferences // samples)
    leaked: List[object] = []
    session: Optional[Session] = None
    started = time.perf_counter()
    for i in range(inferences):
        if i % churn == 0:
            session = None  # release the old context, stream and buffers before making new ones
            session = Session(engine, max_batch)
        if i % every == 0:
            report.samples.append(sample(i, started))
        rows = int(batches[i])
        offset = (i * 37) % (pool.shape[0] - rows)
        x = pool[offset:offset + rows]
        y = session.infer(x)
        if i % check_every == 0:
            reference = np.maximum(x.astype(np.float64) @ weights["w1"] + weights["b1"], 0) @ weights["w2"] + weights["b2"]
            error = float(np.abs(y - reference).max() / np.abs(reference).max())
            report.checks += 1
            report.max_relative_error = max(report.max_relative_error, error)
            if error > 1e-4:
                report.problems.append(f"inference {i} (batch {rows}): relative error {error:.2e}")
        if leak_bytes_per_inference:
            leaked.append(bytearray(b"\x01" * leak_bytes_per_inference))
        if leak_device_every and i % leak_device_every == 0:
            leaked.append(cuda.mem_alloc(4096))
    report.samples.append(sample(inferences, started))
    report.batches = [min_batch, max_batch]
    judge(report)
    return report


def print_report(report: Report) -> None:
    print(f"{'inference':>10} {'seconds':>8} {'RSS MiB':>9} {'dev bufs':>8} {'dev bytes':>10} "
          f"{'pinned':>6} {'pin bytes':>10}")
    for s in report.samples:
        print(f"{s.inference:>10} {s.seconds:>8.1f} {s.rss_bytes / MIB:>9.2f} {s.device_buffers:>8} "
              f"{s.device_bytes:>10} {s.pinned_buffers:>6} {s.pinned_bytes:>10}")
    last = report.samples[-1]
    print(f"{report.inferences} inferences (batches {report.batches[0]}..{report.batches[1]}, "
          f"{report.distinct_batches} distinct) in {last.seconds:.1f} s, "
          f"{report.inferences / max(last.seconds, 1e-9):.0f}/s; {report.checks} checked against NumPy "
          f"(max relative error {report.max_relative_error:.1e}); warm-up: {report.warmup} inferences")
    if report.flat:
        print("verdict: FLAT (live allocations constant, RSS within the margin after warm-up)")
    else:
        print("verdict: GROWING")
        for problem in report.problems:
            print(f"  {problem}")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inferences", type=int, default=100_000)
    parser.add_argument("--min-batch", type=int, default=1)
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument("--samples", type=int, default=20, help="memory samples over the run")
    parser.add_argument("--warmup", type=float, default=0.1, help="fraction of the run before memory must be flat")
    parser.add_argument("--churn", type=int, default=1000,
                        help="make a new context, stream and buffers every this many inferences")
    parser.add_argument("--check-every", type=int, default=500, help="compare with NumPy every this many")
    parser.add_argument("--rss-margin-mib", type=float, default=4.0,
                        help="how much RSS may rise after warm-up, in MiB")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the report here")
    parser.add_argument("--leak-bytes-per-inference", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--leak-device-every", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.min_batch <= args.max_batch:
        parser.error("need 1 <= --min-batch <= --max-batch")
    if args.inferences < 1 or args.samples < 2 or args.churn < 1 or args.check_every < 1:
        parser.error("--inferences, --churn and --check-every must be positive, --samples at least 2")
    report = soak(args.inferences, args.min_batch, args.max_batch, args.samples, args.warmup, args.churn,
                  args.check_every, args.rss_margin_mib, args.seed, args.leak_bytes_per_inference,
                  args.leak_device_every)
    print_report(report)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(dict(asdict(report), flat=report.flat), out, indent=1)
    return 0 if report.flat else 1


if __name__ == "__main__":
    sys.exit(main())
