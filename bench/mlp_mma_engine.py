"""Issue 5's FP16 target on one model: what the builder picks for 8 x Linear(256, 256) with
ReLU between, batch 4096, FP16, and the engine's device-only time (execute_async_v3 between two
mlprt.driver events) against PyTorch FP16 (CUDA graph replay of the forward) in the same run.

    python3 bench/mlp_mma_engine.py [--reps 200] [--json out.json]

Prints the builder's fused-MLP decision (its VERBOSE timing line), the engine's steps and
tactics, and median microseconds of both; the outputs are compared (relative error).
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List

import numpy as np
import torch

import mlprt
import mlprt.driver as cuda

BATCH, WIDTH, LAYERS = 4096, 256, 8


class _Logger(mlprt.ILogger):
    """Keeps every message; the builder's tactic decisions are VERBOSE."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: List[str] = []

    def log(self, severity: "mlprt._core.Severity", msg: str) -> None:
        """Stores the message."""
        self.messages.append(msg)


def model() -> torch.nn.Sequential:
    """8 Linear(256, 256) layers, ReLU between them, fixed seed."""
    torch.manual_seed(0)
    layers: List[torch.nn.Module] = []
    for i in range(LAYERS):
        layers.append(torch.nn.Linear(WIDTH, WIDTH))
        if i + 1 < LAYERS:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers).eval()


def build(onnx_path: Path, logger: _Logger) -> bytes:
    """An FP16 engine with one static profile (batch 4096)."""
    builder = mlprt.Builder(logger)
    network = builder.create_network(1 << int(mlprt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = mlprt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        raise RuntimeError("; ".join(str(parser.get_error(i)) for i in range(parser.num_errors)))
    config = builder.create_builder_config()
    config.set_flag(mlprt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    profile.set_shape("input", (BATCH, WIDTH), (BATCH, WIDTH), (BATCH, WIDTH))
    config.add_optimization_profile(profile)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise RuntimeError("build failed: " + "; ".join(logger.messages[-5:]))
    return bytes(plan)


def median_us(run: Callable[[], float], reps: int) -> float:
    """Median of `reps` calls of `run` (each returns milliseconds), in microseconds."""
    for _ in range(10):
        run()
    return statistics.median(run() for _ in range(reps)) * 1e3


def main() -> None:
    """Builds, times and prints; optionally writes the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    net = model()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, WIDTH)).astype(np.float32)
    with tempfile.TemporaryDirectory() as workdir:
        onnx_path = Path(workdir) / "mlp_deep.onnx"
        torch.onnx.export(net, (torch.randn(1, WIDTH),), str(onnx_path), dynamo=False,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
        logger = _Logger()
        plan = build(onnx_path, logger)
    for message in logger.messages:
        if "(timed" in message and ("fused" in message or "unfused" in message):
            print("builder:", message)
    runtime = mlprt.Runtime(logger)
    engine = runtime.deserialize_cuda_engine(plan)
    inspector = engine.create_engine_inspector()
    info = json.loads(inspector.get_engine_information(mlprt.LayerInformationFormat.JSON))
    steps = [(layer.get("Name"), layer.get("LayerType"), layer.get("TacticName")) for layer in info["Layers"]]
    for step in steps:
        print("step:", step)

    context = engine.create_execution_context()
    context.set_input_shape("input", (BATCH, WIDTH))
    stream = cuda.Stream()
    d_in = cuda.mem_alloc(x.nbytes)
    out = np.empty((BATCH, WIDTH), np.float32)
    d_out = cuda.mem_alloc(out.nbytes)
    cuda.memcpy_htod(d_in, x)
    context.set_tensor_address("input", int(d_in))
    context.set_tensor_address("output", int(d_out))
    start, end = cuda.Event(), cuda.Event()

    def mlprt_ms() -> float:
        start.record(stream)
        context.execute_async_v3(stream.handle)
        end.record(stream)
        end.synchronize()
        return end.time_since(start)

    mlprt_us = median_us(mlprt_ms, args.reps)
    cuda.memcpy_dtoh(out, d_out)

    half = net.half().cuda()
    x_gpu = torch.from_numpy(x).cuda().half()
    with torch.inference_mode():
        for _ in range(3):
            half(x_gpu)
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            y_gpu = half(x_gpu)
    t0, t1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    def torch_ms() -> float:
        t0.record()
        graph.replay()
        t1.record()
        t1.synchronize()
        return t0.elapsed_time(t1)

    torch_us = median_us(torch_ms, args.reps)
    reference = y_gpu.float().cpu().numpy()
    error = float(np.max(np.abs(out - reference)) / max(float(np.max(np.abs(reference))), 1e-30))
    figures: Dict[str, Any] = {"mlprt_device_us": mlprt_us, "torch_fp16_graph_replay_us": torch_us,
                               "speedup_vs_torch": torch_us / mlprt_us, "relative_error": error,
                               "steps": steps, "device": torch.cuda.get_device_name()}
    print(f"mlprt device-only {mlprt_us:.1f} us, PyTorch FP16 graph replay {torch_us:.1f} us, "
          f"ratio {torch_us / mlprt_us:.2f}x, relative error vs PyTorch {error:.2e}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
