"""The gather layer (TensorRT's add_gather / IGatherLayer; ONNX's Gather and GatherElements) with
indices computed at run time, against NumPy's take and take_along_axis: every axis, INT32 and
INT64 indices, negative ones, FLOAT, HALF, INT64 and BOOL data; and through the parser."""
from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
from onnx import TensorProto, helper

import mlprt
from engine_helpers import RecordingLogger, build, infer, load


def _engine(data_shape, data_type, indices_shape, indices_type, axis, mode):
    def populate(network: mlprt.INetworkDefinition) -> None:
        data = network.add_input("data", data_type, data_shape)
        indices = network.add_input("indices", indices_type, indices_shape)
        layer = network.add_gather(data, indices, axis)
        layer.mode = mode
        layer.get_output(0).name = "y"
        network.mark_output(layer.get_output(0))
    return load(build(populate)).create_execution_context()


def _data(shape, data_type, rng):
    values = rng.standard_normal(shape) * 10
    return values > 0 if data_type == mlprt.DataType.BOOL else values.astype(mlprt.nptype(data_type))


@pytest.mark.parametrize("data_type", [mlprt.DataType.FLOAT, mlprt.DataType.HALF, mlprt.DataType.INT64,
                                       mlprt.DataType.BOOL])
@pytest.mark.parametrize("indices_type", [mlprt.DataType.INT32, mlprt.DataType.INT64])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_gather_matches_numpy_take(data_type, indices_type, axis) -> None:
    rng = np.random.default_rng(axis * 7 + int(indices_type))
    shape = (5, 3, 7)
    context = _engine(shape, data_type, (2, 3), indices_type, axis, mlprt.GatherMode.DEFAULT)
    data = _data(shape, data_type, rng)
    for _ in range(2):  # new indices, same engine
        indices = rng.integers(-shape[axis], shape[axis], (2, 3)).astype(mlprt.nptype(indices_type))
        got = infer(context, {"data": data, "indices": indices})["y"]
        np.testing.assert_array_equal(got, np.take(data, indices, axis=axis))


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_gather_elements_matches_take_along_axis(axis) -> None:
    rng = np.random.default_rng(40 + axis)
    shape, index_shape = (4, 5, 6), [4, 5, 6]
    index_shape[axis] = 3
    context = _engine(shape, mlprt.DataType.FLOAT, tuple(index_shape), mlprt.DataType.INT64, axis,
                      mlprt.GatherMode.ELEMENT)
    data = rng.standard_normal(shape).astype(np.float32)
    indices = rng.integers(-shape[axis], shape[axis], index_shape).astype(np.int64)
    got = infer(context, {"data": data, "indices": indices})["y"]
    np.testing.assert_array_equal(got, np.take_along_axis(data, np.where(indices < 0, indices + shape[axis], indices),
                                                          axis=axis))


@pytest.mark.parametrize("op", ["Gather", "GatherElements"])
def test_parsed_gathers_match_onnxruntime(op, tmp_path) -> None:
    node = helper.make_node(op, ["data", "indices"], ["y"], axis=1)
    index_shape = [2, 2] if op == "Gather" else [3, 2]
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("data", TensorProto.FLOAT, [3, 4]),
                                            helper.make_tensor_value_info("indices", TensorProto.INT64, index_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    indices = np.array([[3, -1], [0, 2], [1, -4]][:index_shape[0]], np.int64)
    expected = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"data": data, "indices": indices})[0]
    from mlprt.engine_tools import build_engine
    path = tmp_path / "gather.onnx"
    path.write_bytes(model.SerializeToString())
    context = load(build_engine(str(path), logger=RecordingLogger())).create_execution_context()
    np.testing.assert_array_equal(infer(context, {"data": data, "indices": indices})["y"], expected)


def test_constant_indices_out_of_range_name_the_node() -> None:
    from mlprt.onnx_parser import OnnxParser
    node = helper.make_node("Gather", ["data", "idx"], ["y"], name="pick", axis=0)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("data", TensorProto.FLOAT, [3, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [helper.make_tensor("idx", TensorProto.INT64, [2], [0, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    parser = OnnxParser(mlprt.Builder(RecordingLogger()).create_network(0), RecordingLogger())
    assert not parser.parse(model.SerializeToString())
    error = parser.get_error(0)
    assert error.node_name() == "pick" and "outside an axis of 3" in error.desc()
