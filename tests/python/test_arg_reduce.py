"""ArgMax and ArgMin through the parser (composed from a reduction, an equality mask and an index
reduction) against ONNX Runtime: every axis, keepdims, select_last_index with ties, a dynamic
batch, and a row holding NaN staying in range."""
from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
from onnx import TensorProto, helper

from engine_helpers import RecordingLogger, infer, load
from mlprt.engine_tools import build_engine


def _model(op, shape, **attributes):
    node = helper.make_node(op, ["x"], ["y"], **attributes)
    graph = helper.make_graph([node], "arg", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.INT64, None)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def _run(model, x, tmp_path, profiles=()):
    path = tmp_path / "arg.onnx"
    path.write_bytes(model.SerializeToString())
    context = load(build_engine(str(path), profiles=list(profiles), logger=RecordingLogger())).create_execution_context()
    got = infer(context, {"x": x})["y"]
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return got, session.run(None, {"x": x})[0]


@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("keepdims", [0, 1])
@pytest.mark.parametrize("last", [0, 1])
def test_arg_reduce_matches_onnxruntime(op, axis, keepdims, last, tmp_path) -> None:
    rng = np.random.default_rng(abs(axis) * 4 + keepdims * 2 + last)
    x = rng.integers(-3, 4, (3, 5, 7)).astype(np.float32)  # small integers: many ties
    got, expected = _run(_model(op, [3, 5, 7], axis=axis, keepdims=keepdims, select_last_index=last), x, tmp_path)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)


def test_arg_max_with_a_dynamic_batch(tmp_path) -> None:
    model = _model("ArgMax", ["n", 10], axis=1, keepdims=0)
    path = tmp_path / "arg.onnx"
    path.write_bytes(model.SerializeToString())
    plan = build_engine(str(path), profiles=[{"x": ((1, 10), (4, 10), (9, 10))}], logger=RecordingLogger())
    context = load(plan).create_execution_context()
    for batch in (9, 2):
        x = np.random.default_rng(batch).standard_normal((batch, 10)).astype(np.float32)
        np.testing.assert_array_equal(infer(context, {"x": x})["y"], x.argmax(axis=1))


def test_a_row_with_nan_gives_an_index_in_range(tmp_path) -> None:
    x = np.array([[1.0, np.nan, 3.0], [2.0, 5.0, 1.0]], np.float32)
    got, _ = _run(_model("ArgMax", [2, 3], axis=1, keepdims=0), x, tmp_path)
    assert got[1] == 1 and 0 <= got[0] < 3


def test_long_axes_take_their_positions_at_run_time(tmp_path, monkeypatch) -> None:
    """Beyond CONSTANT_POSITIONS_UP_TO the positions come from an AxisRange step, not a parse-time
    constant: the same answers (ArgMax, ArgMin, Hardmax), and a declared axis of 2^31 - 1 elements
    parses without allocating its 16 GiB of positions (a fuzzer's finding)."""
    import mlprt
    from mlprt.onnx_parser import OnnxParser
    from mlprt.onnx_parser import context
    monkeypatch.setattr(context, "CONSTANT_POSITIONS_UP_TO", 4)
    rng = np.random.default_rng(11)
    for op, attributes in (("ArgMax", dict(axis=1)), ("ArgMin", dict(axis=-1, select_last_index=1)),
                           ("ArgMax", dict(axis=0, select_last_index=1)), ("Hardmax", dict(axis=1))):
        x = rng.integers(-3, 4, (3, 5, 7)).astype(np.float32)
        model = _model(op, [3, 5, 7], **attributes)
        if op == "Hardmax":
            model.graph.output[0].type.tensor_type.elem_type = TensorProto.FLOAT
        got, expected = _run(model, x, tmp_path)
        np.testing.assert_array_equal(got, expected)
    monkeypatch.undo()
    network = mlprt.Builder(RecordingLogger()).create_network(0)
    parser = OnnxParser(network, RecordingLogger())
    assert parser.parse(_model("ArgMax", [2**31 - 1], axis=0).SerializeToString()), parser.get_error(0)
    kinds = [type(network.get_layer(i)).__name__ for i in range(network.num_layers)]
    assert any("AxisRange" in kind for kind in kinds), kinds


@pytest.mark.parametrize("case", ["onehot", "trilu"])
def test_constants_the_sizes_would_make_too_large_are_refused_by_name(case) -> None:
    """OneHot's iota of depth elements and Trilu's rows x columns mask are made at parse time; sizes
    beyond the parser's constant limit are refused naming the node, before anything is allocated."""
    import mlprt
    from mlprt.onnx_parser import OnnxParser
    if case == "onehot":
        depth = helper.make_tensor("depth", TensorProto.INT64, [], [2**40])
        values = helper.make_tensor("values", TensorProto.FLOAT, [2], [0.0, 1.0])
        node = helper.make_node("OneHot", ["i", "depth", "values"], ["y"], name="big_one_hot")
        graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("i", TensorProto.INT64, [3])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [depth, values])
        words = "OneHot's depth 1099511627776 would need a constant of 1099511627776 elements"
    else:
        node = helper.make_node("Trilu", ["x"], ["y"], name="big_trilu")
        graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2**20, 2**20])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
        words = "Trilu's mask of 1048576 x 1048576 would need a constant of 1099511627776 elements"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], ir_version=8)
    network = mlprt.Builder(RecordingLogger()).create_network(0)
    parser = OnnxParser(network, RecordingLogger())
    assert not parser.parse(model.SerializeToString())
    error = parser.get_error(0)
    assert words in error.desc() and error.code() == mlprt.ErrorCode.UNSUPPORTED_NODE_SHAPE, str(error)
    assert ("big_one_hot" if case == "onehot" else "big_trilu") in str(error)
