"""The TensorRT tutorial workflow on the SimpleMLP (784-32-10), with mlprt.

PyTorch model -> ONNX (static and dynamic batch) -> OnnxParser -> Builder (FP32 and FP16, an
optimization profile for the dynamic engine, a timing cache) -> engine file -> Runtime ->
execution context -> pinned host buffers -> async copies and execute_async_v3 on a stream.
Each engine's outputs are compared with PyTorch and ONNX Runtime.

Run with `bash scripts/demo.sh` (installs everything first) or
`python examples/simple_mlp_tutorial.py [--workdir DIR] [--batch N]`.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
import warnings
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np
import onnxruntime
import torch
from torch import nn

import mlprt
import mlprt.driver as cuda


class SimpleMLP(nn.Module):
    """The tutorial's model: Linear(784, 32), ReLU, Linear(32, 10)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, 32)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.relu(self.fc1(x)))


def export(model: nn.Module, path: Path, dynamic: bool) -> None:
    """torch.onnx.export as the tutorials call it: input 'input', output 'output'."""
    axes = {"input": {0: "batch"}, "output": {0: "batch"}} if dynamic else None
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, 784),), str(path), dynamo=False,
                          input_names=["input"], output_names=["output"], dynamic_axes=axes)


def build_engine(onnx_path: Path, engine_path: Path, fp16: bool,
                 profile_shapes: Optional[Tuple[Tuple[int, int], ...]]) -> float:
    """Parses, builds and writes the engine file; returns the build time in seconds."""
    logger = mlprt.Logger(mlprt.Logger.WARNING)
    builder = mlprt.Builder(logger)
    network = builder.create_network(1 << int(mlprt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = mlprt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        raise SystemExit("\n".join(str(parser.get_error(i)) for i in range(parser.num_errors)))
    config = builder.create_builder_config()
    config.set_memory_pool_limit(mlprt.MemoryPoolType.WORKSPACE, 1 << 30)
    if fp16:
        config.set_flag(mlprt.BuilderFlag.FP16)
    if profile_shapes is not None:
        profile = builder.create_optimization_profile()
        profile.set_shape("input", *profile_shapes)
        config.add_optimization_profile(profile)
    config.set_timing_cache(config.create_timing_cache(b""), ignore_mismatch=False)
    start = time.perf_counter()
    plan = builder.build_serialized_network(network, config)
    seconds = time.perf_counter() - start
    if plan is None:
        raise SystemExit(f"building {onnx_path.name} failed (see the messages above)")
    engine_path.write_bytes(plan)
    return seconds


class EngineRunner:
    """Loads an engine file and runs it with pinned host buffers, as the tutorials do."""

    def __init__(self, engine_path: Path) -> None:
        runtime = mlprt.Runtime(mlprt.Logger(mlprt.Logger.WARNING))
        self.engine = runtime.deserialize_cuda_engine(engine_path.read_bytes())
        self.context = self.engine.create_execution_context()
        self.stream = cuda.Stream()

    def allocate(self, batch: int) -> None:
        self.context.set_input_shape("input", (batch, 784))
        self.host: Dict[str, np.ndarray] = {}
        self.device: Dict[str, cuda.DeviceAllocation] = {}
        for name in self.engine:
            shape = tuple(self.context.get_tensor_shape(name))
            self.host[name] = cuda.pagelocked_empty(shape, mlprt.nptype(self.engine.get_tensor_dtype(name)))
            self.device[name] = cuda.mem_alloc(self.host[name].nbytes)
            self.context.set_tensor_address(name, int(self.device[name]))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.host["input"][...] = x
        cuda.memcpy_htod_async(self.device["input"], self.host["input"], self.stream)
        self.context.execute_async_v3(self.stream.handle)
        cuda.memcpy_dtoh_async(self.host["output"], self.device["output"], self.stream)
        self.stream.synchronize()
        return self.host["output"]


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None, help="where ONNX and engine files go")
    parser.add_argument("--batch", type=int, default=40, help="inference batch (1..64)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="mlprt-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)

    device = mlprt.current_device()
    print(f"device: {device.name} ({device.platform})")
    torch.manual_seed(0)
    model = SimpleMLP().eval()
    export(model, workdir / "simple_mlp_static.onnx", dynamic=False)
    export(model, workdir / "simple_mlp_dynamic.onnx", dynamic=True)

    x = np.random.default_rng(1).standard_normal((args.batch, 784)).astype(np.float32)
    with torch.no_grad():
        expected_torch = model(torch.from_numpy(x)).numpy()
    session = onnxruntime.InferenceSession(str(workdir / "simple_mlp_dynamic.onnx"),
                                           providers=["CPUExecutionProvider"])
    expected_ort = session.run(["output"], {"input": x})[0]

    print(f"{'engine':<36} {'build s':>8} {'latency us':>11} {'vs PyTorch':>11} {'vs ORT':>9}  ok")
    failures = 0
    for dynamic in (False, True):
        for fp16 in (False, True):
            kind = "dynamic" if dynamic else "static"
            name = f"simple_mlp_{kind}{'_fp16' if fp16 else ''}"
            if dynamic:
                seconds = build_engine(workdir / "simple_mlp_dynamic.onnx", workdir / f"{name}.engine", fp16,
                                       ((1, 784), (32, 784), (64, 784)))
                batch_input = x
                torch_ref, ort_ref = expected_torch, expected_ort
            else:
                seconds = build_engine(workdir / "simple_mlp_static.onnx", workdir / f"{name}.engine", fp16, None)
                batch_input = x[:1]
                torch_ref, ort_ref = expected_torch[:1], expected_ort[:1]
            runner = EngineRunner(workdir / f"{name}.engine")
            runner.allocate(batch_input.shape[0])
            out = runner(batch_input)
            times = []
            for _ in range(200):
                start = time.perf_counter()
                runner(batch_input)
                times.append(time.perf_counter() - start)
            tolerance = 1e-2 if fp16 else 1e-5
            errors = (relative_error(out, torch_ref), relative_error(out, ort_ref))
            ok = max(errors) <= tolerance
            failures += 0 if ok else 1
            print(f"{name + f' (batch {batch_input.shape[0]})':<36} {seconds:8.2f} "
                  f"{np.median(times) * 1e6:11.1f} {errors[0]:11.2e} {errors[1]:9.2e}  {'yes' if ok else 'NO'}")
    print(f"files in {workdir}")
    if failures:
        raise SystemExit(f"{failures} engine(s) outside the tolerance (FP32 1e-5, FP16 1e-2)")


if __name__ == "__main__":
    main()
