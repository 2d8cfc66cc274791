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
