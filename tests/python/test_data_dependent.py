"""Operators whose output shape depends on their input values (NonZero, Compress, Unique,
NonMaxSuppression): folded at parse time when the inputs are known, Compress as a gather when only
its condition is, and otherwise refused with the reason, naming the node."""
from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from mlprt.onnx_parser import ErrorCode
from mlprt.testing import compare_with_onnxruntime
from test_onnx_parser_helpers import F, check_against_onnxruntime, make_model, parse_errors

N = helper.make_node


def test_nonzero_and_unique_of_constants_are_folded() -> None:
    c = np.array([[0, 3, 0, -1], [2, 0, 0, 5], [0, 0, 7, 0]], np.float32)
    nodes = [N("NonZero", ["c"], ["nz"]), N("Cast", ["nz"], ["nzf"], to=TensorProto.FLOAT),
             N("ReduceSum", ["nzf"], ["total"], keepdims=0), N("Add", ["x", "total"], ["y"]),
             N("Unique", ["c"], ["u", "ui", "uinv", "ucount"]), N("Cast", ["ucount"], ["uc"], to=TensorProto.FLOAT),
             N("Mul", ["x", "uc"], ["z"])]
    model = make_model(nodes, [("x", F, (6,))], ["y", "z"], {"c": c})
    check_against_onnxruntime(model, {"x": np.arange(6, dtype=np.float32) - 2.5})


@pytest.mark.parametrize("axis", [0, 1, -1, None])
def test_compress_with_a_known_condition_gathers_run_time_data(axis: object) -> None:
    condition = np.array([True, False, True, True, False], bool)
    attrs = {} if axis is None else {"axis": axis}
    model = make_model([N("Compress", ["x", "c"], ["y"], **attrs)], [("x", F, (5, 5))], ["y"], {"c": condition})
    feeds = {"x": np.random.default_rng(3).standard_normal((5, 5)).astype(np.float32)}
    check_against_onnxruntime(model, feeds)
    report = compare_with_onnxruntime(model.SerializeToString(), inputs=feeds)  # through an engine
    np.testing.assert_array_equal(report.results["y"], report.reference["y"])


@pytest.mark.parametrize("op, inputs, what", [
    ("NonZero", [("x", F, (4,))], "NonZero of a tensor computed at run time"),
    ("Unique", [("x", F, (4,))], "Unique of a tensor computed at run time"),
    ("Compress", [("x", F, (4,)), ("c", TensorProto.BOOL, (4,))], "Compress of a condition computed at run time"),
    ("NonMaxSuppression", [("x", F, (1, 4, 4)), ("s", F, (1, 1, 4))], "NonMaxSuppression of a tensor"),
])
def test_run_time_inputs_are_refused_with_the_reason(op: str, inputs: list, what: str) -> None:
    node = N(op, [name for name, _, _ in inputs], ["y"], name=f"my_{op.lower()}")
    (error,) = parse_errors(make_model([node], inputs, ["y"]))
    assert error.code() == ErrorCode.UNSUPPORTED_NODE_DYNAMIC and error.node_name() == f"my_{op.lower()}"
    assert what in error.desc() and "only the data decide" in error.desc(), error.desc()


def test_a_condition_longer_than_the_axis_is_invalid() -> None:
    model = make_model([N("Compress", ["x", "c"], ["y"], axis=0, name="too_long")], [("x", F, (3,))], ["y"],
                       {"c": np.ones(4, bool)})
    (error,) = parse_errors(model)
    assert error.code() == ErrorCode.INVALID_NODE and "4 elements, more than the 3 along axis 0" in error.desc()


def test_folding_that_could_exceed_the_limit_is_refused_before_it_runs() -> None:
    shape = np.array([20000, 20000], np.int64)  # a fill of 400 M elements, never materialized
    nodes = [N("ConstantOfShape", ["shape"], ["ones"], value=helper.make_tensor("v", F, [1], [1.0])),
             N("NonZero", ["ones"], ["y"], name="huge")]
    (error,) = parse_errors(make_model(nodes, [], ["y"], {"shape": shape}))
    assert error.code() == ErrorCode.INVALID_NODE and error.node_name() == "huge"
    assert "could make an output of up to 9600000000 bytes" in error.desc(), error.desc()
