"""Trilu on run-time tensors: a select with a constant triangular mask, compared with ONNX Runtime
for upper and lower triangles, positive, negative and absent k, square and wide matrices, a batch of
them with a dynamic leading axis, integers and BOOL; refusals name the node."""
from __future__ import annotations

from typing import Optional

import numpy as np
import pytest
from onnx import TensorProto, helper

from mlprt.onnx_parser import ErrorCode
from mlprt.testing import compare_with_onnxruntime
from test_onnx_parser_helpers import F, check_against_onnxruntime, make_model, parse_errors

N = helper.make_node


@pytest.mark.parametrize("upper", [1, 0])
@pytest.mark.parametrize("k", [None, 0, 2, -1, 7, -9])
@pytest.mark.parametrize("shape", [(5, 5), (3, 7), (2, 3, 4)])
def test_trilu_matches_onnxruntime(upper: int, k: Optional[int], shape: tuple) -> None:
    inputs = ["x"] if k is None else ["x", "k"]
    model = make_model([N("Trilu", inputs, ["y"], upper=upper)], [("x", F, shape)], ["y"],
                       None if k is None else {"k": np.array(k, np.int64)}, opset=14)
    x = np.random.default_rng(abs(k or 0) + len(shape)).standard_normal(shape).astype(np.float32)
    check_against_onnxruntime(model, {"x": x})


@pytest.mark.parametrize("elem, dtype", [(F, np.float32), (TensorProto.INT64, np.int64), (TensorProto.BOOL, np.bool_)])
def test_trilu_engine_with_a_dynamic_batch(elem: int, dtype: type) -> None:
    model = make_model([N("Trilu", ["x", "k"], ["y"], upper=0)], [("x", elem, ("batch", 4, 6))], ["y"],
                       {"k": np.array(1, np.int64)}, opset=14, output_type=elem)
    x = (np.random.default_rng(5).standard_normal((3, 4, 6)) * 10).astype(dtype)
    report = compare_with_onnxruntime(model.SerializeToString(), inputs={"x": x},
                                      profiles={"x": ((1, 4, 6), (3, 4, 6), (5, 4, 6))})
    np.testing.assert_array_equal(report.results["y"], report.reference["y"])


def test_trilu_refusals_name_the_node() -> None:
    dynamic = make_model([N("Trilu", ["x"], ["y"], name="tri")], [("x", F, (2, "n"))], ["y"], opset=14)
    (error,) = parse_errors(dynamic)
    assert error.code() == ErrorCode.UNSUPPORTED_NODE_DYNAMIC and error.node_name() == "tri"
    assert "last two extents are known only at run time" in error.desc()
    vector = make_model([N("Trilu", ["x"], ["y"], name="tri")], [("x", F, (4,))], ["y"], opset=14)
    (error,) = parse_errors(vector)
    assert error.code() == ErrorCode.INVALID_NODE and "rank 2 or more, got rank 1" in error.desc()
