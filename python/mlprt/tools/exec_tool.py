"""``mlprt exec``: trtexec's job on mlprt. Builds an engine from an ONNX model (or loads one),
optionally saves it, then times inference and prints a performance summary: throughput and the
latency, host-to-device copy, compute and device-to-host copy statistics, each timed with
events recorded on the stream, plus the host time of each enqueue.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Sequence, TextIO

import numpy as np

import mlprt
import mlprt.driver as cuda
from mlprt.engine_tools import (BuildFailed, EngineRunner, Shape, ShapeRange, build_engine,
                                profile_from_shapes)
from mlprt.profiler import LayerTimes
from mlprt.tools.shapes import parse_shape_flag

__all__ = ["ProgressLogger", "Statistics", "parse_memory_size", "register", "run"]

_UNITS = {"": 1 << 20, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
          "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30}
_PROGRESS = re.compile(r"^timing tactics: step (\d+) of (\d+) '(.*)'$")
_LETTERS = {mlprt.Logger.INTERNAL_ERROR: "F", mlprt.Logger.ERROR: "E", mlprt.Logger.WARNING: "W",
            mlprt.Logger.INFO: "I", mlprt.Logger.VERBOSE: "V"}


class ExecError(Exception):
    """A problem with the command's arguments or files; the message is printed as is."""


def parse_memory_size(text: str) -> int:
    """trtexec's sizes: ``1024MiB``, ``2GiB``, ``512KiB``, ``4096B``; a bare number is MiB."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise ExecError(f"memory size '{text}' is not a number with an optional unit "
                        "(B, KiB, MiB, GiB; a bare number is MiB)")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def _parse_pools(text: str) -> Dict[str, int]:
    pools: Dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, size = part.partition(":")
        if not sep:
            raise ExecError(f"--memPoolSize '{part}' is not POOL:SIZE (for example workspace:1024MiB)")
        if name.strip().lower() != "workspace":
            raise ExecError(f"--memPoolSize: unknown pool '{name.strip()}' (mlprt has: workspace)")
        pools["workspace"] = parse_memory_size(size)
    return pools


class ProgressLogger(mlprt.ILogger):
    """Prints messages at or above ``min_severity`` to stderr and, when ``terminal`` is a TTY,
    turns the builder's "timing tactics: step k of n" messages into a progress bar on it."""

    def __init__(self, min_severity: "mlprt.Logger.Severity", terminal: TextIO = sys.stdout) -> None:
        super().__init__()
        self.min_severity = min_severity
        self.terminal = terminal
        self.interactive = bool(getattr(terminal, "isatty", lambda: False)())
        self._drawn = False

    def log(self, severity: "mlprt.Logger.Severity", msg: str) -> None:
        match = _PROGRESS.match(msg)
        if match and self.interactive:
            self._draw(int(match.group(1)), int(match.group(2)), match.group(3))
        if int(severity) <= int(self.min_severity):
            self.finish()
            print(f"[mlprt] [{_LETTERS.get(severity, '?')}] {msg}", file=sys.stderr, flush=True)

    def _draw(self, step: int, total: int, name: str) -> None:
        width = 30
        filled = width * step // max(total, 1)
        label = name if len(name) <= 40 else name[:37] + "..."
        self.terminal.write(f"\r\033[Ktiming tactics [{'#' * filled}{'.' * (width - filled)}] "
                            f"layer {step} of {total}: {label}")
        self.terminal.flush()
        self._drawn = True

    def finish(self) -> None:
        """Clears the progress bar, if one is drawn."""
        if self._drawn:
            self.terminal.write("\r\033[K")
            self.terminal.flush()
            self._drawn = False


@dataclass
class Statistics:
    """Summary statistics of a list of times in milliseconds."""

    values: List[float] = field(default_factory=list)

    def summary(self) -> Dict[str, float]:
        """min, max, mean, median and the 90/95/99th percentiles."""
        data = np.asarray(self.values, dtype=np.float64)
        if data.size == 0:
            return {}
        return {"min": float(data.min()), "max": float(data.max()), "mean": float(data.mean()),
                "median": float(np.median(data)), "p90": float(np.percentile(data, 90)),
                "p95": float(np.percentile(data, 95)), "p99": float(np.percentile(data, 99))}

    def line(self) -> str:
        """trtexec's form: ``min = ... ms, max = ... ms, ..., percentile(99%) = ... ms``."""
        s = self.summary()
        return (f"min = {s['min']:.5f} ms, max = {s['max']:.5f} ms, mean = {s['mean']:.5f} ms, "
                f"median = {s['median']:.5f} ms, percentile(90%) = {s['p90']:.5f} ms, "
                f"percentile(95%) = {s['p95']:.5f} ms, percentile(99%) = {s['p99']:.5f} ms")


def _format_shape(shape: Sequence[int]) -> str:
    return "x".join(str(d) for d in shape) if len(shape) else "(scalar)"


def _random_input(shape: Shape, dtype: Any, rng: np.random.Generator) -> np.ndarray:
    kind = np.dtype(dtype).kind
    if kind == "f":
        return rng.uniform(-1.0, 1.0, size=shape).astype(dtype)
    if kind == "b":
        return rng.integers(0, 2, size=shape).astype(dtype)
    return rng.integers(0, 4, size=shape).astype(dtype)


def _inference_shapes(engine: mlprt.ICudaEngine, runner: EngineRunner,
                      requested: Dict[str, Shape]) -> Dict[str, Shape]:
    unknown = [name for name in requested if name not in runner.input_names]
    if unknown:
        raise ExecError(f"--shapes names unknown input(s) {unknown}; the engine's inputs are "
                        f"{runner.input_names}")
    shapes: Dict[str, Shape] = {}
    for name in runner.input_names:
        if name in requested:
            shapes[name] = requested[name]
            continue
        built = tuple(engine.get_tensor_shape(name))
        if any(d < 0 for d in built):
            shapes[name] = tuple(engine.get_tensor_profile_shape(name, 0)[1])  # opt
        else:
            shapes[name] = built
    return shapes


# trtexec's --profilingVerbosity values.
_VERBOSITIES = {"layer_names_only": mlprt.ProfilingVerbosity.LAYER_NAMES_ONLY,
                "detailed": mlprt.ProfilingVerbosity.DETAILED, "none": mlprt.ProfilingVerbosity.NONE}


def _layer_information(args: argparse.Namespace, engine: mlprt.ICudaEngine) -> None:
    """trtexec's --dumpLayerInfo (the inspector's lines on stdout) and --exportLayerInfo (its JSON)."""
    inspector = engine.create_engine_inspector()
    if args.dumpLayerInfo:
        print("Layer Information:")
        print(inspector.get_engine_information(mlprt.LayerInformationFormat.ONELINE).rstrip())
    if args.exportLayerInfo:
        with open(args.exportLayerInfo, "w") as f:
            f.write(inspector.get_engine_information(mlprt.LayerInformationFormat.JSON))
        print(f"Layer information exported to {args.exportLayerInfo}")


def _build(args: argparse.Namespace, logger: ProgressLogger) -> bytes:
    if not os.path.isfile(args.onnx):
        raise ExecError(f"ONNX model '{args.onnx}' does not exist")
    low, opt, high = (parse_shape_flag(values, "--" + flag) for flag, values in
                      (("minShapes", args.minShapes), ("optShapes", args.optShapes),
                       ("maxShapes", args.maxShapes)))
    profile: Dict[str, ShapeRange] = {}
    if low or opt or high:
        profile = profile_from_shapes(low, opt, high)
    elif args.shapes:
        # As trtexec: --shapes alone builds a profile of exactly those shapes.
        profile = {name: (shape, shape, shape)
                   for name, shape in parse_shape_flag(args.shapes, "--shapes").items()}
    pools = _parse_pools(args.memPoolSize) if args.memPoolSize else {}
    if args.workspace is not None:
        if "workspace" in pools:
            raise ExecError("--workspace and --memPoolSize=workspace:... both set the workspace: give one of them")
        if args.workspace < 0:
            raise ExecError(f"--workspace {args.workspace:g} MiB is negative")
        pools["workspace"] = int(args.workspace * (1 << 20))
    fp16 = args.fp16 or args.best
    if args.noBuilderCache and args.timingCacheFile:
        raise ExecError("--noBuilderCache builds without a timing cache; --timingCacheFile names one: give one of them")

    def configure(config: mlprt.IBuilderConfig) -> None:
        if args.int8 or args.best:
            config.set_flag(mlprt.BuilderFlag.INT8)
        if args.noTF32:
            config.clear_flag(mlprt.BuilderFlag.TF32)
        if args.noBuilderCache:
            config.set_flag(mlprt.BuilderFlag.DISABLE_TIMING_CACHE)
        if args.profilingVerbosity is not None:
            config.profiling_verbosity = _VERBOSITIES[args.profilingVerbosity]
        if args.maxAuxStreams is not None:
            config.max_aux_streams = args.maxAuxStreams

    stats: Dict[str, int] = {}
    started = time.perf_counter()
    try:
        plan = build_engine(args.onnx, fp16=fp16, profiles=[profile] if profile else [],
                            workspace=pools.get("workspace"), timing_cache=args.timingCacheFile,
                            logger=logger, cache_stats=stats, optimization_level=args.builderOptimizationLevel,
                            configure=configure)
    finally:
        logger.finish()
    print(f"Engine built in {time.perf_counter() - started:.3f} s ({len(plan)} bytes)"
          + (", FP16" if fp16 else ""))
    if args.timingCacheFile:
        print(f"Timing cache: {stats.get('hits', 0)} hits, {stats.get('misses', 0)} misses "
              f"({args.timingCacheFile})")
    if args.saveEngine:
        with open(args.saveEngine, "wb") as f:
            f.write(plan)
        print(f"Engine saved to {args.saveEngine}")
    return plan


def _averaged_runs(values: List[float], runs: int) -> List[float]:
    """trtexec's --avgRuns: the means of consecutive groups of ``runs`` values (a last, shorter
    group dropped unless it is the only one)."""
    if runs <= 1:
        return list(values)
    groups = [values[i:i + runs] for i in range(0, len(values) - runs + 1, runs)] or [values]
    return [sum(group) / len(group) for group in groups]


def _time_inference(args: argparse.Namespace, runner: EngineRunner) -> Dict[str, Any]:
    transfers = not args.noDataTransfers
    runner.copy_inputs()  # also with --noDataTransfers: the inputs hold the data once
    runner.stream.synchronize()
    warm_until = time.perf_counter() + args.warmUp / 1000.0
    while time.perf_counter() < warm_until:
        runner.execute()
        runner.stream.synchronize()

    latency, h2d, compute, d2h, enqueue = (Statistics() for _ in range(5))
    records: List[Dict[str, float]] = []
    begin = time.perf_counter()
    end_by = begin + args.duration
    while len(records) < args.iterations or time.perf_counter() < end_by:
        start = cuda.Event().record(runner.stream)
        if transfers:
            runner.copy_inputs()
        copied_in = cuda.Event().record(runner.stream)
        host_start = time.perf_counter()
        runner.execute()
        enqueue_ms = (time.perf_counter() - host_start) * 1000.0
        computed = cuda.Event().record(runner.stream)
        if transfers:
            runner.copy_outputs()
        finished = cuda.Event().record(runner.stream)
        finished.synchronize()
        record = {"startMs": (host_start - begin) * 1000.0, "latencyMs": finished.time_since(start),
                  "enqueueMs": enqueue_ms, "computeMs": computed.time_since(copied_in)}
        if transfers:
            record["h2dMs"] = copied_in.time_since(start)
            record["d2hMs"] = finished.time_since(computed)
        records.append(record)
    wall = time.perf_counter() - begin

    def averaged(key: str) -> List[float]:
        return _averaged_runs([r[key] for r in records], args.avgRuns)

    latency.values = averaged("latencyMs")
    compute.values = averaged("computeMs")
    enqueue.values = averaged("enqueueMs")
    parts = [("Latency", latency), ("Enqueue Time", enqueue)]
    if transfers:
        h2d.values = averaged("h2dMs")
        d2h.values = averaged("d2hMs")
        parts += [("H2D Latency", h2d), ("GPU Compute Time", compute), ("D2H Latency", d2h)]
    else:
        parts.append(("GPU Compute Time", compute))
    throughput = len(records) / wall if wall > 0 else float("inf")

    print("=== Performance summary ===")
    print(f"Throughput: {throughput:.4f} qps")
    for label, stats in parts:
        print(f"{label}: {stats.line()}")
    print(f"Total Host Walltime: {wall:.5f} s")
    print(f"Total GPU Compute Time: {sum(r['computeMs'] for r in records) / 1000.0:.5f} s")
    print(f"Iterations: {len(records)}")
    return {"throughput_qps": throughput, "iterations": len(records), "host_walltime_s": wall,
            "summary": {label: stats.summary() for label, stats in parts}, "times": records}


def _load_inputs(specs: Sequence[str], engine: mlprt.ICudaEngine, shapes: Dict[str, Shape],
                 rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """The inputs' values: trtexec's --loadInputs files (raw bytes in the input's type, exactly its
    shape's size) where named, random values elsewhere."""
    files: Dict[str, str] = {}
    for part in filter(None, (p.strip() for spec in specs for p in spec.split(","))):
        name, sep, path = part.rpartition(":")
        if not sep or not name or not path:
            raise ExecError(f"--loadInputs '{part}' is not NAME:FILE")
        if name not in shapes:
            raise ExecError(f"--loadInputs names unknown input '{name}'; the engine's inputs are {list(shapes)}")
        files[name] = path
    feeds: Dict[str, np.ndarray] = {}
    for name, shape in shapes.items():
        dtype = np.dtype(mlprt.nptype(engine.get_tensor_dtype(name)))
        if name not in files:
            feeds[name] = _random_input(shape, dtype, rng)
            continue
        path = files[name]
        if not os.path.isfile(path):
            raise ExecError(f"--loadInputs: file '{path}' for input '{name}' does not exist")
        expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        size = os.path.getsize(path)
        if size != expected:
            raise ExecError(f"--loadInputs: file '{path}' holds {size} bytes; input '{name}' of shape "
                            f"{_format_shape(shape)} and type {dtype.name} takes {expected}")
        feeds[name] = np.fromfile(path, dtype=dtype).reshape(shape)
    return feeds


def _outputs(args: argparse.Namespace, runner: EngineRunner, feeds: Dict[str, np.ndarray]) -> None:
    """trtexec's --dumpOutput (each output's name, shape and values on stdout) and --exportOutput
    (a JSON list of {name, dimensions, values}), from one more inference with its copies."""
    outputs = runner.run(feeds)
    if args.dumpOutput:
        print("Output Tensors:")
        for name, value in outputs.items():
            print(f"{name}: ({_format_shape(value.shape)})")
            print(" ".join(str(v) for v in value.ravel().tolist()))
    if args.exportOutput:
        exported = [{"name": name, "dimensions": _format_shape(value.shape), "values": value.ravel().tolist()}
                    for name, value in outputs.items()]
        with open(args.exportOutput, "w") as f:
            json.dump(exported, f, indent=2)
        print(f"Output exported to {args.exportOutput}")


def _profile_layers(args: argparse.Namespace, runner: EngineRunner) -> None:
    """A profiled run after the timed one (a profiled inference waits for its layers, so it is
    never part of the performance summary): ``--iterations`` inferences with a profiler, printed
    as trtexec's table and/or written as its JSON."""
    times = LayerTimes()
    runner.context.profiler = times
    try:
        for _ in range(args.iterations):
            runner.execute()
        runner.stream.synchronize()
    finally:
        runner.context.profiler = None
    if args.dumpProfile:
        print(times.table())
    if args.exportProfile:
        with open(args.exportProfile, "w") as f:
            json.dump(times.as_json(), f, indent=2)
        print(f"Profile exported to {args.exportProfile}")


def run(args: argparse.Namespace) -> int:
    """The ``mlprt exec`` command: returns the exit status."""
    if bool(args.onnx) == bool(args.loadEngine):
        raise ExecError("give exactly one of --onnx MODEL.onnx and --loadEngine ENGINE")
    if args.iterations < 1 or args.warmUp < 0 or args.duration < 0 or args.avgRuns < 1:
        raise ExecError("--iterations and --avgRuns must be at least 1; --warmUp and --duration cannot be negative")
    if args.device is not None:
        mlprt.set_device(args.device)
    device = mlprt.current_device()
    print(f"Device: {device.name} ({device.platform})")
    logger = ProgressLogger(mlprt.Logger.VERBOSE if args.verbose else mlprt.Logger.WARNING)
    requested = parse_shape_flag(args.shapes, "--shapes")

    if args.onnx:
        plan = _build(args, logger)
    else:
        if not os.path.isfile(args.loadEngine):
            raise ExecError(f"engine file '{args.loadEngine}' does not exist")
        with open(args.loadEngine, "rb") as f:
            plan = f.read()
        print(f"Engine loaded from {args.loadEngine} ({len(plan)} bytes)")
    layer_information = args.dumpLayerInfo or args.exportLayerInfo
    if layer_information or not args.skipInference:
        runtime = mlprt.Runtime(logger)
        engine = runtime.deserialize_cuda_engine(plan)
        if engine is None:
            raise ExecError("the engine could not be loaded (see the messages above)")
        if layer_information:
            _layer_information(args, engine)
    if args.skipInference:
        print("Inference skipped (--skipInference)")
        return 0
    runner = EngineRunner(engine)
    shapes = _inference_shapes(engine, runner, requested)
    feeds = _load_inputs(args.loadInputs, engine, shapes, np.random.default_rng(0))
    runner.set_inputs(feeds)
    print("Inference shapes: " + ", ".join(f"{n}:{_format_shape(s)}" for n, s in shapes.items()))
    result = _time_inference(args, runner)
    if args.dumpOutput or args.exportOutput:
        _outputs(args, runner, feeds)
    if args.dumpProfile or args.exportProfile:
        _profile_layers(args, runner)
    if args.exportTimes:
        result.update(device=device.name, shapes={n: list(s) for n, s in shapes.items()},
                      data_transfers=not args.noDataTransfers)
        with open(args.exportTimes, "w") as f:
            json.dump(result, f, indent=2)
        print(f"Times exported to {args.exportTimes}")
    return 0


def _handler(args: argparse.Namespace) -> int:
    try:
        return run(args)
    except (ExecError, BuildFailed, ValueError, OSError, mlprt.Error) as error:
        message = str(error).strip() or type(error).__name__
        print(f"mlprt exec: {message}", file=sys.stderr)
        return 1


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Adds ``mlprt exec`` to the command line's subparsers."""
    p = subparsers.add_parser(
        "exec", help="build, save, load and time engines (trtexec)",
        description="trtexec on mlprt: build an engine from ONNX or load one, then time inference.")
    src = p.add_argument_group("model and engine")
    src.add_argument("--onnx", metavar="MODEL", help="ONNX model to build an engine from")
    src.add_argument("--loadEngine", metavar="FILE", help="serialized engine to load")
    src.add_argument("--saveEngine", metavar="FILE", help="where to write the built engine")
    build = p.add_argument_group("build")
    for flag, what in (("minShapes", "minimum"), ("optShapes", "optimal"), ("maxShapes", "maximum")):
        build.add_argument(f"--{flag}", metavar="SPEC", nargs="+", action="extend", default=[],
                           help=f"{what} shapes of the profile: name:1x784[,name2:...] or "
                                f"name:[1,784] [name2:[...]]")
    build.add_argument("--fp16", action="store_true", help="allow FP16 kernels")
    build.add_argument("--int8", action="store_true",
                       help="TensorRT's INT8 flag: taken with the builder's warning (mlprt has no INT8 kernels; "
                            "the engine stays FP32, or FP16 with --fp16)")
    build.add_argument("--best", action="store_true", help="every precision mlprt has: --fp16 (and --int8's warning)")
    build.add_argument("--noTF32", action="store_true", help="no TF32 tensor-core products (mlprt's default)")
    build.add_argument("--explicitBatch", action="store_true",
                       help="TensorRT 7/8's flag: taken; every mlprt network has an explicit batch")
    build.add_argument("--workspace", metavar="MIB", type=float,
                       help="TensorRT 7/8's workspace size in MiB (--memPoolSize=workspace:SIZE since TensorRT 8.4)")
    build.add_argument("--memPoolSize", metavar="POOLS",
                       help="pool limits, e.g. workspace:1024MiB (units B, KiB, MiB, GiB; bare = MiB)")
    build.add_argument("--timingCacheFile", metavar="FILE",
                       help="timing cache read before and written after the build")
    build.add_argument("--builderOptimizationLevel", metavar="N", type=int,
                       help="0-5 (3 by default): below 3 tactics are timed at the opt shapes only, "
                            "one per layer, for a faster build")
    build.add_argument("--noBuilderCache", action="store_true",
                       help="no timing cache: every layer is timed, none takes another's timing")
    build.add_argument("--profilingVerbosity", choices=sorted(_VERBOSITIES),
                       help="what the engine keeps for the inspector (detailed, mlprt's default; none is refused)")
    build.add_argument("--maxAuxStreams", metavar="N", type=int,
                       help="auxiliary streams the engine may use (mlprt's run every layer on one stream)")
    infer = p.add_argument_group("inference")
    infer.add_argument("--shapes", metavar="SPEC", nargs="+", action="extend", default=[],
                       help="inference shapes: name:4x784[,...] or name:[4,784] [...]")
    infer.add_argument("--iterations", type=int, default=10, help="run at least N inferences (10)")
    infer.add_argument("--warmUp", type=float, default=200.0, help="warm-up time in ms (200)")
    infer.add_argument("--duration", type=float, default=3.0, help="run at least S seconds (3)")
    infer.add_argument("--noDataTransfers", action="store_true", help="time compute only, no copies")
    infer.add_argument("--loadInputs", metavar="SPEC", nargs="+", action="extend", default=[],
                       help="input values from raw binary files: name:file[,name:file...] (random otherwise)")
    infer.add_argument("--dumpOutput", action="store_true", help="print the outputs of one inference")
    infer.add_argument("--exportOutput", metavar="FILE", help="write the outputs of one inference as JSON")
    infer.add_argument("--skipInference", action="store_true", help="build (and save) only")
    infer.add_argument("--exportTimes", metavar="FILE", help="write per-inference times as JSON")
    infer.add_argument("--dumpProfile", action="store_true",
                       help="after timing, profile --iterations inferences and print each layer's device time")
    infer.add_argument("--exportProfile", metavar="FILE", help="write that per-layer profile as JSON")
    infer.add_argument("--dumpLayerInfo", action="store_true",
                       help="print every layer of the engine (the engine inspector's lines)")
    infer.add_argument("--exportLayerInfo", metavar="FILE", help="write the engine inspector's JSON")
    infer.add_argument("--separateProfileRun", action="store_true",
                       help="accepted for trtexec's command lines: the profile is always a run of its own")
    infer.add_argument("--avgRuns", metavar="N", type=int, default=1,
                       help="report statistics of means over N consecutive inferences (1: each inference; "
                            "trtexec's default is 10)")
    infer.add_argument("--useCudaGraph", action="store_true",
                       help="accepted for trtexec's command lines: after its first run a context replays each "
                            "step's captured kernel launches, as a CUDA graph would (MLPRT_LAUNCH_CAPTURE=0 turns "
                            "that off)")
    p.add_argument("--device", metavar="SELECTOR",
                   help="device: index, platform:device, or part of its name (see mlprt devices)")
    p.add_argument("--verbose", action="store_true", help="print the builder's and runtime's messages")
    p.set_defaults(handler=_handler)
