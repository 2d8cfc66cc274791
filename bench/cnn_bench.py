"""Convolutional networks of the tutorials (tests/python/vision_zoo.py) on mlprt, PyTorch and
ONNX Runtime, numpy in and numpy out, in one run (issue 14's speed table).

For each model, batch and precision: the ONNX export (TorchScript exporter, opset 17) is built by
mlprt into a static engine and run as the TensorRT tutorials do (pinned host buffers,
memcpy_htod_async, execute_async_v3, memcpy_dtoh_async, synchronize); PyTorch runs eagerly and
as a CUDA graph replayed with pinned staging (FP16: the module in half; without CUDA its columns
stay empty); ONNX Runtime on the CPU.
Medians of --iterations timed calls after warm-up. Also the engine's cold build time, and the
device time alone of both (JSON `mlprt_device`, `torch_graph_replay`: back-to-back runs between two
events, no copies), so that a row's wall time can be split into device work and host copies.

    python3 bench/cnn_bench.py --models super_resolution:224x224 --batches 1,8 --precisions fp32,fp16

Models whose definitions need packages the GPU machine lacks (torchvision, ultralytics) are
exported where they are installed and timed from the files: `--export-to DIR` writes each
model's ONNX file and TorchScript trace (NAME_HxW_bB.onnx / .pt) and stops; `--from DIR` reads
them instead of building the models.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import onnxruntime

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "python"))

import mlprt  # noqa: E402
import mlprt.autoinit  # noqa: E402,F401
import mlprt.driver as cuda  # noqa: E402
from mlprt.engine_tools import build_engine  # noqa: E402
from vision_zoo import MODELS  # noqa: E402
from timing import compile_summary, cuda_torch, median_seconds, speed_table  # noqa: E402
from build_log import StepTimes, tactic_tally  # noqa: E402
from layer_profile import layer_profile  # noqa: E402


def bound_context(plan: bytes, x: np.ndarray, profiler: Optional[mlprt.IProfiler] = None) -> Tuple[object, ...]:
    """An execution context of `plan` with its input and output bound to device buffers, and the
    pinned host arrays and stream the tutorials use: (context, stream, host_in, host_out, dev_in, dev_out)."""
    engine = mlprt.Runtime(mlprt.Logger(mlprt.Logger.WARNING)).deserialize_cuda_engine(plan)
    context = engine.create_execution_context()
    context.profiler = profiler
    stream = cuda.Stream()
    host_in = cuda.pagelocked_empty(x.shape, np.float32)
    out_name = engine.get_tensor_name(1)
    host_out = cuda.pagelocked_empty(tuple(context.get_tensor_shape(out_name)), np.float32)
    dev_in, dev_out = cuda.mem_alloc(host_in.nbytes), cuda.mem_alloc(host_out.nbytes)
    context.set_tensor_address(engine.get_tensor_name(0), int(dev_in))
    context.set_tensor_address(out_name, int(dev_out))
    return context, stream, host_in, host_out, dev_in, dev_out


def events_ms(call: Callable[[], object], record_start: Callable[[], None], record_end: Callable[[], None],
              elapsed: Callable[[], float], sync: Callable[[], None], repeats: int = 10, samples: int = 5) -> float:
    """Device milliseconds per call of `call`: `repeats` back-to-back calls between two events
    (record_start and record_end record them, elapsed waits for the end one and reads the time
    between), the median of `samples`, after one call and `sync`."""
    call()
    sync()
    times = []
    for _ in range(samples):
        record_start()
        for _ in range(repeats):
            call()
        record_end()
        times.append(elapsed() / repeats)
    return statistics.median(times)


def mlprt_device_ms(plan: bytes, x: np.ndarray) -> float:
    """mlprt's device time per inference: back-to-back execute_async_v3 calls on one stream (the
    input copied once before)."""
    context, stream, host_in, _, dev_in, _ = bound_context(plan, x)
    np.copyto(host_in, x)
    cuda.memcpy_htod(dev_in, host_in)
    first, last = cuda.Event(), cuda.Event()

    def elapsed() -> float:
        last.synchronize()
        return last.time_since(first)
    return events_ms(lambda: context.execute_async_v3(stream.handle), lambda: first.record(stream),
                     lambda: last.record(stream), elapsed, stream.synchronize)


def mlprt_runner(plan: bytes, x: np.ndarray, profiler: Optional[mlprt.IProfiler] = None) -> Callable[[], np.ndarray]:
    context, stream, host_in, host_out, dev_in, dev_out = bound_context(plan, x, profiler)

    def run() -> np.ndarray:
        np.copyto(host_in, x)
        cuda.memcpy_htod_async(dev_in, host_in, stream)
        context.execute_async_v3(stream.handle)
        cuda.memcpy_dtoh_async(host_out, dev_out, stream)
        stream.synchronize()
        # The pinned array itself, as the tutorials' do_inference returns [out.host for out in
        # outputs] (and PyTorch's FP32 graph below its staging tensor's NumPy view): no copy.
        return host_out
    return run


def torch_runners(module: "torch.nn.Module", x: np.ndarray, fp16: bool) -> Dict[str, Callable[[], np.ndarray]]:
    import torch
    module = module.cuda()
    dtype = torch.float16 if fp16 else torch.float32
    module = module.to(dtype)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False

    def eager() -> np.ndarray:
        with torch.no_grad():
            out = module(torch.from_numpy(x).cuda().to(dtype))
        return (out[0] if isinstance(out, tuple) else out).float().cpu().numpy()

    stage_in = torch.zeros(x.shape, dtype=dtype, pin_memory=True)
    static_in = torch.zeros(x.shape, dtype=dtype, device="cuda")
    with torch.no_grad():
        for _ in range(3):
            module(static_in)
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_out = module(static_in)
    static_out = static_out[0] if isinstance(static_out, tuple) else static_out
    stage_out = torch.zeros(static_out.shape, dtype=dtype, pin_memory=True)

    def replay() -> np.ndarray:
        stage_in.copy_(torch.from_numpy(x))
        static_in.copy_(stage_in, non_blocking=True)
        graph.replay()
        stage_out.copy_(static_out, non_blocking=True)
        torch.cuda.synchronize()
        return stage_out.float().numpy()
    return {"torch_eager": eager, "torch_graph": replay, "replay_only": graph.replay}


def torch_replay_ms(replay: Callable[[], None]) -> float:
    """The CUDA graph's replay alone per inference (no staging), between two CUDA events."""
    import torch
    first, last = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    def elapsed() -> float:
        last.synchronize()
        return first.elapsed_time(last)
    return events_ms(replay, first.record, last.record, elapsed, torch.cuda.synchronize)


def onnx_input_channels(data: bytes) -> int:
    """Axis 1 of the first input of an ONNX model."""
    import onnx
    return onnx.load_from_string(data).graph.input[0].type.tensor_type.shape.dim[1].dim_value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="super_resolution:224x224", help="name:HxW,... (vision_zoo names)")
    parser.add_argument("--batches", default="1")
    parser.add_argument("--precisions", default="fp32")
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--export-to", type=Path, help="write the ONNX files and TorchScript traces here, then stop")
    parser.add_argument("--from", dest="source", type=Path, help="time the files --export-to wrote")
    parser.add_argument("--profile", action="store_true",
                        help="also print each layer's device time in the engine's run (IProfiler), by kind and tactic")
    parser.add_argument("--step-times", action="store_true",
                        help="also print the builder's timing of each step's chosen tactic (empty timing cache)")
    args = parser.parse_args()
    rows: List[Dict[str, object]] = []
    workdir = Path(tempfile.mkdtemp())
    if args.export_to:
        args.export_to.mkdir(parents=True, exist_ok=True)
    for spec in args.models.split(","):
        name, size = spec.split(":")
        h, w = (int(v) for v in size.split("x"))
        for batch in (int(b) for b in args.batches.split(",")):
            stem = f"{name}_{h}x{w}_b{batch}"
            if args.source:
                path = args.source / f"{stem}.onnx"
                data = path.read_bytes()
                channels = int(onnx_input_channels(data))
                load_module = lambda: __import__("torch").jit.load(str(args.source / f"{stem}.pt"), map_location="cuda")  # noqa: E731
            else:
                model = MODELS[name]
                channels = model.input_shape[1]
                sized = dataclasses.replace(model, input_shape=(batch, channels, h, w))
                data = sized.export(opset=17, batch=batch)
                path = (args.export_to or workdir) / f"{stem}.onnx"
                path.write_bytes(data)
                load_module = model.module
                if args.export_to:
                    import torch
                    example = torch.zeros((batch, channels, h, w))
                    module = model.module()
                    with torch.no_grad():
                        module(example)  # a detector caches its anchor grid: constants in the trace, not CPU ops
                        torch.jit.trace(module, example, check_trace=False).save(str(args.export_to / f"{stem}.pt"))
                    print(f"wrote {path} and {stem}.pt")
                    continue
            x = np.random.default_rng(batch).standard_normal((batch, channels, h, w)).astype(np.float32)
            for precision in args.precisions.split(","):
                fp16 = precision == "fp16"
                start = time.perf_counter()
                build_log = StepTimes()
                plan = build_engine(str(path), fp16=fp16, logger=build_log)
                build_s = time.perf_counter() - start
                runners = {"mlprt": mlprt_runner(bytes(plan), x)}
                replay_only = None
                if cuda_torch():  # without CUDA the PyTorch columns stay empty
                    runners.update(torch_runners(load_module(), x, fp16))
                    replay_only = runners.pop("replay_only")
                times: Dict[str, Optional[float]] = {k: median_seconds(run, args.iterations) * 1e3
                                                     for k, run in runners.items()}
                times.setdefault("torch_eager", None)
                times.setdefault("torch_graph", None)
                times["mlprt_device"] = mlprt_device_ms(bytes(plan), x)
                times["torch_graph_replay"] = torch_replay_ms(replay_only) if replay_only else None
                session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
                times["onnxruntime_cpu"] = median_seconds(lambda: session.run(None, {"x": x}),
                                                          max(5, args.iterations // 10)) * 1e3
                reference = session.run(None, {"x": x})[0]
                error = float(np.abs(runners["mlprt"]() - reference).max() / max(np.abs(reference).max(), 1e-30))
                graph = times["torch_graph"]
                row = {"model": f"{name} {h}x{w}", "batch": batch, "precision": precision, "build_s": round(build_s, 2),
                       "rel_error_vs_ort": error, **{k: None if v is None else round(v, 3) for k, v in times.items()},
                       "mlprt_over_graph": round(times["mlprt"] / graph, 2) if graph else None,
                       "tactics": tactic_tally(bytes(plan)), **compile_summary(build_log.compiles)}
                rows.append(row)
                print(json.dumps(row), flush=True)
                if args.step_times:
                    print(build_log.summary(), flush=True)
                if args.profile:
                    print(layer_profile(bytes(plan), lambda profiler: mlprt_runner(bytes(plan), x, profiler), times["mlprt"]),
                          flush=True)
    if args.export_to:
        return
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print("\n" + speed_table(rows))


if __name__ == "__main__":
    main()
