"""Rounding, sign, NaN/Inf tests and trigonometry (Floor, Ceil, Round, Sign, IsNaN, IsInf, Sin ... Atanh):
parsed into unary layers, built into engines and run on the device, compared with ONNX Runtime on
random values inside each function's domain and on the values random draws never hit (halves,
signed zeros, NaN, infinities); integers for Sign; refusals that name the node."""
from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import mlprt
from mlprt.onnx_parser import ErrorCode
from mlprt.testing import compare_with_onnxruntime
from test_onnx_parser_helpers import parse_errors

N = helper.make_node
#: Each float operator and the map of a value in (-1, 1) into its domain.
FLOAT_OPS: Dict[str, object] = {
    "Floor": lambda x: 3 * x, "Ceil": lambda x: 3 * x, "Round": lambda x: 3 * x, "Sign": lambda x: x,
    "Sin": lambda x: 3 * x, "Cos": lambda x: 3 * x, "Tan": lambda x: 1.2 * x, "Asin": lambda x: 0.99 * x,
    "Acos": lambda x: 0.99 * x, "Atan": lambda x: 5 * x, "Sinh": lambda x: 3 * x, "Cosh": lambda x: 3 * x,
    "Asinh": lambda x: 5 * x, "Acosh": lambda x: 1 + 4 * np.abs(x), "Atanh": lambda x: 0.99 * x,
}
SPECIALS = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, -0.0, 0.0, np.nan, np.inf, -np.inf, 7.25, -7.75],
                    np.float32)


def _model(nodes: List[onnx.NodeProto], inputs: List[Tuple[str, int, List[int]]],
           outputs: List[Tuple[str, int, List[int]]]) -> bytes:
    graph = helper.make_graph(nodes, "unary_math",
                              [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
                              [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model.SerializeToString()


@pytest.mark.parametrize("fp16", [False, True], ids=["fp32", "fp16"])
def test_every_float_operator_matches_onnxruntime_inside_its_domain(fp16: bool) -> None:
    shape = [3, 37]  # not a multiple of any work-group
    rng = np.random.default_rng(11)
    inputs = {f"x_{op}": fn(rng.uniform(-1, 1, shape)).astype(np.float32) for op, fn in FLOAT_OPS.items()}
    nodes = [N(op, [f"x_{op}"], [f"y_{op}"]) for op in FLOAT_OPS]
    model = _model(nodes, [(name, TensorProto.FLOAT, shape) for name in inputs],
                   [(f"y_{op}", TensorProto.FLOAT, shape) for op in FLOAT_OPS])
    report = compare_with_onnxruntime(model, inputs=inputs, fp16=fp16)
    for op in FLOAT_OPS:
        got, expected = report.results[f"y_{op}"], report.reference[f"y_{op}"]
        scale = max(1.0, float(np.abs(expected).max()))
        if op in ("Floor", "Ceil", "Round", "Sign") and not fp16:
            np.testing.assert_array_equal(got, expected, err_msg=op)
        else:
            error = float(np.abs(got.astype(np.float64) - expected).max()) / scale
            # FP16: the input is rounded to half first, which Floor/Ceil/Round can move by a whole step.
            bound = 1e-5 if not fp16 else (1.0 / scale if op in ("Floor", "Ceil", "Round") else 1e-2)
            assert error <= bound, f"{op}: relative error {error:.3g}"


def test_rounding_sign_and_tests_of_special_values() -> None:
    ops = ["Floor", "Ceil", "Round", "Sign", "IsNaN", "IsInf"]
    nodes = [N(op, ["x"], [f"y_{op}"]) for op in ops]
    nodes += [N("IsInf", ["x"], ["y_inf_positive"], detect_negative=0),
              N("IsInf", ["x"], ["y_inf_negative"], detect_positive=0),
              N("IsInf", ["x"], ["y_inf_neither"], detect_negative=0, detect_positive=0)]
    n = len(SPECIALS)
    bools = ["IsNaN", "IsInf", "inf_positive", "inf_negative", "inf_neither"]
    outputs = [(f"y_{op}", TensorProto.BOOL if op in bools else TensorProto.FLOAT, [n]) for op in ops]
    outputs += [(f"y_{name}", TensorProto.BOOL, [n]) for name in bools[2:]]
    model = _model(nodes, [("x", TensorProto.FLOAT, [n])], outputs)
    report = compare_with_onnxruntime(model, inputs={"x": SPECIALS})
    for name, _, _ in outputs:
        got, expected = report.results[name], report.reference[name]
        assert got.dtype == expected.dtype, name
        np.testing.assert_array_equal(got, expected, err_msg=name)  # NaN where ONNX Runtime has NaN
        if got.dtype == np.float32:
            np.testing.assert_array_equal(np.signbit(got), np.signbit(expected), err_msg=f"{name}: signs of zero")
    assert report.results["y_Round"].tolist()[:7] == [-2.0, -2.0, -0.0, 0.0, 2.0, 2.0, 4.0]  # halves to even


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64])
def test_sign_of_integers(dtype: type) -> None:
    onnx_type = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    model = _model([N("Sign", ["x"], ["y"])], [("x", onnx_type, [2, 5])], [("y", onnx_type, [2, 5])])
    values = np.array([[5, -3, 0, -128, 127], [1, -1, 0, 100, -100]], dtype)
    report = compare_with_onnxruntime(model, inputs={"x": values})
    np.testing.assert_array_equal(report.results["y"], report.reference["y"])
    assert report.results["y"].dtype == dtype


@pytest.mark.parametrize("op, onnx_type, message", [
    ("Floor", TensorProto.INT32, "Floor needs a FLOAT or FLOAT16 input, got INT32"),
    ("IsNaN", TensorProto.INT64, "IsNaN needs a FLOAT or FLOAT16 input, got INT64"),
    ("Sign", TensorProto.BOOL, "Sign needs a numeric input, got BOOL"),
])
def test_types_an_operator_does_not_take_are_refused_by_node(op: str, onnx_type: int, message: str) -> None:
    node = N(op, ["x"], ["y"], name=f"the_{op.lower()}")
    out_type = TensorProto.BOOL if op == "IsNaN" else onnx_type
    graph = helper.make_graph([node], "refused", [helper.make_tensor_value_info("x", onnx_type, [4])],
                              [helper.make_tensor_value_info("y", out_type, [4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    (error,) = parse_errors(model)
    assert error.code() == ErrorCode.UNSUPPORTED_NODE_DATATYPE and error.node_name() == f"the_{op.lower()}"
    assert message in error.desc()


def test_network_api_names_and_output_types() -> None:
    network = mlprt.INetworkDefinition()
    x = network.add_input("x", mlprt.DataType.FLOAT, (2, 3))
    for op in (mlprt.UnaryOperation.ISNAN, mlprt.UnaryOperation.ISINF):
        assert network.add_unary(x, op).get_output(0).dtype == mlprt.DataType.BOOL
    for op in (mlprt.UnaryOperation.FLOOR, mlprt.UnaryOperation.ATANH, mlprt.UnaryOperation.SIGN):
        assert network.add_unary(x, op).get_output(0).dtype == mlprt.DataType.FLOAT
    i = network.add_input("i", mlprt.DataType.INT32, (2, 3))
    assert network.add_unary(i, mlprt.UnaryOperation.SIGN).get_output(0).dtype == mlprt.DataType.INT32
    with pytest.raises(ValueError, match="Unary"):
        network.add_unary(i, mlprt.UnaryOperation.FLOOR)
