"""GatherND (batch_dims 0) as a gather of the flattened indexed axes, compared with ONNX Runtime:
constant and run-time indices, negative ones, one to all axes indexed, rank-1
indices, an engine with a dynamic leading axis; refusals name the node."""
from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from mlprt.onnx_parser import ErrorCode
from mlprt.testing import compare_with_onnxruntime
from test_onnx_parser_helpers import F, check_against_onnxruntime, make_model, parse_errors

N = helper.make_node
DATA = (5, 3, 7, 2)
INDEX_CASES = {
    "one_axis": np.array([[4], [0], [-1]], np.int64),
    "two_axes": np.array([[[4, 2], [0, -3]], [[-5, 1], [2, 0]]], np.int64),
    "three_axes": np.array([[1, 2, 6], [-1, -1, -7], [0, 0, 0]], np.int64),
    "every_axis": np.array([[4, 2, 6, 1], [0, 0, 0, 0]], np.int64),
    "rank_one": np.array([3, -2], np.int64),
}


@pytest.mark.parametrize("case", sorted(INDEX_CASES))
@pytest.mark.parametrize("runtime", [False, True], ids=["constant", "run-time"])
def test_gather_nd_matches_onnxruntime(case: str, runtime: bool) -> None:
    indices = INDEX_CASES[case]
    elem = helper.np_dtype_to_tensor_dtype(indices.dtype)
    inputs = [("x", F, DATA)] + ([("i", elem, indices.shape)] if runtime else [])
    model = make_model([N("GatherND", ["x", "i"], ["y"])], inputs, ["y"], None if runtime else {"i": indices},
                       opset=13)
    feeds = {"x": np.random.default_rng(4).standard_normal(DATA).astype(np.float32)}
    if runtime:
        feeds["i"] = indices
    check_against_onnxruntime(model, feeds)


def test_gather_nd_engine_with_run_time_indices_and_a_dynamic_leading_axis() -> None:
    model = make_model([N("GatherND", ["x", "i"], ["y"])], [("x", F, ("n", 6, 4)), ("i", TensorProto.INT64, (3, 2))],
                       ["y"], opset=13)
    inputs = {"x": np.random.default_rng(6).standard_normal((5, 6, 4)).astype(np.float32),
              "i": np.array([[4, 5], [-5, -6], [2, 3]], np.int64)}
    profiles = {"x": ((1, 6, 4), (5, 6, 4), (8, 6, 4)), "i": ((3, 2), (3, 2), (3, 2))}
    report = compare_with_onnxruntime(model.SerializeToString(), inputs=inputs, profiles=profiles)
    np.testing.assert_array_equal(report.results["y"], report.reference["y"])


def test_gather_nd_refusals_name_the_node() -> None:
    batched = make_model([N("GatherND", ["x", "i"], ["y"], batch_dims=1, name="g")],
                         [("x", F, (2, 3)), ("i", TensorProto.INT64, (2, 1))], ["y"], opset=13)
    (error,) = parse_errors(batched)
    assert error.code() == ErrorCode.UNSUPPORTED_NODE_ATTR and error.node_name() == "g"
    assert "batch_dims other than 0" in error.desc()
    dynamic = make_model([N("GatherND", ["x", "i"], ["y"], name="g")],
                         [("x", F, (2, "m", 3)), ("i", TensorProto.INT64, (4, 2))], ["y"], opset=13)
    (error,) = parse_errors(dynamic)
    assert error.code() == ErrorCode.UNSUPPORTED_NODE_SHAPE and "known only at run time" in error.desc()
    too_deep = make_model([N("GatherND", ["x", "i"], ["y"], name="g")],
                          [("x", F, (2, 3)), ("i", TensorProto.INT64, (4, 3))], ["y"], opset=13)
    (error,) = parse_errors(too_deep)
    assert error.code() == ErrorCode.INVALID_NODE and "1 to 2 (the data's rank)" in error.desc()
    out_of_range = make_model([N("GatherND", ["x", "i"], ["y"], name="g")], [("x", F, (2, 3))], ["y"],
                              {"i": np.array([[1, 3]], np.int64)}, opset=13)
    (error,) = parse_errors(out_of_range)
    assert error.code() == ErrorCode.INVALID_NODE and "outside an axis of 3" in error.desc()
