"""TopK (TensorRT's add_topk / ITopKLayer; ONNX's TopK): values and INT32 indices of the k largest
or smallest elements along one axis, against a NumPy reference (ties: the lower index first; NaN
above every number) and ONNX Runtime; FLOAT, HALF, INT32 and INT64 data; errors that name the
layer or node."""
from __future__ import annotations

from typing import Tuple

import numpy as np
import onnxruntime
import pytest
from onnx import TensorProto, helper

import mlprt
from engine_helpers import RecordingLogger, build, infer, load
from network_reference import top_k
from mlprt.engine_tools import build_engine


def _engine(shape: Tuple[int, ...], data_type: mlprt.DataType, op: mlprt.TopKOperation, k: int, axis: int,
            profile: Tuple[Tuple[int, ...], ...] = ()) -> mlprt.IExecutionContext:
    def populate(network: mlprt.INetworkDefinition) -> None:
        x = network.add_input("x", data_type, shape)
        layer = network.add_topk(x, op, k, 1 << axis)
        assert layer.type == mlprt.LayerType.TOPK and (layer.op, layer.k, layer.axes) == (op, k, 1 << axis)
        layer.get_output(0).name = "values"
        layer.get_output(1).name = "indices"
        network.mark_output(layer.get_output(0))
        network.mark_output(layer.get_output(1))
    profiles = [{"x": profile}] if profile else []
    plan = build(populate, profiles=profiles)
    assert plan is not None
    return load(plan).create_execution_context()


def _data(shape: Tuple[int, ...], data_type: mlprt.DataType, rng: np.random.Generator) -> np.ndarray:
    # Few distinct values, so that lines hold ties.
    return rng.integers(-6, 7, shape).astype(mlprt.nptype(data_type)) * (1 if data_type in (
        mlprt.DataType.INT32, mlprt.DataType.INT64) else 0.75)


CASES = [  # shape, axis, k
    ((1,), 0, 1),
    ((7,), 0, 7),
    ((3, 13), 1, 5),
    ((13, 3), 0, 2),
    ((2, 5, 3), 1, 4),
    ((2, 1, 11, 3), 2, 1),
]


@pytest.mark.parametrize("data_type", [mlprt.DataType.FLOAT, mlprt.DataType.HALF, mlprt.DataType.INT32,
                                       mlprt.DataType.INT64])
@pytest.mark.parametrize("op", [mlprt.TopKOperation.MAX, mlprt.TopKOperation.MIN])
def test_topk_matches_the_reference_with_ties(data_type, op) -> None:
    rng = np.random.default_rng(int(data_type) * 3 + int(op))
    for shape, axis, k in CASES:
        x = _data(shape, data_type, rng)
        got = infer(_engine(shape, data_type, op, k, axis), {"x": x})
        values, indices = top_k(x, op == mlprt.TopKOperation.MAX, k, axis)
        assert got["indices"].dtype == np.int32
        np.testing.assert_array_equal(got["indices"], indices, err_msg=f"{shape} axis {axis} k {k}")
        np.testing.assert_array_equal(got["values"], values, err_msg=f"{shape} axis {axis} k {k}")


def test_nan_ranks_above_every_number() -> None:
    x = np.array([[1.0, np.nan, np.inf, -np.inf, np.nan, 2.0]], np.float32)
    largest = infer(_engine(x.shape, mlprt.DataType.FLOAT, mlprt.TopKOperation.MAX, 4, 1), {"x": x})
    np.testing.assert_array_equal(largest["indices"], [[1, 4, 2, 5]])
    smallest = infer(_engine(x.shape, mlprt.DataType.FLOAT, mlprt.TopKOperation.MIN, 6, 1), {"x": x})
    np.testing.assert_array_equal(smallest["indices"], [[3, 0, 5, 2, 1, 4]])


def test_dynamic_batch_from_one_engine() -> None:
    context = _engine((-1, 17), mlprt.DataType.FLOAT, mlprt.TopKOperation.MAX, 3, 1,
                      profile=((1, 17), (4, 17), (9, 17)))
    rng = np.random.default_rng(5)
    for batch in (1, 9, 4):
        x = rng.standard_normal((batch, 17)).astype(np.float32)
        got = infer(context, {"x": x})
        values, indices = top_k(x, True, 3, 1)
        np.testing.assert_array_equal(got["indices"], indices)
        np.testing.assert_array_equal(got["values"], values)


def test_bad_layers_name_the_layer_and_the_reason() -> None:
    network = mlprt.Builder(RecordingLogger()).create_network(0)
    x = network.add_input("x", mlprt.DataType.FLOAT, (3, 4))
    with pytest.raises(ValueError, match=r"TopK.*k 5 exceeds the extent 4 of axis 1"):
        network.add_topk(x, mlprt.TopKOperation.MAX, 5, 0b10)
    with pytest.raises(ValueError, match="exactly one axis"):
        network.add_topk(x, mlprt.TopKOperation.MAX, 1, 0b11)
    with pytest.raises(ValueError, match="k 0 must be at least 1"):
        network.add_topk(x, mlprt.TopKOperation.MIN, 0, 0b1)
    flags = network.add_input("flags", mlprt.DataType.BOOL, (3,))
    with pytest.raises(ValueError, match="FLOAT, HALF, INT32 or INT64 input, got BOOL"):
        network.add_topk(flags, mlprt.TopKOperation.MAX, 1, 0b1)
    layer = network.add_topk(x, mlprt.TopKOperation.MAX, 2, 0b10)
    with pytest.raises(ValueError, match="k 9 exceeds"):
        layer.k = 9
    assert layer.k == 2  # unchanged by the refused assignment


def _model(opset: int, shape, axis: int, k: int, largest: int = 1, k_as_input: bool = True, dtype=TensorProto.FLOAT):
    inputs = ["x", "k"] if k_as_input else ["x"]
    attributes = {"axis": axis}
    if opset >= 11:
        attributes["largest"] = largest
    if not k_as_input:
        attributes["k"] = k
    node = helper.make_node("TopK", inputs, ["values", "indices"], name="top", **attributes)
    initializers = [helper.make_tensor("k", TensorProto.INT64, [1], [k])] if k_as_input else []
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", dtype, shape)],
                              [helper.make_tensor_value_info("values", dtype, None),
                               helper.make_tensor_value_info("indices", TensorProto.INT64, None)], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10 if opset > 9 else 4)


@pytest.mark.parametrize("opset, axis, largest", [(1, 1, 1), (10, -1, 1), (11, 0, 0), (17, -2, 1), (17, 1, 0)])
def test_parsed_topk_matches_onnxruntime(opset, axis, largest, tmp_path) -> None:
    shape, k = [6, 9], 4
    model = _model(opset, shape, axis, k, largest, k_as_input=opset >= 10)
    x = np.random.default_rng(opset + axis).standard_normal(shape).astype(np.float32)
    expected = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"x": x})
    path = tmp_path / "topk.onnx"
    path.write_bytes(model.SerializeToString())
    got = infer(load(build_engine(str(path), logger=RecordingLogger())).create_execution_context(), {"x": x})
    assert got["indices"].dtype == np.int64
    np.testing.assert_array_equal(got["indices"], expected[1])
    np.testing.assert_array_equal(got["values"], expected[0])


def test_parser_refuses_k_beyond_the_axis_naming_the_node() -> None:
    from mlprt.onnx_parser import OnnxParser
    parser = OnnxParser(mlprt.Builder(RecordingLogger()).create_network(0), RecordingLogger())
    assert not parser.parse(_model(17, [3, 4], 1, 5).SerializeToString())
    error = parser.get_error(0)
    assert error.node_name() == "top" and "K = 5 is outside 0..4" in error.desc()
