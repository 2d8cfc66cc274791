"""mlprt against PyTorch (CUDA eager and CUDA graphs) and ONNX Runtime (CPU) on MLPs (issue 5).

For each model, batch and precision (FP32, FP16) the script builds an mlprt engine for exactly
that batch (a static profile, min = opt = max, so tactics are timed at the measured shape; one
timing cache file is shared by all builds of the run; with --profile-max P, the profile (1, P, P)
of issue 16's tutorial engines instead, run at the row's batch) and times, in one process:

- mlprt end to end: NumPy input -> np.copyto into a pinned host array -> memcpy_htod_async ->
  execute_async_v3 -> memcpy_dtoh_async -> stream.synchronize() -> a NumPy copy of the output;
- mlprt zero-copy end to end: NumPy input -> np.copyto into a pinned host array bound with
  set_tensor_address itself -> execute_async_v3 -> stream.synchronize() -> a NumPy copy of the
  pinned output (kernels read and write the pinned arrays where the device allows, see
  docs/driver.md; else the context copies);
- mlprt device-only: --device-repeats (10) back-to-back execute_async_v3 calls between two events
  recorded on the stream, no copies, per inference (throughput, as the targets ask);
- PyTorch eager on CUDA: model(torch.from_numpy(x).cuda()).cpu().numpy() under inference_mode;
- PyTorch CUDA graph with pinned staging: one graph holds the H2D copy from a pinned tensor,
  the forward and the D2H copy into a pinned tensor; timed as np.copyto into the pinned input,
  replay(), torch.cuda.synchronize(), a NumPy copy of the pinned output;
- the CUDA graph replay alone (a graph of the forward only), as many back-to-back replays between
  two CUDA events;
- ONNX Runtime on the CPU (CPUExecutionProvider, FP32 model in every row).

Each row checks mlprt's output against PyTorch's (same precision) and ONNX Runtime's. Extra rows
time, in fresh subprocesses, the cold and warm build of the 784-32-10 engine and an engine's load
plus first inference. With --cnn, --transformers or --second-level, convolutional networks and
BERT encoders are measured too, each by bench/cnn_bench.py or bench/transformer_bench.py in a
subprocess. The results are printed as markdown tables, with issues 5's and 16's targets.

    python bench/benchmark.py --json out.json --plot latency.png --markdown results.md
    python bench/benchmark.py --quick --models mlp_784_32_10 --batches 1,3
    python bench/benchmark.py --models mlp_784_32_10 --batches 1 --second-level --cnn-from DIR
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import gc
import io
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

import mlprt
import mlprt.driver as cuda

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench scripts' shared helpers
from timing import compiled_program  # noqa: E402

if TYPE_CHECKING:  # heavy imports stay out of the subprocesses that time loading
    import onnxruntime
    import torch

SCRIPT = Path(__file__).resolve()
INPUT_NAME, OUTPUT_NAME = "input", "output"
CHILD_BUILD, CHILD_LOAD = "_child-build", "_child-load"
#: Relative error allowed per precision (mlprt.testing's default tolerances: 1e-5 / 1e-2).
TOLERANCE = {"fp32": mlprt.testing.default_tolerances(False)[1],
             "fp16": mlprt.testing.default_tolerances(True)[1]}
#: The model, batch and precision of the build and load rows.
BUILD_ROW_MODEL, BUILD_ROW_BATCH = "mlp_784_32_10", 64
#: The columns of one row, in order: key in Row.measurements and its table heading.
IMPLEMENTATIONS: Tuple[Tuple[str, str], ...] = (
    ("mlprt_e2e", "mlprt e2e"),
    ("mlprt_zero_copy", "mlprt zero-copy e2e"),
    ("mlprt_device", "mlprt device"),
    ("torch_eager", "torch eager"),
    ("torch_graph_pinned", "torch graph+pinned"),
    ("torch_graph_replay", "graph replay"),
    ("ort_cpu", "ORT CPU FP32"),
)
TORCH_CUDA_KEYS = ("torch_eager", "torch_graph_pinned", "torch_graph_replay")


class BenchmarkError(RuntimeError):
    """A build, load or subprocess failed; the message says which and why."""


# --------------------------------------------------------------------------------------------
# Models


@dataclass(frozen=True)
class ModelSpec:
    """An MLP of Linear layers with ReLU between them: ``widths`` from input to output."""

    name: str
    widths: Tuple[int, ...]
    batches: Tuple[int, ...]

    @property
    def in_features(self) -> int:
        """Width of the input."""
        return self.widths[0]

    @property
    def out_features(self) -> int:
        """Width of the output."""
        return self.widths[-1]

    def flops(self, batch: int) -> int:
        """Floating-point operations of one forward pass: 2 * batch * sum(in * out)."""
        return 2 * batch * sum(a * b for a, b in zip(self.widths[:-1], self.widths[1:]))


MODELS: Dict[str, ModelSpec] = {
    spec.name: spec for spec in (
        ModelSpec("mlp_784_32_10", (784, 32, 10), (1, 32, 64)),
        ModelSpec("mlp_wide", (1024, 4096, 4096, 1024), (1, 64, 512, 4096)),
        ModelSpec("mlp_deep", (256,) * 9, (1, 256, 4096)),
    )
}


def make_torch_model(spec: ModelSpec, seed: int) -> "torch.nn.Sequential":
    """The model as torch.nn.Sequential (Linear, ReLU, ..., Linear), default init from ``seed``."""
    import torch

    torch.manual_seed(seed)
    layers: List[torch.nn.Module] = []
    for index, (fan_in, fan_out) in enumerate(zip(spec.widths[:-1], spec.widths[1:])):
        if index:
            layers.append(torch.nn.ReLU())
        layers.append(torch.nn.Linear(fan_in, fan_out))
    return torch.nn.Sequential(*layers).eval()


def export_onnx(model: "torch.nn.Module", spec: ModelSpec, path: Path) -> None:
    """torch.onnx.export(dynamo=False) with a dynamic batch axis, as the tutorial does."""
    import torch

    axes = {INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, spec.in_features),), str(path), dynamo=False,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], dynamic_axes=axes)


def make_input(spec: ModelSpec, batch: int, seed: int) -> np.ndarray:
    """Standard normal float32 input of shape (batch, in_features), reproducible from ``seed``."""
    rng = np.random.default_rng([seed, batch, spec.in_features])
    return rng.standard_normal((batch, spec.in_features)).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Timing


@dataclass(frozen=True)
class TimingSettings:
    """How long each measurement runs: warm-up, then at least ``min_iterations`` runs and at
    least ``min_seconds``; a measurement that reaches ``max_seconds`` (ONNX Runtime:
    ``ort_max_seconds``) stops there once it has 3 runs."""

    min_iterations: int
    min_seconds: float
    max_seconds: float
    ort_max_seconds: float
    warmup_iterations: int
    warmup_seconds: float


@dataclass
class Measurement:
    """Statistics of one timed operation, in microseconds per run."""

    median_us: float
    p90_us: float
    mean_us: float
    min_us: float
    iterations: int
    seconds: float   # wall time of the timed runs together
    capped: bool     # stopped by the time cap before min_iterations/min_seconds were reached


def measure(sample: Callable[[], float], timing: TimingSettings,
            max_seconds: Optional[float] = None) -> Measurement:
    """Runs ``sample`` (which performs one run and returns its duration in seconds) through a
    warm-up and then adaptively, with the garbage collector off; returns the statistics."""
    cap = timing.max_seconds if max_seconds is None else max_seconds
    collecting = gc.isenabled()
    gc.disable()
    try:
        began = time.perf_counter()
        runs = 0
        while True:
            sample()
            runs += 1
            elapsed = time.perf_counter() - began
            if runs >= timing.warmup_iterations and elapsed >= timing.warmup_seconds:
                break
            if elapsed >= cap / 5:
                break
        durations: List[float] = []
        capped = False
        began = time.perf_counter()
        while True:
            durations.append(sample())
            elapsed = time.perf_counter() - began
            if len(durations) >= timing.min_iterations and elapsed >= timing.min_seconds:
                break
            if elapsed >= cap and len(durations) >= 3:
                capped = True
                break
    finally:
        if collecting:
            gc.enable()
    data = np.asarray(durations, dtype=np.float64) * 1e6
    return Measurement(median_us=float(np.median(data)), p90_us=float(np.percentile(data, 90)),
                       mean_us=float(data.mean()), min_us=float(data.min()),
                       iterations=len(durations), seconds=elapsed, capped=capped)


def wall_clock(body: Callable[[], Any]) -> Callable[[], float]:
    """A sample function for :func:`measure` that times ``body`` with time.perf_counter."""
    def sample() -> float:
        start = time.perf_counter()
        body()
        return time.perf_counter() - start
    return sample


# --------------------------------------------------------------------------------------------
# mlprt


class _Logger(mlprt.ILogger):
    """Prints warnings and errors to stderr, keeps the errors for exception messages, the
    driver compiles the build logged (verbose: milliseconds, kernels, options) and its tactic
    choices (verbose: every candidate's time)."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: List[str] = []
        self.compiles: List[Tuple[float, str, str]] = []
        self.choices: List[str] = []

    def log(self, severity: "mlprt._core.Severity", msg: str) -> None:
        """Keeps errors and compiles; prints warnings and errors."""
        if severity in (mlprt.Logger.ERROR, mlprt.Logger.INTERNAL_ERROR):
            self.errors.append(msg)
        compiled = compiled_program(msg) if severity == mlprt.Logger.VERBOSE else None
        if compiled:
            self.compiles.append(compiled)
        elif severity == mlprt.Logger.VERBOSE and "(timed" in msg:
            self.choices.append(msg)  # the builder's choice of a step's tactic, every candidate's time
        if int(severity) <= int(mlprt.Logger.WARNING):
            print(f"[mlprt] {msg}", file=sys.stderr, flush=True)


def build_engine(onnx_path: Path, batch: int, in_features: int, fp16: bool,
                 timing_cache: Optional[Path],
                 profile_max: Optional[int] = None) -> Tuple[bytes, Dict[str, Any]]:
    """Parses the ONNX model and builds an engine with one static profile (min = opt = max =
    (batch, in_features)), or with ``profile_max`` the dynamic profile (1, profile_max,
    profile_max) of issue 16's tutorial engines. ``timing_cache``: read when the file exists
    (else an empty cache is used) and written back. Returns the plan and the build's figures (parse_s, build_s,
    seconds = both, timing cache hits and misses)."""
    logger = _Logger()
    start = time.perf_counter()
    builder = mlprt.Builder(logger)
    network = builder.create_network(1 << int(mlprt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = mlprt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise BenchmarkError(f"parsing {onnx_path.name} failed: " + "; ".join(errors))
    parsed = time.perf_counter()
    config = builder.create_builder_config()
    if fp16:
        config.set_flag(mlprt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    shape = (batch, in_features)
    shapes = [shape, shape, shape]
    if profile_max is not None:
        if batch > profile_max:
            raise BenchmarkError(f"batch {batch} is above --profile-max {profile_max}")
        shapes = [(1, in_features), (profile_max, in_features), (profile_max, in_features)]
    profile.set_shape(INPUT_NAME, *shapes)
    config.add_optimization_profile(profile)
    cache_bytes = timing_cache.read_bytes() if timing_cache and timing_cache.exists() else b""
    cache = config.create_timing_cache(cache_bytes)
    config.set_timing_cache(cache, ignore_mismatch=True)
    plan = builder.build_serialized_network(network, config)
    built = time.perf_counter()
    if plan is None:
        raise BenchmarkError(f"building {onnx_path.name} (batch {batch}, "
                             f"{'fp16' if fp16 else 'fp32'}) failed: " + "; ".join(logger.errors))
    if timing_cache is not None:
        timing_cache.write_bytes(bytes(cache.serialize()))
    figures = {"seconds": built - start, "parse_s": parsed - start, "build_s": built - parsed,
               "timing_cache_hits": int(cache.hits), "timing_cache_misses": int(cache.misses),
               "engine_bytes": len(plan), "profile": [list(s) for s in shapes],
               # Threads compile side by side, so the sum can exceed the build's wall time.
               "programs_compiled": len(logger.compiles),
               "compile_s_sum": sum(ms for ms, _, _ in logger.compiles) / 1e3,
               "compiles": [{"ms": ms, "kernels": kernels, "options": options}
                            for ms, kernels, options in sorted(logger.compiles, reverse=True)],
               "tactic_choices": logger.choices}
    return bytes(plan), figures


class MlprtRunner:
    """An engine with its execution context, stream, pinned host buffers and device buffers
    for one input shape: the tutorial's set-up."""

    def __init__(self, plan: bytes, batch: int, in_features: int) -> None:
        self.logger = _Logger()
        self.runtime = mlprt.Runtime(self.logger)
        engine = self.runtime.deserialize_cuda_engine(plan)
        if engine is None:
            raise BenchmarkError("the engine could not be loaded: " + "; ".join(self.logger.errors))
        self.engine = engine
        self.context = engine.create_execution_context()
        self.stream = cuda.Stream()
        if not self.context.set_input_shape(INPUT_NAME, (batch, in_features)):
            raise BenchmarkError(f"the engine refuses input shape {(batch, in_features)}: "
                                 + "; ".join(self.logger.errors))
        self.host: Dict[str, np.ndarray] = {}
        self.device: Dict[str, cuda.DeviceAllocation] = {}
        for name in engine:
            dtype = mlprt.nptype(engine.get_tensor_dtype(name))
            shape = tuple(self.context.get_tensor_shape(name))
            self.host[name] = cuda.pagelocked_empty(shape, dtype)
            self.device[name] = cuda.mem_alloc(self.host[name].nbytes)
            self.context.set_tensor_address(name, int(self.device[name]))
        self.start_event, self.end_event = cuda.Event(), cuda.Event()
        # Device time is measured on a stream of its own: timing events move a stream to a
        # profiling queue, where copies cost more host time, and the e2e rows time the tutorial's
        # untimed stream.
        self.timing_stream = cuda.Stream()
        # A second context whose inputs and outputs are pinned arrays themselves (zero-copy).
        self.zero_copy_context = engine.create_execution_context()
        self.zero_copy_context.set_input_shape(INPUT_NAME, (batch, in_features))
        self.zero_copy_host: Dict[str, np.ndarray] = {}
        for name in engine:
            self.zero_copy_host[name] = cuda.pagelocked_empty_like(self.host[name])
            self.zero_copy_context.set_tensor_address(name, self.zero_copy_host[name].ctypes.data)

    @property
    def input_dtype(self) -> np.dtype:
        """The dtype the engine takes (FP32 also for FP16 engines: casts are inside)."""
        return self.host[INPUT_NAME].dtype

    def infer(self, x: np.ndarray) -> np.ndarray:
        """One inference end to end; ``x`` must have the engine's input dtype and shape."""
        np.copyto(self.host[INPUT_NAME], x)
        cuda.memcpy_htod_async(self.device[INPUT_NAME], self.host[INPUT_NAME], self.stream)
        self.context.execute_async_v3(self.stream.handle)
        cuda.memcpy_dtoh_async(self.host[OUTPUT_NAME], self.device[OUTPUT_NAME], self.stream)
        self.stream.synchronize()
        return self.host[OUTPUT_NAME].copy()

    def infer_zero_copy(self, x: np.ndarray) -> np.ndarray:
        """One inference end to end with the pinned arrays bound as the I/O tensors: no
        memcpy calls."""
        np.copyto(self.zero_copy_host[INPUT_NAME], x)
        self.zero_copy_context.execute_async_v3(self.stream.handle)
        self.stream.synchronize()
        return self.zero_copy_host[OUTPUT_NAME].copy()

    def device_seconds(self, repeats: int = 1) -> float:
        """``repeats`` back-to-back execute_async_v3 calls between two events on the timing
        stream: device seconds per inference."""
        self.start_event.record(self.timing_stream)
        for _ in range(repeats):
            self.context.execute_async_v3(self.timing_stream.handle)
        self.end_event.record(self.timing_stream)
        self.end_event.synchronize()
        return self.end_event.time_since(self.start_event) / 1e3 / repeats


# --------------------------------------------------------------------------------------------
# PyTorch on CUDA


def torch_eager(model: "torch.nn.Module", x: np.ndarray) -> np.ndarray:
    """model(torch.from_numpy(x).cuda()).cpu().numpy() under inference_mode."""
    import torch

    with torch.inference_mode():
        return model(torch.from_numpy(x).cuda()).cpu().numpy()


class TorchGraphs:
    """Two CUDA graphs of a model on the GPU: one with pinned staging (the H2D copy from a
    pinned tensor, the forward, the D2H copy into a pinned tensor) and one of the forward
    alone."""

    def __init__(self, model: "torch.nn.Module", batch: int, spec: ModelSpec,
                 dtype: "torch.dtype") -> None:
        import torch

        self.torch = torch
        shape, out_shape = (batch, spec.in_features), (batch, spec.out_features)
        with torch.no_grad():
            self.stage_in = torch.zeros(shape, dtype=dtype, pin_memory=True)
            self.stage_out = torch.zeros(out_shape, dtype=dtype, pin_memory=True)
            self.static_in = torch.zeros(shape, dtype=dtype, device="cuda")
            self.replay_in = torch.zeros(shape, dtype=dtype, device="cuda")
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):  # warm-up before capture, as PyTorch asks
                for _ in range(3):
                    self.static_in.copy_(self.stage_in, non_blocking=True)
                    self.stage_out.copy_(model(self.static_in), non_blocking=True)
            torch.cuda.current_stream().wait_stream(side)
            torch.cuda.synchronize()
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):
                self.static_in.copy_(self.stage_in, non_blocking=True)
                self.stage_out.copy_(model(self.static_in), non_blocking=True)
            self.replay_graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.replay_graph):
                self.replay_out = model(self.replay_in)
        torch.cuda.synchronize()
        self.stage_in_np = self.stage_in.numpy()
        self.stage_out_np = self.stage_out.numpy()
        self.start_event = torch.cuda.Event(enable_timing=True)
        self.end_event = torch.cuda.Event(enable_timing=True)

    def graph_pinned(self, x: np.ndarray) -> np.ndarray:
        """Copy into the pinned input, replay (H2D, forward, D2H), synchronize, copy out."""
        np.copyto(self.stage_in_np, x)
        self.graph.replay()
        self.torch.cuda.synchronize()
        return self.stage_out_np.copy()

    def set_replay_input(self, x: np.ndarray) -> None:
        """Fills the forward-only graph's device input once (outside any timing)."""
        self.replay_in.copy_(self.torch.from_numpy(x))
        self.torch.cuda.synchronize()

    def replay_seconds(self, repeats: int = 1) -> float:
        """``repeats`` back-to-back replays of the forward-only graph between two CUDA events:
        device seconds per inference."""
        self.start_event.record()
        for _ in range(repeats):
            self.replay_graph.replay()
        self.end_event.record()
        self.end_event.synchronize()
        return self.start_event.elapsed_time(self.end_event) / 1e3 / repeats

    def replay_output(self) -> np.ndarray:
        """The forward-only graph's last output, on the host."""
        return self.replay_out.cpu().numpy()


# --------------------------------------------------------------------------------------------
# Rows


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """max|a - b| / max(max|b|, 1e-6), computed in float64."""
    a, b = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if a.shape != b.shape:
        return float("inf")
    return float(np.abs(a - b).max() / max(float(np.abs(b).max()), 1e-6))


def allclose(actual: np.ndarray, expected: np.ndarray, tolerance: float) -> bool:
    """mlprt.testing's pass rule, |a - b| <= atol + rtol * |b| with atol = rtol = tolerance,
    for every element (the reference cast to mlprt's output dtype, exact from half)."""
    expected = np.asarray(expected).astype(np.asarray(actual).dtype)
    return mlprt.testing.compare_arrays(OUTPUT_NAME, actual, expected, tolerance,
                                        tolerance).passed


@dataclass
class Row:
    """One (model, batch, precision): build, measurements (None where not measured), errors."""

    model: str
    batch: int
    precision: str
    flops: int
    build: Dict[str, Any] = field(default_factory=dict)
    measurements: Dict[str, Optional[Measurement]] = field(default_factory=dict)
    errors: Dict[str, Optional[float]] = field(default_factory=dict)
    allclose: Dict[str, bool] = field(default_factory=dict)   # mlprt.testing's rule held
    tolerance: float = 0.0
    torch_reference: str = ""   # "cuda" or "cpu" (no CUDA: PyTorch on the CPU gives the reference)
    notes: List[str] = field(default_factory=list)
    phase_seconds: Dict[str, float] = field(default_factory=dict)   # wall time of each step
    ok: bool = False

    def us(self, key: str) -> Optional[float]:
        """Median microseconds of one implementation, None when not measured."""
        found = self.measurements.get(key)
        return None if found is None else found.median_us

    def ratios(self) -> Dict[str, Optional[float]]:
        """mlprt / peer time ratios (below 1: mlprt is faster)."""
        def ratio(a: str, b: str) -> Optional[float]:
            x, y = self.us(a), self.us(b)
            return None if x is None or y is None else x / y
        return {"e2e_over_eager": ratio("mlprt_e2e", "torch_eager"),
                "e2e_over_graph": ratio("mlprt_e2e", "torch_graph_pinned"),
                "zero_copy_over_eager": ratio("mlprt_zero_copy", "torch_eager"),
                "zero_copy_over_graph": ratio("mlprt_zero_copy", "torch_graph_pinned"),
                "device_over_replay": ratio("mlprt_device", "torch_graph_replay"),
                "e2e_over_ort": ratio("mlprt_e2e", "ort_cpu")}

    def throughput(self) -> Dict[str, Dict[str, Optional[float]]]:
        """Samples per second of every implementation; TFLOP/s of the device-only ones."""
        result: Dict[str, Dict[str, Optional[float]]] = {}
        for key, _ in IMPLEMENTATIONS:
            us = self.us(key)
            entry: Dict[str, Optional[float]] = {
                "samples_per_s": None if us is None else self.batch / (us * 1e-6)}
            if key in ("mlprt_device", "torch_graph_replay"):
                entry["tflops"] = None if us is None else self.flops / (us * 1e-6) / 1e12
            result[key] = entry
        return result

    def to_json(self) -> Dict[str, Any]:
        """The row as JSON-ready data (null where not measured)."""
        return {"model": self.model, "batch": self.batch, "precision": self.precision,
                "flops": self.flops, "build": self.build,
                "measurements": {k: None if m is None else asdict(m)
                                 for k, m in self.measurements.items()},
                "ratios": self.ratios(), "throughput": self.throughput(),
                "errors": self.errors, "allclose": self.allclose,
                "tolerance": self.tolerance,
                "torch_reference": self.torch_reference, "notes": self.notes,
                "phase_seconds": self.phase_seconds, "ok": self.ok}


class Bench:
    """State shared by the rows of one run: settings, files, models, sessions, caches."""

    def __init__(self, args: argparse.Namespace, timing: TimingSettings, workdir: Path) -> None:
        import torch

        self.torch = torch
        self.args = args
        self.timing = timing
        self.workdir = workdir
        self.timing_cache = workdir / "timing-cache.bin"
        if self.timing_cache.exists():
            self.timing_cache.unlink()  # one cache for the builds of this run, starting empty
        self.cuda = torch.cuda.is_available()
        if self.cuda:
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        self._cpu_models: Dict[str, torch.nn.Sequential] = {}
        self._onnx: Dict[str, Path] = {}
        self._ort: Dict[str, "onnxruntime.InferenceSession"] = {}
        self._ort_runs: Dict[Tuple[str, int], Tuple[Optional[Measurement], np.ndarray]] = {}

    def cpu_model(self, spec: ModelSpec) -> "torch.nn.Sequential":
        """The FP32 model on the CPU (made once per run from the seed)."""
        if spec.name not in self._cpu_models:
            self._cpu_models[spec.name] = make_torch_model(spec, self.args.seed)
        return self._cpu_models[spec.name]

    def onnx_path(self, spec: ModelSpec) -> Path:
        """The model's FP32 ONNX file (exported once per run)."""
        if spec.name not in self._onnx:
            path = self.workdir / f"{spec.name}.onnx"
            export_onnx(self.cpu_model(spec), spec, path)
            self._onnx[spec.name] = path
        return self._onnx[spec.name]

    def ort_session(self, spec: ModelSpec) -> "onnxruntime.InferenceSession":
        """ONNX Runtime's CPU session on the FP32 model."""
        import onnxruntime

        if spec.name not in self._ort:
            self._ort[spec.name] = onnxruntime.InferenceSession(
                str(self.onnx_path(spec)), providers=["CPUExecutionProvider"])
        return self._ort[spec.name]

    def ort(self, spec: ModelSpec, batch: int,
            x: np.ndarray) -> Tuple[Optional[Measurement], np.ndarray]:
        """ONNX Runtime's output and timing at this batch (FP32; shared by the FP32 and FP16
        rows). Above --skip-ort-above only the output is computed (one run), not timed."""
        key = (spec.name, batch)
        if key not in self._ort_runs:
            session = self.ort_session(spec)
            reference = session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]
            timed: Optional[Measurement] = None
            limit = self.args.skip_ort_above
            if limit is None or batch <= limit:
                timed = measure(wall_clock(lambda: session.run([OUTPUT_NAME], {INPUT_NAME: x})),
                                self.timing, max_seconds=self.timing.ort_max_seconds)
            self._ort_runs[key] = (timed, reference)
        return self._ort_runs[key]

    def row(self, spec: ModelSpec, batch: int, precision: str) -> Row:
        """Builds the engine and measures every implementation at one shape and precision."""
        torch = self.torch
        fp16 = precision == "fp16"
        row = Row(spec.name, batch, precision, spec.flops(batch), tolerance=TOLERANCE[precision])
        x = make_input(spec, batch, self.args.seed)
        clock = time.perf_counter()

        def phase(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            row.phase_seconds[name] = now - clock
            clock = now

        onnx_path = self.onnx_path(spec)
        phase("export")
        plan, row.build = self.build(onnx_path, spec, batch, fp16)
        phase("build")
        ours = self._measure_mlprt(row, plan, spec, batch, x)
        phase("mlprt")

        torch_dtype = torch.float16 if fp16 else torch.float32
        x_torch = x.astype(np.float16) if fp16 else x
        for key in TORCH_CUDA_KEYS:
            row.measurements[key] = None
        if self.cuda:
            row.torch_reference = "cuda"
            model = make_torch_model(spec, self.args.seed).to("cuda", torch_dtype)
            reference = self._measure_torch_cuda(row, model, spec, batch, torch_dtype, x_torch)
            del model
            torch.cuda.empty_cache()
        else:
            row.torch_reference = "cpu"
            model_cpu = copy.deepcopy(self.cpu_model(spec)).to(torch_dtype)
            with torch.inference_mode():
                reference = model_cpu(torch.from_numpy(x_torch)).numpy()
            del model_cpu
        row.errors["vs_torch"] = relative_error(ours, reference)
        row.allclose["vs_torch"] = allclose(ours, reference, row.tolerance)
        phase("torch")

        ort_timing, ort_reference = self.ort(spec, batch, x)
        phase("ort")
        row.measurements["ort_cpu"] = ort_timing
        if ort_timing is None:
            row.notes.append(f"ONNX Runtime not timed above batch {self.args.skip_ort_above} "
                             "(--skip-ort-above); its output is still compared")
        row.errors["vs_ort"] = relative_error(ours, ort_reference)
        row.allclose["vs_ort"] = allclose(ours, ort_reference, row.tolerance)
        row.ok = (all(e is not None and e <= row.tolerance for e in row.errors.values())
                  and all(row.allclose.values()))
        return row

    def build(self, onnx_path: Path, spec: ModelSpec, batch: int,
              fp16: bool) -> Tuple[bytes, Dict[str, Any]]:
        """Builds the row's engine with the run's timing cache: here, or with --build-timeout
        in a fresh subprocess that is stopped after that many seconds (BenchmarkError)."""
        if self.args.build_timeout is None:
            return build_engine(onnx_path, batch, spec.in_features, fp16, self.timing_cache,
                                self.args.profile_max)
        engine = self.workdir / "engine.plan"
        arguments = [CHILD_BUILD, "--onnx", str(onnx_path), "--batch", str(batch),
                     "--in-features", str(spec.in_features), "--timing-cache",
                     str(self.timing_cache), "--engine-out", str(engine)]
        arguments += ["--fp16"] if fp16 else []
        arguments += ["--device", self.args.device] if self.args.device is not None else []
        if self.args.profile_max is not None:
            arguments += ["--profile-max", str(self.args.profile_max)]
        figures = run_child(arguments, dict(os.environ), None, timeout=self.args.build_timeout)
        figures["in_subprocess"] = True
        plan = engine.read_bytes()
        engine.unlink()
        return plan, figures

    def _measure_mlprt(self, row: Row, plan: bytes, spec: ModelSpec, batch: int,
                       x: np.ndarray) -> np.ndarray:
        """Times mlprt end to end and device-only into ``row``; returns its output. The input
        is given in the dtype the engine reports (FP32 for FP16 engines too)."""
        runner = MlprtRunner(plan, batch, spec.in_features)
        x_engine = x.astype(runner.input_dtype)
        row.build["input_dtype"] = runner.input_dtype.name
        row.build["output_dtype"] = runner.host[OUTPUT_NAME].dtype.name
        ours = runner.infer(x_engine)
        row.measurements["mlprt_e2e"] = measure(wall_clock(lambda: runner.infer(x_engine)),
                                                self.timing)
        row.errors["zero_copy_vs_e2e"] = relative_error(runner.infer_zero_copy(x_engine), ours)
        row.measurements["mlprt_zero_copy"] = measure(
            wall_clock(lambda: runner.infer_zero_copy(x_engine)), self.timing)
        repeats = self.args.device_repeats
        row.measurements["mlprt_device"] = measure(lambda: runner.device_seconds(repeats), self.timing)
        return ours

    def _measure_torch_cuda(self, row: Row, model: "torch.nn.Module", spec: ModelSpec,
                            batch: int, dtype: "torch.dtype", x: np.ndarray) -> np.ndarray:
        """Times the three PyTorch variants into ``row``; returns the eager output. The graph
        outputs are checked against it (``graph_vs_eager``, ``replay_vs_eager`` errors). A
        graph that cannot be captured leaves its columns empty, with a note."""
        reference = torch_eager(model, x)
        row.measurements["torch_eager"] = measure(wall_clock(lambda: torch_eager(model, x)),
                                                  self.timing)
        try:
            runner = TorchGraphs(model, batch, spec, dtype)
        except RuntimeError as error:
            note = f"CUDA graph capture failed, graph columns not measured: {error}"
            print(f"warning: {row.model} batch {row.batch} {row.precision}: {note}",
                  file=sys.stderr)
            row.notes.append(note)
            return reference
        row.errors["graph_vs_eager"] = relative_error(runner.graph_pinned(x), reference)
        row.measurements["torch_graph_pinned"] = measure(
            wall_clock(lambda: runner.graph_pinned(x)), self.timing)
        runner.set_replay_input(x)
        repeats = self.args.device_repeats
        row.measurements["torch_graph_replay"] = measure(lambda: runner.replay_seconds(repeats),
                                                         self.timing)
        row.errors["replay_vs_eager"] = relative_error(runner.replay_output(), reference)
        return reference


# --------------------------------------------------------------------------------------------
# Build and load rows (fresh subprocesses)


def _child_env(mlprt_cache: Path, driver_caches: Optional[Path]) -> Dict[str, str]:
    """This process's environment with mlprt's program cache (MLPRT_CACHE_DIR) at
    ``mlprt_cache`` and, when ``driver_caches`` is given, the drivers' own (NVIDIA's
    CUDA_CACHE_PATH, PoCL's POCL_CACHE_DIR) under it; otherwise the drivers keep theirs."""
    env = dict(os.environ)
    env["MLPRT_CACHE_DIR"] = str(mlprt_cache)
    if driver_caches is not None:
        env.update(CUDA_CACHE_PATH=str(driver_caches / "nv"),
                   POCL_CACHE_DIR=str(driver_caches / "pocl"))
    return env


def _count_files(env: Dict[str, str]) -> Dict[str, Optional[int]]:
    """Files now in each program cache that ``env`` names (None: not set, the driver's default
    place): shows which caches a step filled."""
    return {name: (sum(len(files) for _, _, files in os.walk(env[name])) if name in env else None)
            for name in ("MLPRT_CACHE_DIR", "CUDA_CACHE_PATH", "POCL_CACHE_DIR")}


def run_child(arguments: Sequence[str], env: Dict[str, str], label: Optional[str],
              timeout: float = 900) -> Dict[str, Any]:
    """Runs this script's hidden sub-command in a fresh interpreter; returns its JSON (the last
    line of its stdout) with ``process_wall_s`` (start to exit, as seen from here) and
    ``cache_files`` (files in each program cache afterwards) added. The child is killed after
    ``timeout`` seconds (BenchmarkError); ``label``: printed with its time, unless None."""
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, str(SCRIPT), *arguments], env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchmarkError(f"'{arguments[0]}' subprocess did not finish within {timeout:g} s "
                             "and was stopped") from None
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise BenchmarkError(f"'{arguments[0]}' subprocess failed (exit {done.returncode}):\n"
                             f"{done.stderr.strip()}")
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise BenchmarkError(f"'{arguments[0]}' subprocess printed nothing:\n{done.stderr.strip()}")
    result: Dict[str, Any] = json.loads(lines[-1])
    result["process_wall_s"] = wall
    result["cache_files"] = _count_files(env)
    if label is not None:
        print(f"  {label}: {result['seconds']:.3f} s (process {wall:.1f} s)", file=sys.stderr,
              flush=True)
    return result


#: The subprocess steps of one repeat of the build and load rows, in order.
BUILD_STEPS = ("cold_all", "cold", "warm", "load")


def measure_build_and_load(bench: Bench, repeats: int, cold_all: bool = True) -> Dict[str, Any]:
    """Issue 5's build and load rows on the 784-32-10 engine (batch 64, FP32), each a fresh
    subprocess, ``repeats`` times in this order:

    - cold_all (unless ``cold_all`` is False): every program cache empty, mlprt's and the
      drivers', and no timing cache;
    - cold: an empty MLPRT_CACHE_DIR and no timing cache (issue 5's cold build); the drivers'
      caches are the ones cold_all filled (without cold_all: the drivers' usual ones);
    - warm: the MLPRT_CACHE_DIR that the cold build filled and its timing cache file;
    - load: the warm build's engine file read, loaded, set up and run once.

    Returns the medians (seconds) and every sample."""
    spec = MODELS[BUILD_ROW_MODEL]
    onnx_path = bench.onnx_path(spec)
    device = ["--device", bench.args.device] if bench.args.device is not None else []
    build = [CHILD_BUILD, "--onnx", str(onnx_path), "--batch", str(BUILD_ROW_BATCH), *device]
    samples: Dict[str, List[Dict[str, Any]]] = {step: [] for step in BUILD_STEPS}
    for index in range(repeats):
        folder = Path(tempfile.mkdtemp(prefix=f"build-{index}-", dir=bench.workdir))
        engine = folder / "mlp.engine"
        drivers = folder / "driver-caches" if cold_all else None
        if cold_all:
            env = _child_env(folder / "mlprt-cache-all", drivers)
            samples["cold_all"].append(run_child(
                [*build, "--timing-cache", str(folder / "timing-cache-all.bin")], env,
                "build, every cache empty"))
        env = _child_env(folder / "mlprt-cache", drivers)
        cache = folder / "timing-cache.bin"
        samples["cold"].append(run_child([*build, "--timing-cache", str(cache)], env,
                                         "build, cold"))
        samples["warm"].append(run_child([*build, "--timing-cache", str(cache),
                                          "--engine-out", str(engine)], env, "build, warm"))
        samples["load"].append(run_child([CHILD_LOAD, "--engine", str(engine), "--batch",
                                          str(BUILD_ROW_BATCH), "--in-features",
                                          str(spec.in_features), *device], env,
                                         "load + first inference"))
        shutil.rmtree(folder, ignore_errors=True)

    def median(step: str, key: str = "seconds") -> Optional[float]:
        values = [sample[key] for sample in samples[step]]
        return float(np.median(values)) if values else None

    return {"model": spec.name, "batch": BUILD_ROW_BATCH, "precision": "fp32",
            "repeats": repeats, "device_is_cpu": mlprt.current_device().type == "CPU",
            "cold_all_build_s": median("cold_all"),
            "cold_build_s": median("cold"), "warm_build_s": median("warm"),
            "load_first_inference_s": median("load"),
            "warm_timing_cache_hits": median("warm", "timing_cache_hits"),
            "warm_timing_cache_misses": median("warm", "timing_cache_misses"),
            "samples": samples}


def child_build(argv: Sequence[str]) -> int:
    """Hidden sub-command: one engine build in this fresh process; prints JSON figures."""
    parser = argparse.ArgumentParser(prog=f"benchmark.py {CHILD_BUILD}")
    parser.add_argument("--onnx", type=Path, required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--in-features", type=int, default=MODELS[BUILD_ROW_MODEL].in_features)
    parser.add_argument("--fp16", action="store_true")
    parser.add_argument("--timing-cache", type=Path,
                        help="read if it exists (else the build starts from an empty cache), "
                             "then written")
    parser.add_argument("--engine-out", type=Path)
    parser.add_argument("--device")
    parser.add_argument("--profile-max", type=int)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.device is not None:
        mlprt.set_device(args.device)
    device = mlprt.current_device()
    # The device brought up as `import pycuda.autoinit` / `mlprt.autoinit` does before a
    # TensorRT tutorial builds or loads an engine: the OpenCL context, its first queue and first
    # memory use. Once per process, timed apart from the build (and from the load in child_load).
    cuda.Device(device.index).make_context()
    device_s = time.perf_counter() - start
    cache_read = args.timing_cache is not None and args.timing_cache.exists()
    plan, figures = build_engine(args.onnx, args.batch, args.in_features, args.fp16,
                                 args.timing_cache, args.profile_max)
    if args.engine_out is not None:
        args.engine_out.write_bytes(plan)
    figures.update(device=device.name, device_init_s=device_s, timing_cache_read=cache_read)
    print(json.dumps(figures))
    return 0


def child_load(argv: Sequence[str]) -> int:
    """Hidden sub-command: reads an engine file, loads it, creates the context and buffers and
    runs one synchronized inference, timed from the file read to the output in host memory."""
    parser = argparse.ArgumentParser(prog=f"benchmark.py {CHILD_LOAD}")
    parser.add_argument("--engine", type=Path, required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--in-features", type=int, required=True)
    parser.add_argument("--device")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.device is not None:
        mlprt.set_device(args.device)
    device = mlprt.current_device()
    cuda.Device(device.index).make_context()   # the device up first, as in child_build
    device_s = time.perf_counter() - start
    x = np.random.default_rng(0).standard_normal((args.batch, args.in_features)).astype(np.float32)
    start = time.perf_counter()
    plan = args.engine.read_bytes()
    read = time.perf_counter()
    runner = MlprtRunner(plan, args.batch, args.in_features)   # Runtime, engine, context, buffers
    ready = time.perf_counter()
    output = runner.infer(x.astype(runner.input_dtype, copy=False))
    done = time.perf_counter()
    if not np.all(np.isfinite(output)):
        raise BenchmarkError("the first inference gave non-finite values")
    print(json.dumps({"seconds": done - start, "read_s": read - start,
                      "load_and_setup_s": ready - read, "first_inference_s": done - ready,
                      "device": device.name, "device_init_s": device_s,
                      "engine_bytes": len(plan)}))
    return 0


# --------------------------------------------------------------------------------------------
# Targets (issues 5 and 16)


@dataclass(frozen=True)
class Target:
    """One of issue 5's or 16's targets, as its text gives it, and how to read it from the
    results."""

    what: str
    required: str
    kind: str                        # "e2e", "memcpy", "device", "build", "cold_all", "load",
                                     # "network" (a cnn_bench.py / transformer_bench.py row)
    model: str = ""
    batch: int = 0
    precision: str = "fp32"
    limits: Tuple[float, ...] = ()   # e2e: (max vs eager, max vs graph); memcpy: (max vs graph,);
                                     # device: (min ratio,); cold_all: (GPU s, CPU s);
                                     # network: (max vs graph,)
    issue: int = 5
    dynamic: bool = False            # measured on a (1, max, max) engine only (--profile-max)


TARGETS: Tuple[Target, ...] = (
    Target("MLP 784-32-10, batch 1, end to end",
           "<= 0.5x PyTorch eager and <= 0.8x PyTorch CUDA graph", "e2e",
           "mlp_784_32_10", 1, "fp32", (0.5, 0.8)),
    Target("MLP 784-32-10, batch 64, end to end",
           "<= 0.5x PyTorch eager and <= 0.8x PyTorch CUDA graph", "e2e",
           "mlp_784_32_10", 64, "fp32", (0.5, 0.8)),
    Target("MLP 1024-4096-4096-1024, batch 4096, FP32 device-only",
           ">= 0.9x PyTorch FP32 throughput (TF32 off)", "device", "mlp_wide", 4096, "fp32",
           (0.9,)),
    Target("same, FP16 device-only", ">= 0.6x PyTorch FP16 throughput", "device", "mlp_wide",
           4096, "fp16", (0.6,)),
    Target("8x256 MLP, batch 4096, FP16 device-only", ">= 1.0x PyTorch FP16", "device",
           "mlp_deep", 4096, "fp16", (1.0,)),
    Target("build of the 784-32-10 engine, cold / with timing cache", "<= 3 s / <= 1 s",
           "build", limits=(3.0, 1.0)),
    Target("engine load + first inference", "<= 100 ms", "load", limits=(0.1,)),
    Target("MLP 784-32-10, batch 1, FP32, the tutorials' memcpy calls, engine (1, max, max)",
           "<= 0.8x PyTorch CUDA graph (with pinned staging)", "memcpy", "mlp_784_32_10", 1,
           "fp32", (0.8,), issue=16, dynamic=True),
    Target("MLP 1024-4096-4096-1024, batch 4096, FP16 device-only", ">= 0.8x cuBLAS "
           "(PyTorch FP16) throughput", "device", "mlp_wide", 4096, "fp16", (0.8,), issue=16),
    Target("build of the 784-32-10 engine, every cache empty (mlprt's and the driver's)",
           "<= 2 s on a GPU, <= 15 s on PoCL", "cold_all", limits=(2.0, 15.0), issue=16),
    Target("ResNet-50 224x224, batch 32, FP16, the tutorials' memcpy calls",
           "<= 1.0x PyTorch CUDA graph (with pinned staging)", "network", "resnet50 224x224", 32,
           "fp16", (1.0,), issue=16),
    Target("YOLOv8n 640x640, batch 1, FP16, the tutorials' memcpy calls",
           "<= 1.0x PyTorch CUDA graph (with pinned staging)", "network", "yolov8n 640x640", 1,
           "fp16", (1.0,), issue=16),
    Target("BERT-base, sequence 128, batch 32, FP16, the tutorials' memcpy calls",
           "<= 1.0x PyTorch CUDA graph (with pinned staging)", "network", "bert_base seq 128", 32,
           "fp16", (1.0,), issue=16),
)

#: Issue 16's second-level rows, which --second-level adds: the CNN rows (bench/cnn_bench.py,
#: NAME:HxW:BATCH:PRECISION) and the transformer row (bench/transformer_bench.py,
#: NAME:BATCH:PRECISION[:SEQUENCE]).
SECOND_LEVEL_CNN = ("resnet50:224x224:32:fp16", "yolov8n:640x640:1:fp16")
SECOND_LEVEL_TRANSFORMERS = ("bert_base:32:fp16",)
#: Largest error against ONNX Runtime a network row may have (issues 14 and 15's bars).
NETWORK_TOLERANCE = {"fp32": 1e-4, "fp16": 1e-2}


def _dynamic_profile(row: "Row") -> bool:
    """Whether the row's engine was built with a profile from batch 1 to above the row's batch
    (--profile-max), as issue 16's tutorial engines are."""
    profile = row.build.get("profile")
    return bool(profile) and profile[0][0] == 1 and profile[2][0] > row.batch


def _both_measured(entry: Dict[str, Any], ours: Optional[float], theirs: Optional[float], what: str,
                   cuda_available: bool) -> bool:
    """True when mlprt's time ``ours`` and PyTorch's ``theirs`` were both measured; otherwise
    ``entry`` says which was not (``what``: how mlprt's figure was taken) and gets its status."""
    if ours is None:
        entry["measured"], entry["status"] = "the row failed", "MISSED"
        return False
    if theirs is None:
        entry["measured"] = f"{what} {ours:.1f} us; PyTorch not measured"
        entry["status"] = "n/a (no CUDA)" if not cuda_available else "not measured"
        return False
    return True


def evaluate_targets(rows: Sequence[Row], build_rows: Optional[Dict[str, Any]],
                     cuda_available: bool,
                     network_rows: Sequence[Dict[str, Any]] = ()) -> List[Dict[str, Any]]:
    """Each target with its measured figure (text and numbers) and status: met, MISSED,
    n/a (no CUDA), or not measured."""
    found = {(r.model, r.batch, r.precision): r for r in rows}
    networks = {(r["model"], r["batch"], r["precision"]): r for r in network_rows}
    results: List[Dict[str, Any]] = []
    for target in TARGETS:
        entry: Dict[str, Any] = {"target": target.what, "required": target.required,
                                 "issue": target.issue,
                                 "measured": "", "values": {}, "status": "not measured"}
        row = found.get((target.model, target.batch, target.precision))
        if row is not None and target.dynamic and not _dynamic_profile(row):
            entry["measured"] = "the row's engine has a static profile (run with --profile-max)"
            row = None
        if target.kind == "e2e" and row is not None:
            # mlprt's faster end-to-end way: zero-copy pinned I/O, or the tutorial's memcpy calls.
            key = min(("mlprt_e2e", "mlprt_zero_copy"),
                      key=lambda k: float("inf") if row.us(k) is None else row.us(k))
            ratios = row.ratios()
            prefix = "e2e" if key == "mlprt_e2e" else "zero_copy"
            eager, graph = ratios[f"{prefix}_over_eager"], ratios[f"{prefix}_over_graph"]
            way = "memcpy calls" if key == "mlprt_e2e" else "zero-copy"
            entry["values"] = {"mlprt_us": row.us(key), "way": key, "over_eager": eager,
                               "over_graph": graph}
            pytorch = None if eager is None or graph is None else graph
            if _both_measured(entry, row.us(key), pytorch, f"mlprt {way}", cuda_available):
                entry["measured"] = f"{way}: {eager:.2f}x eager, {graph:.2f}x graph"
                met = eager <= target.limits[0] and graph <= target.limits[1]
                entry["status"] = "met" if met else "MISSED"
        elif target.kind == "memcpy" and row is not None:
            ours, theirs = row.us("mlprt_e2e"), row.us("torch_graph_pinned")
            entry["values"] = {"mlprt_e2e_us": ours, "torch_graph_pinned_us": theirs}
            if _both_measured(entry, ours, theirs, "mlprt memcpy calls", cuda_available):
                ratio = ours / theirs
                entry["values"]["over_graph"] = ratio
                entry["measured"] = f"{ratio:.2f}x graph ({ours:.1f} us vs {theirs:.1f} us)"
                entry["status"] = "met" if ratio <= target.limits[0] else "MISSED"
        elif target.kind == "device" and row is not None:
            ours, theirs = row.us("mlprt_device"), row.us("torch_graph_replay")
            entry["values"] = {"mlprt_device_us": ours, "torch_graph_replay_us": theirs}
            if _both_measured(entry, ours, theirs, "mlprt device", cuda_available):
                ratio = theirs / ours
                entry["values"]["throughput_ratio"] = ratio
                entry["measured"] = f"{ratio:.2f}x ({ours:.1f} us vs {theirs:.1f} us)"
                entry["status"] = "met" if ratio >= target.limits[0] else "MISSED"
        elif target.kind == "build" and build_rows is not None:
            cold, warm = build_rows["cold_build_s"], build_rows["warm_build_s"]
            entry["values"] = {"cold_s": cold, "warm_s": warm}
            entry["measured"] = f"{cold:.2f} s / {warm:.2f} s"
            met = cold <= target.limits[0] and warm <= target.limits[1]
            entry["status"] = "met" if met else "MISSED"
        elif (target.kind == "cold_all" and build_rows is not None
              and build_rows["cold_all_build_s"] is not None):
            seconds = build_rows["cold_all_build_s"]
            limit = target.limits[1] if build_rows.get("device_is_cpu") else target.limits[0]
            entry["values"] = {"seconds": seconds, "limit_s": limit}
            entry["measured"] = f"{seconds:.2f} s (limit here {limit:g} s)"
            entry["status"] = "met" if seconds <= limit else "MISSED"
        elif target.kind == "network" and (target.model, target.batch, target.precision) in networks:
            network = networks[(target.model, target.batch, target.precision)]
            ours, theirs = network["mlprt"], network.get("torch_graph")
            entry["values"] = {"mlprt_ms": ours, "torch_graph_ms": theirs}
            if _both_measured(entry, None if ours is None else ours * 1e3,
                              None if theirs is None else theirs * 1e3, "mlprt memcpy calls",
                              cuda_available):
                ratio = ours / theirs
                entry["values"]["over_graph"] = ratio
                entry["measured"] = f"{ratio:.2f}x graph ({ours:.3f} ms vs {theirs:.3f} ms)"
                entry["status"] = "met" if ratio <= target.limits[0] else "MISSED"
        elif target.kind == "load" and build_rows is not None:
            seconds = build_rows["load_first_inference_s"]
            entry["values"] = {"seconds": seconds}
            entry["measured"] = f"{seconds * 1e3:.1f} ms"
            entry["status"] = "met" if seconds <= target.limits[0] else "MISSED"
        results.append(entry)
    return results


# --------------------------------------------------------------------------------------------
# Output


def _fmt(value: Optional[float], spec: str, suffix: str = "") -> str:
    """``value`` formatted with ``spec`` and ``suffix``, or "n/a" when it is None."""
    return "n/a" if value is None else f"{value:{spec}}{suffix}"


def rows_table(rows: Sequence[Row]) -> str:
    """The main results table, in markdown."""
    headings = ["model", "batch", "prec", "build s"]
    headings += [f"{label} us" for _, label in IMPLEMENTATIONS]
    headings += ["e2e / eager", "e2e / graph", "zero-copy / eager", "zero-copy / graph",
                 "device / replay", "e2e / ORT",
                 "mlprt e2e samples/s", "mlprt device TFLOP/s", "replay TFLOP/s",
                 "err vs torch", "err vs ORT", "ok"]
    lines = ["| " + " | ".join(headings) + " |",
             "| --- | ---: | --- |" + " ---: |" * (len(headings) - 4) + " --- |"]
    for row in rows:
        ratios, rates = row.ratios(), row.throughput()
        cells = [row.model, str(row.batch), row.precision, _fmt(row.build.get("seconds"), ".2f")]
        cells += [_fmt(row.us(key), ".1f") for key, _ in IMPLEMENTATIONS]
        cells += [_fmt(ratios[k], ".2f", "x") for k in
                  ("e2e_over_eager", "e2e_over_graph", "zero_copy_over_eager",
                   "zero_copy_over_graph", "device_over_replay", "e2e_over_ort")]
        cells += [_fmt(rates["mlprt_e2e"]["samples_per_s"], ",.0f"),
                  _fmt(rates["mlprt_device"]["tflops"], ".3g"),
                  _fmt(rates["torch_graph_replay"]["tflops"], ".3g"),
                  _fmt(row.errors.get("vs_torch"), ".1e"), _fmt(row.errors.get("vs_ort"), ".1e"),
                  "ok" if row.ok else "FAIL"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def network_rows_table(network_rows: Sequence[Dict[str, Any]]) -> str:
    """The CNN and transformer rows (bench/cnn_bench.py, bench/transformer_bench.py), in markdown."""
    lines = ["| model | batch | prec | build s | driver compiles (summed s) | mlprt ms | torch graph+pinned ms "
             "| torch eager ms | ORT CPU ms | mlprt / graph | device ms: mlprt / graph replay | err vs ORT | ok |",
             "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in network_rows:
        ratio = r.get("mlprt_over_graph")
        compiles = (f"{r['programs_compiled']} ({r['compile_s_sum']:.1f})" if r.get("programs_compiled") is not None
                    else "-")
        lines.append(f"| {r['model']} | {r['batch']} | {r['precision']} | {_fmt(r.get('build_s'), '.2f')} | {compiles} "
                     f"| {_fmt(r.get('mlprt'), '.3f')} | {_fmt(r.get('torch_graph'), '.3f')} "
                     f"| {_fmt(r.get('torch_eager'), '.3f')} | {_fmt(r.get('onnxruntime_cpu'), '.3f')} "
                     f"| {_fmt(ratio, '.2f', 'x')} "
                     f"| {_fmt(r.get('mlprt_device'), '.3f')} / {_fmt(r.get('torch_graph_replay'), '.3f')} "
                     f"| {_fmt(r.get('rel_error_vs_ort'), '.1e')} "
                     f"| {'ok' if r.get('ok') else 'FAIL'} |")
    return "\n".join(lines)


def targets_table(targets: Sequence[Dict[str, Any]]) -> str:
    """Issues 5's and 16's targets with the measured figures, in markdown."""
    lines = ["| issue | target | required | measured | status |",
             "| --- | --- | --- | --- | --- |"]
    lines += [f"| {t['issue']} | {t['target']} | {t['required']} | {t['measured'] or '-'} "
              f"| {t['status']} |" for t in targets]
    return "\n".join(lines)


def build_rows_table(build_rows: Dict[str, Any]) -> str:
    """The subprocess rows (cold and warm builds, load + first inference), in markdown."""
    samples = build_rows["samples"]
    what = f"build {build_rows['model']}, batch {build_rows['batch']}, FP32"
    hits, misses = build_rows["warm_timing_cache_hits"], build_rows["warm_timing_cache_misses"]
    entries = [
        (f"{what}, cold: every program cache empty (mlprt, NVIDIA, PoCL), no timing cache",
         "cold_all", 1.0, "s"),
        (f"{what}, cold: empty MLPRT_CACHE_DIR, no timing cache (driver caches filled)",
         "cold", 1.0, "s"),
        (f"{what}, warm: filled MLPRT_CACHE_DIR, timing cache ({hits:.0f} hits, "
         f"{misses:.0f} misses)", "warm", 1.0, "s"),
        ("engine file read + load + context + buffers + first inference (the device already "
         "up)", "load", 1e3, "ms"),
    ]
    lines = ["| measurement (a fresh process each) | median | samples |", "| --- | ---: | --- |"]
    for label, step, scale, unit in entries:
        if not samples[step]:
            continue
        values = [sample["seconds"] * scale for sample in samples[step]]
        lines.append(f"| {label} | {float(np.median(values)):.3f} {unit} | "
                     + ", ".join(f"{v:.3f}" for v in values) + " |")
    if samples["cold_all"] and "compiles" in samples["cold_all"][0]:
        first = samples["cold_all"][0]
        slowest = "; ".join(f"{c['kernels'].split(';')[0]} {c['ms'] / 1e3:.2f} s" for c in first["compiles"][:3])
        lines.append(f"| of the first cold build: {first['programs_compiled']} programs compiled by the driver, "
                     f"their compile times summed (threads overlap them); slowest: {slowest} | "
                     f"{first['compile_s_sum']:.3f} s | |")
    if samples["load"] and "device_init_s" in samples["load"][0]:
        values = [sample["device_init_s"] * 1e3 for sample in samples["load"]]
        lines.append("| before it, once per process: the device up (`make_context`: OpenCL context, "
                     f"first queue and first memory use, as pycuda.autoinit), not counted | {float(np.median(values)):.3f} ms | "
                     + ", ".join(f"{v:.3f}" for v in values) + " |")
    return "\n".join(lines)


NOTES = (
    "Times are medians in microseconds per inference (p90 and iteration counts in the JSON). "
    "e2e: NumPy in to NumPy out, wall clock, with the tutorial's memcpy calls; zero-copy e2e: "
    "the same with the pinned arrays bound as the engine's inputs and outputs (no memcpy calls; "
    "the targets take the faster of the two). device: back-to-back runs of mlprt's execute_async_v3 "
    "between two OpenCL events and of the forward-only CUDA graph's replay between two CUDA "
    "events (--device-repeats, 10 unless said otherwise), per inference. ONNX "
    "Runtime runs the FP32 model on the CPU in every row, FP16 rows too. Ratios are mlprt / "
    "peer time (below 1: mlprt faster); target throughput ratios are PyTorch time / mlprt time. "
    "Errors: max|a - b| / max|b| against PyTorch (same precision) and ONNX Runtime (FP32); "
    "ok: both within 1e-5 (FP32) or 1e-2 (FP16), and mlprt.testing's allclose rule "
    "(|a - b| <= tol + tol * |b| per element) holds against both."
)


NETWORK_NOTES = (
    "Network rows: medians in milliseconds per call, NumPy in to NumPy out; mlprt as the tutorials "
    "call it (pinned host buffers, memcpy_htod_async, execute_async_v3, memcpy_dtoh_async, "
    "synchronize) on an engine of the row's shape; PyTorch as a CUDA graph with pinned staging and "
    "eagerly (FP16: the module in half); ONNX Runtime on the CPU. Device ms: the device time alone "
    "(back-to-back runs between two events, no copies; CNN rows only), which splits a row's time "
    "into device work and host copies. Error: max|a - b| / max|b| "
    "against ONNX Runtime; ok: within 1e-4 (FP32) or 1e-2 (FP16)."
)


def write_plot(rows: Sequence[Row], path: Path) -> Optional[str]:
    """Latency vs batch, log-log, one subplot per model x precision and one line per
    implementation. Returns a note instead when matplotlib cannot be imported."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return f"matplotlib is not installed: no plot written to {path}"
    groups = list(dict.fromkeys((r.model, r.precision) for r in rows))
    columns = min(2, len(groups))
    lines = (len(groups) + columns - 1) // columns
    figure, axes = plt.subplots(lines, columns, figsize=(6.5 * columns, 4.5 * lines),
                                squeeze=False)
    for ax in axes.flat[len(groups):]:
        ax.set_visible(False)
    for ax, (model, precision) in zip(axes.flat, groups):
        selected = sorted((r for r in rows if (r.model, r.precision) == (model, precision)),
                          key=lambda r: r.batch)
        for key, label in IMPLEMENTATIONS:
            points = [(r.batch, r.us(key)) for r in selected if r.us(key) is not None]
            if points:
                ax.plot(*zip(*points), marker="o", label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("batch")
        ax.set_ylabel("latency (us, median)")
        ax.set_title(f"{model}, {precision}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return None


# --------------------------------------------------------------------------------------------
# Main


def _csv(kind: Callable[[str], Any]) -> Callable[[str], List[Any]]:
    """An argparse type: comma-separated values, each converted by ``kind``."""
    def parse(text: str) -> List[Any]:
        try:
            return [kind(part.strip()) for part in text.split(",") if part.strip()]
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    return parse


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """The command line (see --help)."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Exit status: 0, or 1 when an output is outside the tolerance or a step failed.")
    parser.add_argument("--models", type=_csv(str), default=list(MODELS),
                        help=f"comma-separated, from {', '.join(MODELS)} (default: all)")
    parser.add_argument("--batches", type=_csv(int),
                        help="comma-separated batches for every model (default: each model's)")
    parser.add_argument("--precisions", type=_csv(str), default=["fp32", "fp16"],
                        help="comma-separated, from fp32, fp16 (default: both)")
    parser.add_argument("--device-repeats", type=int, default=10,
                        help="device-only columns: back-to-back runs between the two events, "
                             "time divided by their number (throughput; default 10, 1: one run)")
    parser.add_argument("--quick", action="store_true",
                        help="few iterations, one subprocess repeat, no all-caches-empty "
                             "build (for tests)")
    parser.add_argument("--min-iterations", type=int,
                        help="timed runs per measurement, at least (50; --quick 5)")
    parser.add_argument("--min-seconds", type=float,
                        help="seconds per measurement, at least (0.3; --quick 0.02)")
    parser.add_argument("--max-seconds", type=float,
                        help="a measurement stops here even short of the minimums (10; --quick 1)")
    parser.add_argument("--ort-max-seconds", type=float,
                        help="the same cap for ONNX Runtime, slow on big batches (3; --quick 0.5)")
    parser.add_argument("--skip-ort-above", type=int, metavar="BATCH",
                        help="do not time ONNX Runtime above this batch (its output is still "
                             "compared once); default: time every batch")
    parser.add_argument("--build-timeout", type=float, metavar="SECONDS",
                        help="build each row's engine in a fresh subprocess stopped after this "
                             "long (the row then fails and the run goes on); default: build "
                             "in this process, no limit")
    parser.add_argument("--no-build-rows", action="store_true",
                        help="skip the subprocess rows (cold/warm build, load + first inference)")
    parser.add_argument("--no-cold-all", action="store_true",
                        help="skip the build row with the drivers' program caches empty too "
                             "(PoCL recompiles everything: tens of seconds on a CPU); --quick "
                             "skips it as well")
    parser.add_argument("--repeats", type=int,
                        help="fresh-subprocess repeats of the build and load rows (3; --quick 1)")
    parser.add_argument("--device", metavar="SELECTOR",
                        help="mlprt device: index, platform:device or part of its name "
                             "(as `mlprt exec --device`; see `mlprt devices`)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and inputs (0)")
    parser.add_argument("--profile-max", type=int, metavar="BATCH",
                        help="build every row's engine with one dynamic profile (1, BATCH, "
                             "BATCH), as issue 16's tutorial engines are, and run it at the "
                             "row's batch; default: a static profile at the row's batch")
    parser.add_argument("--cnn", type=_network_spec("cnn"), metavar="NAME:HxW:BATCH:PRECISION,...",
                        help="convolutional networks (tests/python/vision_zoo.py names) measured by "
                             "bench/cnn_bench.py in a subprocess, e.g. resnet50:224x224:32:fp16")
    parser.add_argument("--cnn-from", type=Path, metavar="DIR",
                        help="cnn_bench.py --from for the rows whose files its --export-to wrote "
                             "there (NAME_HxW_bBATCH.onnx and .pt: models whose packages this machine "
                             "lacks, as ultralytics' YOLO); the other rows export their models here")
    parser.add_argument("--transformers", type=_network_spec("transformer"),
                        metavar="NAME:BATCH:PRECISION[:SEQUENCE],...",
                        help="BERT configurations of bench/transformer_bench.py (bert_tiny, "
                             "bert_4x256, bert_base; sequence 128 unless given), in a subprocess")
    parser.add_argument("--second-level", action="store_true",
                        help="add issue 16's second-level rows: " + ", ".join(SECOND_LEVEL_CNN)
                             + " (CNN) and " + ", ".join(SECOND_LEVEL_TRANSFORMERS) + " (BERT)")
    parser.add_argument("--network-iterations", type=int, metavar="N",
                        help="timed calls per network row (50; --quick 3)")
    parser.add_argument("--network-timeout", type=float, default=900.0, metavar="SECONDS",
                        help="a network row's subprocess is stopped after this long (900)")
    parser.add_argument("--workdir", type=Path,
                        help="where ONNX files and caches go (default: a temporary directory)")
    parser.add_argument("--json", type=Path, help="write every figure to this JSON file")
    parser.add_argument("--plot", type=Path, help="draw latency vs batch into this image")
    parser.add_argument("--markdown", type=Path,
                        help="write the tables as a block for bench/RESULTS.md")
    args = parser.parse_args(argv)
    unknown = [m for m in args.models if m not in MODELS]
    if unknown or not args.models:
        parser.error(f"--models: unknown {unknown}; choose from {', '.join(MODELS)}")
    bad = [p for p in args.precisions if p not in TOLERANCE]
    if bad or not args.precisions:
        parser.error(f"--precisions: unknown {bad}; choose from fp32, fp16")
    if args.batches is not None and (not args.batches or min(args.batches) < 1):
        parser.error("--batches: give positive integers")
    if args.device_repeats < 1:
        parser.error("--device-repeats: give a positive integer")
    if args.profile_max is not None:
        largest = max(args.batches or [max(MODELS[m].batches) for m in args.models])
        if args.profile_max < largest:
            parser.error(f"--profile-max {args.profile_max} is below batch {largest}")
    return args


def _network_spec(kind: str) -> Callable[[str], List[str]]:
    """argparse type of --cnn (NAME:HxW:BATCH:PRECISION) and --transformers
    (NAME:BATCH:PRECISION[:SEQUENCE]) lists: each spec checked, the bad one named."""
    def parse(text: str) -> List[str]:
        specs = [item.strip() for item in text.split(",") if item.strip()]
        for spec in specs:
            parts = spec.split(":")
            if kind == "cnn":
                size = parts[1].split("x") if len(parts) == 4 else []
                good = (len(size) == 2 and all(v.isdigit() and int(v) > 0 for v in size)
                        and parts[2].isdigit() and int(parts[2]) > 0)
                form = "NAME:HxW:BATCH:PRECISION"
            else:
                good = (len(parts) in (3, 4) and parts[1].isdigit() and int(parts[1]) > 0
                        and (len(parts) == 3 or (parts[3].isdigit() and int(parts[3]) > 0)))
                form = "NAME:BATCH:PRECISION[:SEQUENCE]"
            if not good or parts[-1 if kind == "cnn" else 2] not in TOLERANCE:
                raise argparse.ArgumentTypeError(f"'{spec}' is not {form} (precision fp32 or fp16)")
        return specs
    return parse


def network_commands(args: argparse.Namespace, folder: Path) -> List[Tuple[str, List[str], Path]]:
    """(spec, command line, JSON file) of each network row the arguments ask for."""
    iterations = str(args.network_iterations or (3 if args.quick else 50))
    cnn = list(args.cnn or []) + (list(SECOND_LEVEL_CNN) if args.second_level else [])
    transformers = list(args.transformers or []) + (list(SECOND_LEVEL_TRANSFORMERS) if args.second_level else [])
    commands: List[Tuple[str, List[str], Path]] = []
    for i, spec in enumerate(cnn):
        name, size, batch, precision = spec.split(":")
        out = folder / f"cnn_{i}.json"
        command = [sys.executable, str(SCRIPT.parent / "cnn_bench.py"), "--models", f"{name}:{size}",
                   "--batches", batch, "--precisions", precision, "--iterations", iterations, "--json", str(out)]
        if args.cnn_from is not None and (args.cnn_from / f"{name}_{size}_b{batch}.onnx").exists():
            command += ["--from", str(args.cnn_from.resolve())]  # the subprocess runs elsewhere
        commands.append((f"cnn {spec}", command, out))
    for i, spec in enumerate(transformers):
        parts = spec.split(":")
        out = folder / f"transformer_{i}.json"
        command = [sys.executable, str(SCRIPT.parent / "transformer_bench.py"), "--models", parts[0],
                   "--batches", parts[1], "--precisions", parts[2], "--iterations", iterations,
                   "--ort-iterations", "1", "--json", str(out)]
        if len(parts) == 4:
            command += ["--sequence", parts[3]]
        commands.append((f"transformer {spec}", command, out))
    return commands


def measure_networks(args: argparse.Namespace, folder: Path,
                     failures: List[str]) -> List[Dict[str, Any]]:
    """The CNN and transformer rows, each measured by its script in a subprocess (the tutorials'
    memcpy calls against PyTorch's CUDA graph, ONNX Runtime on the CPU); a row whose script fails
    or whose error against ONNX Runtime is above its bar is a failure, and the run goes on."""
    rows: List[Dict[str, Any]] = []
    folder.mkdir(parents=True, exist_ok=True)
    for spec, command, out in network_commands(args, folder):
        print(f"measuring {spec} ...", file=sys.stderr, flush=True)
        try:
            result = subprocess.run(command, capture_output=True, text=True,
                                    timeout=args.network_timeout, cwd=folder)
        except subprocess.TimeoutExpired:
            failures.append(f"{spec}: stopped after {args.network_timeout:g} s")
            continue
        if result.returncode != 0 or not out.exists():
            tail = " | ".join((result.stdout + result.stderr).strip().splitlines()[-3:])
            failures.append(f"{spec}: exit status {result.returncode}: {tail}")
            continue
        for row in json.loads(out.read_text()):
            bound = NETWORK_TOLERANCE[row["precision"]]
            row["ok"] = row["rel_error_vs_ort"] <= bound
            if not row["ok"]:
                failures.append(f"{spec}: error {row['rel_error_vs_ort']:.2e} against ONNX Runtime, "
                                f"above {bound:g}")
            rows.append(row)
    return rows


def timing_settings(args: argparse.Namespace) -> TimingSettings:
    """The measurement settings: the options given, else the --quick or normal defaults."""
    def pick(value: Optional[float], normal: float, quick: float) -> float:
        return value if value is not None else (quick if args.quick else normal)
    return TimingSettings(
        min_iterations=max(1, int(pick(args.min_iterations, 50, 5))),
        min_seconds=pick(args.min_seconds, 0.3, 0.02),
        max_seconds=pick(args.max_seconds, 10.0, 1.0),
        ort_max_seconds=pick(args.ort_max_seconds, 3.0, 0.5),
        warmup_iterations=2 if args.quick else 5,
        warmup_seconds=0.01 if args.quick else 0.1)


def environment(bench: Bench) -> Dict[str, Any]:
    """Devices and versions for the record."""
    import onnx
    import onnxruntime

    torch = bench.torch
    device = mlprt.current_device()
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]),
        "host": platform.node(),
        "mlprt_device": {"name": device.name, "platform": device.platform,
                         "driver_version": device.driver_version,
                         "opencl_version": device.opencl_version, "type": str(device.type),
                         "fp16": bool(device.fp16)},
        "cuda_available": bench.cuda,
        "cuda_device": torch.cuda.get_device_name(0) if bench.cuda else None,
        "cpu": {"name": cpu, "cores": os.cpu_count()},
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "torch": torch.__version__, "torch_cuda": torch.version.cuda,
                     "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__,
                     "mlprt": mlprt.__version__},
        "torch_settings": {
            "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
            "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
            "matmul_allow_fp16_reduced_precision_reduction":
                torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction},
    }


def header_lines(env: Dict[str, Any]) -> List[str]:
    """The run's description: devices, versions, date, command."""
    device = env["mlprt_device"]
    versions = env["versions"]
    cuda_text = env["cuda_device"] or "none (CUDA not available: PyTorch CUDA columns are n/a)"
    return [
        f"mlprt device: {device['name']} ({device['platform']}, driver {device['driver_version']})",
        f"PyTorch CUDA device: {cuda_text}",
        f"ONNX Runtime: CPUExecutionProvider on {env['cpu']['name']} ({env['cpu']['cores']} cores)",
        f"versions: mlprt {versions['mlprt']}, torch {versions['torch']}, onnxruntime "
        f"{versions['onnxruntime']}, numpy {versions['numpy']}, python {versions['python']}",
        f"date: {env['date']}",
        f"command: {env['command']}",
    ]


def run(args: argparse.Namespace, workdir: Path) -> int:
    """Measures everything the arguments ask for, prints and writes the results."""
    timing = timing_settings(args)
    if args.device is not None:
        mlprt.set_device(args.device)
    bench = Bench(args, timing, workdir)
    env = environment(bench)
    header = header_lines(env)
    print("\n".join(header), flush=True)

    build_rows: Optional[Dict[str, Any]] = None
    failures: List[str] = []
    rows: List[Row] = []

    def write_record(complete: bool, targets: Sequence[Dict[str, Any]] = (),
                     plot_note: Optional[str] = None,
                     network_rows: Sequence[Dict[str, Any]] = ()) -> None:
        """The JSON record; also written after every row, so a run cut short leaves one."""
        if args.json is None:
            return
        record = {"environment": env, "settings": asdict(timing),
                  "arguments": {k: (str(v) if isinstance(v, Path) else v)
                                for k, v in vars(args).items()},
                  "tolerance": TOLERANCE, "rows": [r.to_json() for r in rows],
                  "build_rows": build_rows, "network_rows": list(network_rows),
                  "targets": list(targets), "plot_note": plot_note,
                  "failures": failures, "complete": complete, "ok": complete and not failures}
        args.json.write_text(json.dumps(record, indent=2))

    if not args.no_build_rows:
        repeats = args.repeats if args.repeats is not None else (1 if args.quick else 3)
        print(f"build and load rows: {repeats} repeat(s) in fresh subprocesses ...",
              file=sys.stderr, flush=True)
        cold_all = not (args.no_cold_all or args.quick)
        build_rows = measure_build_and_load(bench, max(1, repeats), cold_all)
        write_record(False)

    for name in args.models:
        spec = MODELS[name]
        for precision in args.precisions:
            for batch in args.batches or spec.batches:
                print(f"measuring {name}, batch {batch}, {precision} ...", file=sys.stderr,
                      flush=True)
                try:
                    row = bench.row(spec, batch, precision)
                    if not row.ok:
                        failures.append(f"{name} batch {batch} {precision}: errors "
                                        f"{row.errors} above {row.tolerance:g}")
                except (BenchmarkError, mlprt.Error, RuntimeError, ValueError,
                        MemoryError) as error:   # the row fails; the run goes on
                    row = Row(name, batch, precision, spec.flops(batch),
                              tolerance=TOLERANCE[precision],
                              notes=[f"not measured: {type(error).__name__}: {error}"])
                    failures.append(f"{name} batch {batch} {precision}: {row.notes[0]}")
                    print(f"  {row.notes[0]}", file=sys.stderr, flush=True)
                rows.append(row)
                if row.phase_seconds:
                    phases = ", ".join(f"{k} {v:.1f}" for k, v in row.phase_seconds.items())
                    print(f"  {sum(row.phase_seconds.values()):.1f} s ({phases}); "
                          f"{'ok' if row.ok else 'FAIL'}", file=sys.stderr, flush=True)
                write_record(False)

    network_rows = measure_networks(args, workdir / "networks", failures)
    write_record(False, network_rows=network_rows)
    targets = evaluate_targets(rows, build_rows, bench.cuda, network_rows)
    tables = ["## Results", "", rows_table(rows), "", NOTES, ""]
    if build_rows is not None:
        tables += ["## Build and load (fresh subprocesses)", "", build_rows_table(build_rows), ""]
    if network_rows:
        tables += ["## Networks (bench/cnn_bench.py, bench/transformer_bench.py)", "",
                   network_rows_table(network_rows), "", NETWORK_NOTES, ""]
    tables += ["## Issue 5 and 16 targets", "", targets_table(targets)]
    if not bench.cuda:
        tables += ["", "Without CUDA, the ratios to PyTorch cannot be measured; build and load "
                   f"figures are for {env['mlprt_device']['name']}."]
    text = "\n".join(tables)
    print()
    print(text)

    plot_note: Optional[str] = None
    if args.plot is not None:
        plot_note = write_plot(rows, args.plot)
        print(f"\nnote: {plot_note}" if plot_note else f"\nplot written to {args.plot}")
    if args.markdown is not None:
        title = (f"### benchmark.py: mlprt on {env['mlprt_device']['name']}, PyTorch on "
                 f"{env['cuda_device'] or 'no CUDA device'}, {env['date'][:10]}")
        block = [title, "", *(f"- {line}" for line in header), "", text.replace("## ", "#### "), ""]
        args.markdown.write_text("\n".join(block))
    write_record(True, targets, plot_note, network_rows)
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point: the benchmark, or one of the hidden sub-commands that the build and load
    rows run in fresh subprocesses."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == CHILD_BUILD:
            return child_build(argv[1:])
        if argv and argv[0] == CHILD_LOAD:
            return child_load(argv[1:])
        args = parse_args(argv)
        if args.workdir is not None:
            args.workdir.mkdir(parents=True, exist_ok=True)
            return run(args, args.workdir)
        with tempfile.TemporaryDirectory(prefix="mlprt-bench-") as folder:
            return run(args, Path(folder))
    except (BenchmarkError, mlprt.Error) as error:
        print(f"benchmark: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
