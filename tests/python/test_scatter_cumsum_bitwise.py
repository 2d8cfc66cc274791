"""ScatterElements, ScatterND (every reduction), CumSum, CumProd and the bitwise operators and shifts,
through engines on random data at awkward shapes, compared with ONNX Runtime; the NumPy
reference of the parsed network too; refusals named by node."""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from mlprt.testing import compare_with_onnxruntime
from test_onnx_parser_helpers import check_against_onnxruntime, parse_errors

N = helper.make_node
Spec = Tuple[str, int, Sequence[object]]


def _model(nodes: List[onnx.NodeProto], inputs: List[Spec], outputs: List[Spec],
           initializers: Dict[str, np.ndarray] = None, opset: int = 18) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "scatter_cumsum_bitwise",
                              [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
                              [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs],
                              [numpy_helper.from_array(v, k) for k, v in (initializers or {}).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 9
    return model


def _exact(report: object, names: Sequence[str]) -> None:
    for name in names:
        np.testing.assert_array_equal(report.results[name], report.reference[name], err_msg=name)


# ---- ScatterElements and ScatterND -----------------------------------------------------------

REDUCTIONS = ["none", "add", "mul", "max", "min"]


def _scatter_elements_case(rng: np.random.Generator) -> Tuple[onnx.ModelProto, Dict[str, np.ndarray], List[str]]:
    """Data (5, 7, 3); indices and updates (3, 7, 2) along axis 0 (duplicates, negative indices, run
    time) and (5, 2, 3) along axis -2 (constant), one output per reduction."""
    data = rng.uniform(0.5, 2.0, (5, 7, 3)).astype(np.float32)
    along0 = rng.integers(-5, 5, (3, 7, 2)).astype(np.int64)     # duplicates certain: 3 rows into 5
    updates0 = rng.uniform(0.5, 2.0, (3, 7, 2)).astype(np.float32)
    along1 = rng.integers(0, 7, (5, 2, 3)).astype(np.int32)
    updates1 = rng.uniform(0.5, 2.0, (5, 2, 3)).astype(np.float32)
    nodes, outputs = [], []
    for reduction in REDUCTIONS:
        for name, indices, updates, axis in (("a", "i0", "u0", 0), ("b", "i1", "u1", -2)):
            if reduction == "none" and name == "a":
                continue  # duplicate indices without a reduction: ONNX leaves the result undefined
            out = f"{name}_{reduction}"
            nodes.append(N("ScatterElements", ["data", indices, updates], [out], axis=axis, reduction=reduction))
            outputs.append(out)
    unique0 = np.stack([rng.permutation(5)[:3] for _ in range(14)], axis=1).reshape(3, 7, 2).astype(np.int64)
    nodes.append(N("ScatterElements", ["data", "unique0", "u0"], ["a_none"], axis=0))
    outputs.append("a_none")
    model = _model(nodes, [("data", TensorProto.FLOAT, [5, 7, 3]), ("i0", TensorProto.INT64, [3, 7, 2]),
                           ("u0", TensorProto.FLOAT, [3, 7, 2])],
                   [(o, TensorProto.FLOAT, [5, 7, 3]) for o in outputs],
                   {"i1": along1, "u1": updates1, "unique0": unique0})
    return model, {"data": data, "i0": along0, "u0": updates0}, outputs


def test_scatter_elements_every_reduction_through_an_engine(rng):
    model, feeds, outputs = _scatter_elements_case(rng)
    check_against_onnxruntime(model, feeds)
    report = compare_with_onnxruntime(model.SerializeToString(), inputs=feeds)
    for name in outputs:
        np.testing.assert_allclose(report.results[name], report.reference[name], rtol=1e-6, err_msg=name)


def _scatter_nd_case(rng: np.random.Generator, dtype: type) -> Tuple[onnx.ModelProto, Dict[str, np.ndarray], List[str]]:
    """Data (4, 5, 3) of `dtype`: tuples of 1 (slices of (5, 3)), 2 (rows of 3) and 3 coordinates
    (elements), with duplicates (reductions) and negative coordinates."""
    onnx_type = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    draw = (lambda *s: rng.uniform(0.5, 2.0, s)) if np.dtype(dtype).kind == "f" else (lambda *s: rng.integers(-9, 9, s))
    data = draw(4, 5, 3).astype(dtype)
    tuples = {1: rng.integers(-4, 4, (2, 1)), 2: np.stack([rng.integers(-4, 4, 7), rng.integers(0, 5, 7)], 1),
              3: np.stack([rng.integers(0, 4, 11), rng.integers(-5, 5, 11), rng.integers(0, 3, 11)], 1)}
    unique = {1: np.array([[2], [-1]]), 2: np.array([[0, 4], [3, 1], [-2, 0]]), 3: np.array([[3, 4, 2], [0, 0, 0]])}
    nodes, outputs, inits = [], [], {}
    for depth in (1, 2, 3):
        for reduction in REDUCTIONS:
            indices = (unique if reduction == "none" else tuples)[depth].astype(np.int64)
            updates = draw(*indices.shape[:-1], *data.shape[depth:]).astype(dtype)
            key = f"d{depth}_{reduction}"
            inits[f"i_{key}"], inits[f"u_{key}"] = indices, updates
            nodes.append(N("ScatterND", ["data", f"i_{key}", f"u_{key}"], [key], reduction=reduction))
            outputs.append(key)
    model = _model(nodes, [("data", onnx_type, [4, 5, 3])], [(o, onnx_type, [4, 5, 3]) for o in outputs], inits)
    return model, {"data": data}, outputs


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_scatter_nd_every_depth_and_reduction_through_an_engine(rng, dtype):
    model, feeds, outputs = _scatter_nd_case(rng, dtype)
    check_against_onnxruntime(model, feeds)
    report = compare_with_onnxruntime(model.SerializeToString(), inputs=feeds)
    for name in outputs:
        np.testing.assert_allclose(report.results[name], report.reference[name], rtol=1e-6, err_msg=name)


def test_scatter_with_run_time_indices_in_fp16_and_a_dynamic_batch(rng):
    """A KV-cache-style write: rows of a (batch, 6, 4) cache replaced at run-time positions."""
    model = _model([N("ScatterND", ["cache", "where", "rows"], ["y"]),
                    N("ScatterElements", ["cache", "columns", "values"], ["z"], axis=2)],
                   [("cache", TensorProto.FLOAT, ["b", 6, 4]), ("where", TensorProto.INT64, ["b", 2, 2]),
                    ("rows", TensorProto.FLOAT, ["b", 2, 4]), ("columns", TensorProto.INT32, ["b", 6, 1]),
                    ("values", TensorProto.FLOAT, ["b", 6, 1])],
                   [("y", TensorProto.FLOAT, ["b", 6, 4]), ("z", TensorProto.FLOAT, ["b", 6, 4])])
    batch = 3
    where = np.stack([np.repeat(np.arange(batch), 2).reshape(batch, 2),
                      np.stack([rng.permutation(6)[:2] for _ in range(batch)])], axis=-1).astype(np.int64)
    feeds = {"cache": rng.standard_normal((batch, 6, 4)).astype(np.float32), "where": where,
             "rows": rng.standard_normal((batch, 2, 4)).astype(np.float32),
             "columns": rng.integers(-4, 4, (batch, 6, 1)).astype(np.int32),
             "values": rng.standard_normal((batch, 6, 1)).astype(np.float32)}
    profiles = {"cache": ((1, 6, 4), (2, 6, 4), (4, 6, 4)), "where": ((1, 2, 2), (2, 2, 2), (4, 2, 2)),
                "rows": ((1, 2, 4), (2, 2, 4), (4, 2, 4)), "columns": ((1, 6, 1), (2, 6, 1), (4, 6, 1)),
                "values": ((1, 6, 1), (2, 6, 1), (4, 6, 1))}
    compare_with_onnxruntime(model.SerializeToString(), inputs=feeds, fp16=True, profiles=profiles).assert_passed()


def test_scatter_refusals_name_the_node():
    def errors(node: onnx.NodeProto, indices_type: int = TensorProto.INT64, updates: Sequence[int] = (2, 3)) -> str:
        model = _model([node], [("x", TensorProto.FLOAT, [4, 3]), ("i", indices_type, [2, 3]),
                                ("u", TensorProto.FLOAT, list(updates))], [("y", TensorProto.FLOAT, [4, 3])])
        return " | ".join(str(e) for e in parse_errors(model))

    text = errors(N("ScatterElements", ["x", "i", "u"], ["y"], name="bad_reduction", reduction="avg"))
    assert "bad_reduction" in text and "reduction must be one of" in text
    text = errors(N("ScatterElements", ["x", "i", "u"], ["y"], name="float_indices"), TensorProto.FLOAT)
    assert "float_indices" in text and "INT32 or INT64" in text
    text = errors(N("ScatterElements", ["x", "i", "u"], ["y"], name="wrong_updates"), updates=(2, 2))
    assert "wrong_updates" in text and "must have the shape of indices" in text
    text = errors(N("ScatterND", ["x", "i", "u"], ["y"], name="deep_tuples"))
    assert "deep_tuples" in text and "must be known and between 1 and data" in text


# ---- CumSum and CumProd ----------------------------------------------------------------------

def _check_cumulative(op: str, x: np.ndarray, ints: np.ndarray, small: np.ndarray, fp16: bool, floor: float,
                      opset: int = 18) -> object:
    """``op`` (CumSum or CumProd) along every axis of float ``x``, exclusive and reverse in every
    combination, and along int64 ``ints`` (reverse) and int32 ``small`` (exclusive), through an
    engine against ONNX Runtime (and the NumPy reference of the network in FP32): integers exactly,
    floats within 1e-5 (1e-2 in FP16) of each output's largest magnitude or ``floor``. The report."""
    nodes, outputs = [], []
    for axis in (0, 1, -1):
        for exclusive in (0, 1):
            for reverse in (0, 1):
                name = f"f_{axis}_{exclusive}_{reverse}".replace("-", "m")
                nodes.append(N(op, ["x", f"axis_{axis}".replace("-", "m")], [name], exclusive=exclusive,
                               reverse=reverse))
                outputs.append((name, TensorProto.FLOAT, list(x.shape)))
    nodes += [N(op, ["ints", "axis_0"], ["i64"], reverse=1), N(op, ["small", "axis_32"], ["i32"], exclusive=1)]
    inits = {"axis_0": np.array(0, np.int64), "axis_1": np.array(1, np.int32), "axis_m1": np.array(-1, np.int64),
             "axis_32": np.array(0, np.int32)}
    model = _model(nodes, [("x", TensorProto.FLOAT, list(x.shape)), ("ints", TensorProto.INT64, list(ints.shape)),
                           ("small", TensorProto.INT32, list(small.shape))],
                   outputs + [("i64", TensorProto.INT64, list(ints.shape)), ("i32", TensorProto.INT32, list(small.shape))],
                   inits, opset=opset)
    feeds = {"x": x, "ints": ints, "small": small}
    if not fp16:
        check_against_onnxruntime(model, feeds)
    report = compare_with_onnxruntime(model.SerializeToString(), inputs=feeds, fp16=fp16)
    _exact(report, ["i64", "i32"])
    for name, _, _ in outputs:
        got, expected = report.results[name], report.reference[name]
        scale = max(floor, float(np.abs(expected).max()))
        error = float(np.abs(got.astype(np.float64) - expected).max()) / scale
        assert error <= (1e-2 if fp16 else 1e-5), f"{name}: relative error {error:.3g}"
    return report


@pytest.mark.parametrize("fp16", [False, True])
def test_cumsum_every_axis_and_direction_through_an_engine(rng, fp16):
    x = rng.standard_normal((3, 17, 2)).astype(np.float32)
    ints = rng.integers(-2**40, 2**40, (5, 3)).astype(np.int64)
    small = rng.integers(-1000, 1000, (7,)).astype(np.int32)
    _check_cumulative("CumSum", x, ints, small, fp16, floor=1.0)


def test_cumsum_refusals_name_the_node():
    model = _model([N("CumSum", ["x", "axis"], ["y"], name="run_time_axis")],
                   [("x", TensorProto.FLOAT, [4]), ("axis", TensorProto.INT64, [])], [("y", TensorProto.FLOAT, [4])])
    text = " | ".join(str(e) for e in parse_errors(model))
    assert "run_time_axis" in text and "axis" in text
    model = _model([N("CumSum", ["x", "axis"], ["y"], name="far_axis")], [("x", TensorProto.FLOAT, [4])],
                   [("y", TensorProto.FLOAT, [4])], {"axis": np.array(3, np.int64)})
    text = " | ".join(str(e) for e in parse_errors(model))
    assert "far_axis" in text and "out of range" in text


@pytest.mark.parametrize("fp16", [False, True])
def test_cumprod_every_axis_and_direction_through_an_engine(rng, fp16):
    """Opset 26's CumProd: floats near 1 (so that 17 factors stay in range), every axis, exclusive
    and reverse; integer lines long enough to wrap, as the types do."""
    x = rng.uniform(0.6, 1.6, (3, 17, 2)).astype(np.float32) * rng.choice([-1.0, 1.0], (3, 17, 2)).astype(np.float32)
    factors = np.array([-7, -5, -3, -2, -1, 1, 2, 3, 5, 7])  # no 0: the products stay alive
    ints = rng.choice(factors, (41, 3)).astype(np.int64)
    small = rng.choice(factors, (29,)).astype(np.int32)
    report = _check_cumulative("CumProd", x, ints, small, fp16, floor=1e-3, opset=26)
    assert np.abs(report.reference["i64"]).max() > 2**40  # the long lines did overflow and wrap


def test_cumprod_refusals_name_the_node():
    model = _model([N("CumProd", ["x", "axis"], ["y"], name="run_time_axis")],
                   [("x", TensorProto.FLOAT, [4]), ("axis", TensorProto.INT64, [])], [("y", TensorProto.FLOAT, [4])],
                   opset=26)
    text = " | ".join(str(e) for e in parse_errors(model))
    assert "run_time_axis" in text and "axis" in text
    model = _model([N("CumProd", ["x", "axis"], ["y"], name="bool_line")], [("x", TensorProto.BOOL, [4])],
                   [("y", TensorProto.BOOL, [4])], {"axis": np.array(0, np.int64)}, opset=26)
    text = " | ".join(str(e) for e in parse_errors(model))
    assert "bool_line" in text and "CumProd of BOOL is not supported" in text


# ---- Bitwise operators and shifts ------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int32, np.int64])
def test_bitwise_and_shifts_through_an_engine(rng, dtype):
    """Opset 28, whose BitShift takes signed types too (right shifts arithmetic); shift counts from
    negative to past the type's width."""
    info = np.iinfo(dtype)
    onnx_type = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    width = info.bits
    a = rng.integers(info.min, info.max, (3, width + 5), endpoint=True).astype(dtype)
    a[0, :3] = [info.min, info.max, -1 if info.min else 1]
    b = rng.integers(info.min, info.max, (width + 5,), endpoint=True).astype(dtype)  # broadcast over rows
    low = 0 if info.min == 0 else -2
    counts = np.tile(np.arange(low, low + width + 5), (3, 1)).astype(dtype)
    nodes = [N("BitwiseAnd", ["a", "b"], ["and"]), N("BitwiseOr", ["a", "b"], ["or"]),
             N("BitwiseXor", ["a", "b"], ["xor"]), N("BitwiseNot", ["a"], ["not"]),
             N("BitShift", ["a", "n"], ["left"], direction="LEFT"),
             N("BitShift", ["a", "n"], ["right"], direction="RIGHT")]
    names = ["and", "or", "xor", "not", "left", "right"]
    model = _model(nodes, [("a", onnx_type, [3, width + 5]), ("b", onnx_type, [width + 5]),
                           ("n", onnx_type, [3, width + 5])], [(n, onnx_type, [3, width + 5]) for n in names],
                   opset=28)
    feeds = {"a": a, "b": b, "n": counts}
    check_against_onnxruntime(model, feeds)
    _exact(compare_with_onnxruntime(model.SerializeToString(), inputs=feeds), names)


def test_bitwise_refusals_name_the_node():
    model = _model([N("BitwiseAnd", ["x", "x"], ["y"], name="float_and")], [("x", TensorProto.FLOAT, [3])],
                   [("y", TensorProto.FLOAT, [3])])
    text = " | ".join(str(e) for e in parse_errors(model))
    assert "float_and" in text and "needs integer inputs" in text
    model = _model([N("BitShift", ["x", "x"], ["y"], name="sideways", direction="UP")],
                   [("x", TensorProto.UINT8, [3])], [("y", TensorProto.UINT8, [3])])
    text = " | ".join(str(e) for e in parse_errors(model))
    assert "sideways" in text and "LEFT or RIGHT" in text
