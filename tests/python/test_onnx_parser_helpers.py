"""Helpers of the parser tests (no tests here): build one-graph ONNX models, parse them, compare the
NumPy evaluation with ONNX Runtime."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import mlprt
from mlprt.onnx_parser import OnnxParser
from network_reference import evaluate

Input = Tuple[str, int, Sequence[Optional[object]]]


def make_model(nodes: List[onnx.NodeProto], inputs: Sequence[Input], outputs: Sequence[str],
               initializers: Optional[Dict[str, np.ndarray]] = None, opset: int = 17,
               output_type: int = TensorProto.FLOAT) -> onnx.ModelProto:
    """A model of ``nodes``; inputs are (name, elem type, shape with ints, names or None)."""
    graph = helper.make_graph(
        nodes, "test",
        [helper.make_tensor_value_info(name, t, list(shape)) for name, t, shape in inputs],
        [helper.make_tensor_value_info(name, output_type, None) for name in outputs],
        [numpy_helper.from_array(v, k) for k, v in (initializers or {}).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = min(model.ir_version, 10)
    return model


class RecordingLogger(mlprt.ILogger):
    """Keeps every message."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: List[Tuple[object, str]] = []

    def log(self, severity: object, msg: str) -> None:
        self.messages.append((severity, msg))


def parse(model: onnx.ModelProto) -> Tuple[object, OnnxParser]:
    """Parses ``model`` into a new network; fails the test with every error when parsing fails."""
    network = mlprt.INetworkDefinition()
    parser = OnnxParser(network, RecordingLogger())
    ok = parser.parse(model.SerializeToString())
    assert ok, "\n".join(str(parser.get_error(i)) for i in range(parser.num_errors))
    return network, parser


def parse_errors(model: object) -> List[object]:
    """Parses ``model`` (a ModelProto or bytes), expects failure, returns the errors."""
    network = mlprt.INetworkDefinition()
    parser = OnnxParser(network, RecordingLogger())
    data = model.SerializeToString() if isinstance(model, onnx.ModelProto) else model
    assert not parser.parse(data)
    assert parser.num_errors > 0
    return [parser.get_error(i) for i in range(parser.num_errors)]


def relative_error(got: np.ndarray, ref: np.ndarray) -> float:
    """max |got - ref| / max |ref|."""
    assert got.shape == ref.shape, f"shape {got.shape} != reference {ref.shape}"
    scale = max(float(np.max(np.abs(ref))) if ref.size else 0.0, 1e-30)
    return float(np.max(np.abs(got.astype(np.float64) - ref.astype(np.float64)))) / scale if ref.size else 0.0


def onnxruntime_outputs(model: object, feeds: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    data = model.SerializeToString() if isinstance(model, onnx.ModelProto) else model
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds)))


def check_against_onnxruntime(model: onnx.ModelProto, feeds: Dict[str, np.ndarray],
                              tolerance: float = 1e-5) -> object:
    """Parses ``model``, evaluates the network with NumPy, compares every output with ONNX
    Runtime; returns the network."""
    network, _ = parse(model)
    got = evaluate(network, feeds)
    ref = onnxruntime_outputs(model, feeds)
    assert set(got) == set(ref)
    for name in ref:
        err = relative_error(got[name], ref[name])
        assert err <= tolerance, f"output {name}: relative error {err:.3g}"
    return network


def layers(network: object) -> List[object]:
    return [network.get_layer(i) for i in range(network.num_layers)]


F = TensorProto.FLOAT
