"""Mish (opset 18; what torch 2.13's dynamo exporter writes for nn.Mish): x * tanh(softplus(x)),
built and run on the device, FP32 and FP16, against ONNX Runtime and PyTorch."""
from __future__ import annotations

from pathlib import Path
from typing import Dict

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

import mlprt
from engine_helpers import infer, load, relative_error
from mlprt.engine_tools import build_engine
from mlprt.onnx_parser import ErrorCode
from test_onnx_parser_helpers import RecordingLogger, layers, make_model, onnxruntime_outputs, parse, parse_errors

N = helper.make_node
SHAPE = (3, 5, 67)  # awkward: no extent a multiple of 4


def _wide(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Random non-zero values over the whole interesting range of Mish (negative tail, the
    minimum near -1.19, the linear tail past 20)."""
    x = rng.standard_normal(shape) * 6.0
    x[..., 0] = 25.0 + rng.random(shape[:-1])
    x[..., 1] = -25.0 - rng.random(shape[:-1])
    return x.astype(np.float32)


def _run(model_or_path: object, feeds: Dict[str, np.ndarray], fp16: bool = False) -> Dict[str, np.ndarray]:
    data = model_or_path.SerializeToString() if isinstance(model_or_path, onnx.ModelProto) else model_or_path
    engine = load(build_engine(data, fp16=fp16, logger=RecordingLogger()))
    return infer(engine.create_execution_context(), feeds)


@pytest.mark.parametrize("elem,tolerance", [(TensorProto.FLOAT, 1e-5), (TensorProto.FLOAT16, 1e-2)],
                         ids=["fp32", "fp16"])
def test_mish_node(rng: np.random.Generator, elem: int, tolerance: float) -> None:
    model = make_model([N("Mish", ["x"], ["y"], name="mish")], [("x", elem, SHAPE)], ["y"], opset=18,
                       output_type=elem)
    network, _ = parse(model)
    kinds = [layer.type for layer in layers(network)]
    # (an activation layer's .type is its ActivationType)
    assert kinds == [mlprt.ActivationType.SOFTPLUS, mlprt.ActivationType.TANH, mlprt.LayerType.ELEMENTWISE], kinds
    x = _wide(rng, *SHAPE).astype(helper.tensor_dtype_to_np_dtype(elem))
    got = _run(model, {"x": x})["y"]
    ref = onnxruntime_outputs(model, {"x": x})["y"]
    assert got.dtype == ref.dtype
    assert relative_error(got, ref.astype(np.float64)) <= tolerance
    # PyTorch's Mish (in float32) agrees too.
    torch_ref = torch.nn.functional.mish(torch.from_numpy(x.astype(np.float32))).numpy()
    assert relative_error(got, torch_ref.astype(np.float64)) <= tolerance


def test_mish_before_opset_18_is_refused() -> None:
    model = make_model([N("Mish", ["x"], ["y"], name="m")], [("x", TensorProto.FLOAT, (2, 3))], ["y"], opset=17)
    (error,) = parse_errors(model)
    assert error.code() == ErrorCode.UNSUPPORTED_NODE and error.node_name() == "m"
    assert "18" in error.desc() and "17" in error.desc(), error.desc()


def test_mish_of_integers_is_refused() -> None:
    model = make_model([N("Mish", ["i"], ["y"], name="m")], [("i", TensorProto.INT32, (2, 3))], ["y"], opset=18)
    (error,) = parse_errors(model)
    assert error.node_name() == "m" and error.code() == ErrorCode.UNSUPPORTED_NODE_DATATYPE, str(error)
    assert "FLOAT" in error.desc() and "INT32" in error.desc(), error.desc()


class _MishMLP(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(37, 53)
        self.act = torch.nn.Mish()
        self.fc2 = torch.nn.Linear(53, 11)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


@pytest.mark.parametrize("exporter", ["dynamo", "torchscript"])
def test_mish_mlp_exports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rng: np.random.Generator,
                          exporter: str) -> None:
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(11)
    model = _MishMLP().eval()
    x = (rng.standard_normal((7, 37)) * 3.0).astype(np.float32)
    kwargs = {} if exporter == "dynamo" else {"dynamo": False, "opset_version": 17}
    torch.onnx.export(model, torch.from_numpy(x), "mish.onnx", input_names=["input"], output_names=["output"],
                      **kwargs)
    ops = [n.op_type for n in onnx.load("mish.onnx").graph.node]
    # The dynamo exporter writes Mish itself; the TorchScript one writes Softplus, Tanh, Mul.
    assert ("Mish" in ops) == (exporter == "dynamo"), ops
    with torch.no_grad():
        torch_ref = model(torch.from_numpy(x)).numpy()
    ort_ref = onnxruntime_outputs(str(tmp_path / "mish.onnx"), {"input": x})["output"]
    got = _run(str(tmp_path / "mish.onnx"), {"input": x})["output"]
    assert relative_error(got, ort_ref) <= 1e-5
    assert relative_error(got, torch_ref) <= 1e-5
    got16 = _run(str(tmp_path / "mish.onnx"), {"input": x}, fp16=True)["output"]
    assert relative_error(got16, ort_ref) <= 1e-2
