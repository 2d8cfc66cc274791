"""What every tutorial script here shares: the SimpleMLP, its ONNX export, the engine build
(TensorRT 10 builder API), the comparison with PyTorch and the ``--workdir`` argument.

Only the import lines say mlprt: ``import mlprt as trt`` stands where ``import tensorrt as trt``
stood.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import warnings
from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

import mlprt as trt

TRT_LOGGER = trt.Logger(trt.Logger.WARNING)
Shape = Tuple[int, ...]


class SimpleMLP(nn.Module):
    """The tutorials' model: Linear(784, 32), ReLU, Linear(32, 10)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, 32)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.relu(self.fc1(x)))


def make_model(seed: int = 0) -> SimpleMLP:
    """A SimpleMLP with seeded weights, in eval mode."""
    torch.manual_seed(seed)
    return SimpleMLP().eval()


def export_onnx(model: nn.Module, path: Path, batch: int, dynamic: bool) -> Path:
    """torch.onnx.export (TorchScript exporter): input 'input', output 'output'; with
    ``dynamic`` the batch axis is dynamic."""
    axes = {"input": {0: "batch"}, "output": {0: "batch"}} if dynamic else None
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(batch, 784),), str(path), dynamo=False,
                          input_names=["input"], output_names=["output"], dynamic_axes=axes)
    return path


def build_engine(onnx_path: Path, engine_path: Path,
                 profile: Optional[Sequence[Shape]] = None) -> Path:
    """ONNX file -> engine file with the TensorRT 10 builder API. ``profile`` is (min, opt,
    max) of the input for a dynamic model."""
    builder = trt.Builder(TRT_LOGGER)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = trt.OnnxParser(network, TRT_LOGGER)
    with open(onnx_path, "rb") as model_file:
        if not parser.parse(model_file.read()):
            for i in range(parser.num_errors):
                print(parser.get_error(i))
            raise SystemExit(f"could not parse {onnx_path}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 1 << 28)
    if profile is not None:
        optimization_profile = builder.create_optimization_profile()
        optimization_profile.set_shape("input", *profile)
        config.add_optimization_profile(optimization_profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise SystemExit(f"building {engine_path.name} failed")
    with open(engine_path, "wb") as engine_file:
        engine_file.write(serialized)
    return engine_path


def load_engine(engine_path: Path) -> "trt.ICudaEngine":
    """Deserializes an engine file."""
    runtime = trt.Runtime(TRT_LOGGER)
    with open(engine_path, "rb") as engine_file:
        engine = runtime.deserialize_cuda_engine(engine_file.read())
    if engine is None:
        raise SystemExit(f"could not load {engine_path}")
    return engine


def pytorch_reference(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def check(name: str, actual: np.ndarray, expected: np.ndarray, tolerance: float = 1e-5) -> bool:
    """Prints the relative error against PyTorch; True when within ``tolerance``."""
    error = float(np.abs(actual - expected).max() / max(np.abs(expected).max(), 1e-30))
    ok = actual.shape == expected.shape and error <= tolerance
    print(f"{name}: shape {tuple(actual.shape)}, max relative error vs PyTorch {error:.2e} "
          f"{'OK' if ok else 'MISMATCH'}")
    return ok


def parse_args(description: str) -> Path:
    """``--workdir DIR`` (default: a new temporary directory), created if needed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--workdir", type=Path, default=None, help="where ONNX and engine files go")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="mlprt-tutorial-"))
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir


def finish(all_ok: bool) -> None:
    """Exits non-zero when any result disagreed with PyTorch."""
    if not all_ok:
        raise SystemExit("FAILED: results differ from PyTorch")
    print("PASSED")
