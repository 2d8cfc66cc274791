"""Operators composed of existing layers: ThresholdedRelu, Celu, Softsign, Swish, Shrink, Hardmax
(ops/activation.py), RMSNormalization, MeanVarianceNormalization (ops/normalization.py), EyeLike and
OneHot (ops/generator.py). Parsed networks are evaluated with NumPy and compared with ONNX Runtime
(or ONNX's reference implementation where ONNX Runtime has no kernel for a type) on random inputs of
awkward shapes, defaults and other attribute values, FLOAT, FLOAT16 and integer types; two engines
(RMSNormalization with a dynamic batch; OneHot, Shrink and Hardmax on the device); refusals name the
node and what is wrong."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

import mlprt
from mlprt.onnx_parser import ErrorCode
from mlprt.testing import compare_with_onnxruntime
from network_reference import evaluate
from test_onnx_parser_helpers import onnxruntime_outputs, parse, parse_errors

N = helper.make_node
F, H = TensorProto.FLOAT, TensorProto.FLOAT16
I8, U8, I32, I64, B = TensorProto.INT8, TensorProto.UINT8, TensorProto.INT32, TensorProto.INT64, TensorProto.BOOL
Spec = Tuple[str, int, Sequence[Any]]


def _model(node: onnx.NodeProto, inputs: Sequence[Spec], output_type: int, opset: int,
           initializers: Optional[Dict[str, np.ndarray]] = None) -> onnx.ModelProto:
    """A one-node model; inputs are (name, element type, shape with ints or names)."""
    graph = helper.make_graph([node], "composed", [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
                              [helper.make_tensor_value_info(node.output[0], output_type, None)],
                              [onnx.numpy_helper.from_array(v, k) for k, v in (initializers or {}).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10
    return model


def _check(model: onnx.ModelProto, feeds: Dict[str, np.ndarray], tolerance: float = 1e-5,
           reference: Any = "onnxruntime") -> np.ndarray:
    """Parses ``model``, evaluates the network with NumPy and compares its one output with ONNX
    Runtime (``reference="onnx"``: ONNX's reference implementation; a function: its result on
    ``feeds``): the element type, then the values, exactly for integers and BOOL, within
    ``tolerance`` of the largest magnitude for floats."""
    network, _ = parse(model)
    got = evaluate(network, feeds)[model.graph.output[0].name]
    if reference == "onnxruntime":
        (expected,) = onnxruntime_outputs(model, feeds).values()
    elif reference == "onnx":
        (expected,) = ReferenceEvaluator(model).run(None, feeds)
    else:
        expected = reference(feeds)
    assert mlprt.nptype(network.get_output(0).dtype) == expected.dtype
    assert got.shape == expected.shape
    if expected.dtype.kind in "biu":
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
        scale = max(1.0, float(np.nanmax(np.abs(expected.astype(np.float64)))))
        error = float(np.nanmax(np.abs(got - expected.astype(np.float64)))) / scale
        assert error <= tolerance, f"relative error {error:.3g}"
    return got


def _floats(shape: Sequence[int], dtype: type = np.float32, seed: int = 0, scale: float = 2.0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


# -- activations ------------------------------------------------------------------------------------

#: (operator, attributes, opset): defaults and other values of each attribute.
ACTIVATIONS = [
    ("ThresholdedRelu", {}, 11), ("ThresholdedRelu", {"alpha": 0.3}, 11), ("ThresholdedRelu", {"alpha": -0.75}, 11),
    ("Celu", {}, 12), ("Celu", {"alpha": 0.4}, 12), ("Celu", {"alpha": 2.5}, 12), ("Celu", {"alpha": -1.5}, 12),
    ("Softsign", {}, 11),
    ("Swish", {}, 24), ("Swish", {"alpha": 0.7}, 24), ("Swish", {"alpha": -1.25}, 24),
    ("Shrink", {}, 11), ("Shrink", {"lambd": 1.5}, 11), ("Shrink", {"lambd": 0.3, "bias": 0.2}, 11),
    ("Shrink", {"lambd": -0.5, "bias": 1.0}, 11),  # the ranges overlap: x < 0.5 wins
    ("Hardmax", {}, 13), ("Hardmax", {"axis": 0}, 13), ("Hardmax", {"axis": -2}, 13),
    ("Hardmax", {}, 11), ("Hardmax", {"axis": 2}, 11), ("Hardmax", {"axis": 0}, 11),  # opset < 13: 2-D coercion
]


@pytest.mark.parametrize("op, attrs, opset", ACTIVATIONS, ids=[f"{o}-{a}-{s}" for o, a, s in ACTIVATIONS])
def test_activations_match_onnxruntime(op: str, attrs: Dict[str, Any], opset: int) -> None:
    shape = (2, 3, 5, 7)
    x = _floats(shape, seed=len(ACTIVATIONS) + opset)
    if op == "Hardmax":  # few distinct values: ties, where the first maximum wins
        x = np.round(x)
    _check(_model(N(op, ["x"], ["y"], **attrs), [("x", F, shape)], F, opset), {"x": x})


FP16_CASES = [("ThresholdedRelu", {"alpha": 0.3}, 11), ("Celu", {"alpha": 0.4}, 28), ("Softsign", {}, 11),
              ("Swish", {"alpha": 0.7}, 24), ("Shrink", {"lambd": 0.3, "bias": 0.1}, 11), ("Hardmax", {"axis": 1}, 13)]


@pytest.mark.parametrize("op, attrs, opset", FP16_CASES, ids=[o for o, _, _ in FP16_CASES])
def test_activations_of_float16_match_onnxruntime(op: str, attrs: Dict[str, Any], opset: int) -> None:
    shape = (3, 1, 11)
    x = _floats(shape, np.float16, seed=5)
    # Values on the thresholds: 0.3 rounds to a half above it (x > 0.3 holds, as in float).
    x.reshape(-1)[:4] = np.float16([0.3, -0.3, 0.2998, -0.2998])
    _check(_model(N(op, ["x"], ["y"], **attrs), [("x", H, shape)], H, opset), {"x": x}, tolerance=2e-3)


@pytest.mark.parametrize("dtype, attrs", [
    (np.int8, {}), (np.int8, {"lambd": 1.5, "bias": 1.5}), (np.int8, {"lambd": 2.0, "bias": -3.0}),
    (np.uint8, {"lambd": 2.5, "bias": 1.5}), (np.int32, {"lambd": 4.0, "bias": 2.0}),
    (np.int64, {"lambd": 0.5, "bias": -0.5}), (np.int8, {"lambd": 200.0, "bias": 1.0}),  # nothing shrinks past 127
])
def test_shrink_of_integers_matches_onnxruntime(dtype: type, attrs: Dict[str, float]) -> None:
    info = np.iinfo(dtype)
    x = np.random.default_rng(3).integers(max(info.min, -100), min(info.max, 100), (5, 7), endpoint=True).astype(dtype)
    x.reshape(-1)[:2] = [min(info.max, 127), max(info.min, -128)]
    onnx_type = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    _check(_model(N("Shrink", ["x"], ["y"], **attrs), [("x", onnx_type, x.shape)], onnx_type, 11), {"x": x})


# -- normalizations ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape, attrs, scale_shape", [
    ((2, 3, 7), {}, (7,)),
    ((3, 5, 7), {"axis": 1, "epsilon": 1e-2}, (5, 7)),
    ((2, 3, 1, 5), {"axis": -3}, (1, 1, 5)),  # scale broadcast along the normalized axes
    ((13,), {"axis": 0}, (13,)),
])
def test_rms_normalization_matches_onnxruntime(shape: Tuple[int, ...], attrs: Dict[str, Any],
                                               scale_shape: Tuple[int, ...]) -> None:
    x, scale = _floats(shape, seed=1), _floats(scale_shape, seed=2, scale=1.0)
    model = _model(N("RMSNormalization", ["x", "scale"], ["y"], **attrs), [("x", F, shape), ("scale", F, scale_shape)],
                   F, 23)
    _check(model, {"x": x, "scale": scale})


def test_rms_normalization_of_float16_with_a_constant_scale() -> None:
    x, scale = _floats((3, 11), np.float16, seed=4, scale=30.0), _floats((11,), np.float16, seed=5, scale=1.0)
    model = _model(N("RMSNormalization", ["x", "scale"], ["y"]), [("x", H, (3, 11))], H, 23, {"scale": scale})
    _check(model, {"x": x}, tolerance=2e-3)


def test_rms_normalization_engine_with_a_dynamic_batch() -> None:
    model = _model(N("RMSNormalization", ["x", "scale"], ["y"], axis=-2), [("x", F, ("b", 5, 7))], F, 23,
                   {"scale": _floats((5, 7), seed=6, scale=1.0)})
    profiles = {"x": ((1, 5, 7), (3, 5, 7), (4, 5, 7))}
    compare_with_onnxruntime(model.SerializeToString(), inputs={"x": _floats((3, 5, 7), seed=7)},
                             profiles=profiles).assert_passed()


@pytest.mark.parametrize("shape, attrs, dtype", [
    ((2, 3, 5, 7), {}, np.float32),
    ((3, 5, 7), {"axes": [1, 2]}, np.float32),
    ((5, 1, 7), {"axes": [-1, 0]}, np.float32),
    ((2, 3, 5, 7), {}, np.float16),
])
def test_mean_variance_normalization_matches_onnxruntime(shape: Tuple[int, ...], attrs: Dict[str, Any],
                                                         dtype: type) -> None:
    onnx_type = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    model = _model(N("MeanVarianceNormalization", ["x"], ["y"], **attrs), [("x", onnx_type, shape)], onnx_type, 13)

    def formula(feeds: Dict[str, np.ndarray]) -> np.ndarray:
        """ONNX's function body in float (ONNX Runtime has no FLOAT16 kernel, and the body's FLOAT
        epsilon makes it ill-typed for FLOAT16)."""
        x = feeds["x"].astype(np.float32)
        mean = x.mean(axis=(0, 2, 3), keepdims=True)
        deviation = np.sqrt((x * x).mean(axis=(0, 2, 3), keepdims=True) - mean * mean)
        return ((x - mean) / (deviation + np.float32(1e-9))).astype(dtype)

    _check(model, {"x": _floats(shape, dtype, seed=8) + 1}, tolerance=1e-5 if dtype == np.float32 else 2e-3,
           reference=formula if dtype == np.float16 else "onnxruntime")


# -- generators -------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape, input_type, attrs, reference", [
    ((4, 4), I32, {}, "onnxruntime"),
    ((3, 5), F, {"k": 2, "dtype": F}, "onnxruntime"),
    ((5, 3), F, {"k": -1, "dtype": I64}, "onnxruntime"),
    ((2, 7), I64, {"k": 9}, "onnxruntime"),  # past the last column: all zero
    ((3, 5), F, {"k": 1, "dtype": B}, "onnx"),
    ((5, 2), H, {"k": -2}, "onnx"),
])
def test_eye_like_matches_onnxruntime(shape: Tuple[int, int], input_type: int, attrs: Dict[str, Any],
                                      reference: str) -> None:
    output_type = attrs.get("dtype", input_type)
    x = (np.random.default_rng(9).random(shape) * 10).astype(helper.tensor_dtype_to_np_dtype(input_type))
    _check(_model(N("EyeLike", ["x"], ["y"], **attrs), [("x", input_type, shape)], output_type, 11), {"x": x},
           reference=reference)


ONE_HOT = [
    # (indices type, values type, depth type, axis, run-time values, reference)
    (I64, F, I64, -1, False, "onnxruntime"),
    (I64, F, I64, 0, True, "onnxruntime"),
    (I64, I64, I64, 1, False, "onnxruntime"),
    (I32, F, I32, -2, True, "onnxruntime"),
    (F, F, F, 2, False, "onnxruntime"),  # float indices truncated
    (I64, H, I64, -3, True, "onnxruntime"),
    (I8, I32, I64, 1, False, "numpy"),  # types ONNX Runtime has no kernel for
    (U8, B, I64, -1, True, "numpy"),
]


def _one_hot(indices: np.ndarray, depth: int, values: np.ndarray, axis: int) -> np.ndarray:
    """OneHot in NumPy, as ONNX's reference (which cannot make BOOL outputs): negative indices
    count from the end of depth, out-of-range ones match nothing."""
    wrapped = np.where(indices < 0, indices.astype(np.int64) + depth, indices.astype(np.int64))
    axis = axis + indices.ndim + 1 if axis < 0 else axis
    hits = np.expand_dims(wrapped, axis) == np.arange(depth).reshape([-1] + [1] * (indices.ndim - axis))
    return np.where(hits, values[1], values[0]).astype(values.dtype)


@pytest.mark.parametrize("index_type, value_type, depth_type, axis, runtime_values, reference", ONE_HOT)
def test_one_hot_matches_onnxruntime(index_type: int, value_type: int, depth_type: int, axis: int,
                                     runtime_values: bool, reference: str) -> None:
    depth = 7
    rng = np.random.default_rng(axis + 10)
    indices = rng.integers(-depth - 2, depth + 2, (3, 5)).astype(np.float64)
    if index_type in (F, H):
        indices += rng.uniform(-0.9, 0.9, indices.shape)
    if index_type == U8:
        indices = np.abs(indices)
    indices = indices.astype(helper.tensor_dtype_to_np_dtype(index_type))
    values = np.array([2, 5] if value_type != B else [False, True], helper.tensor_dtype_to_np_dtype(value_type))
    inputs: List[Spec] = [("indices", index_type, indices.shape)]
    initializers = {"depth": np.array(depth, helper.tensor_dtype_to_np_dtype(depth_type))}
    feeds = {"indices": indices}
    if runtime_values:
        inputs.append(("values", value_type, (2,)))
        feeds["values"] = values
    else:
        initializers["values"] = values
    model = _model(N("OneHot", ["indices", "depth", "values"], ["y"], axis=axis), inputs, value_type, 11, initializers)
    if reference == "numpy":
        reference = lambda feeds: _one_hot(indices, depth, values, axis)  # noqa: E731
    got = _check(model, feeds, reference=reference)
    assert got.shape[axis] == depth


def test_one_hot_shrink_and_hardmax_engine_with_a_dynamic_batch() -> None:
    graph = helper.make_graph(
        [N("OneHot", ["indices", "depth", "values"], ["one_hot"], axis=1),
         N("Shrink", ["small"], ["shrunk"], lambd=1.5, bias=1.5),
         N("Hardmax", ["x"], ["hard"], axis=1)],
        "engine",
        [helper.make_tensor_value_info("indices", I64, ["b", 3]), helper.make_tensor_value_info("values", F, [2]),
         helper.make_tensor_value_info("small", I8, ["b", 5]), helper.make_tensor_value_info("x", F, ["b", 7, 3])],
        [helper.make_tensor_value_info("one_hot", F, None), helper.make_tensor_value_info("shrunk", I8, None),
         helper.make_tensor_value_info("hard", F, None)],
        [onnx.numpy_helper.from_array(np.array(5, np.int64), "depth")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 10
    rng = np.random.default_rng(12)
    inputs = {"indices": rng.integers(-7, 7, (3, 3)), "values": np.array([-1.5, 4.0], np.float32),
              "small": rng.integers(-128, 128, (3, 5)).astype(np.int8), "x": np.round(_floats((3, 7, 3), seed=13))}
    profiles = {"indices": ((1, 3), (3, 3), (4, 3)), "small": ((1, 5), (3, 5), (4, 5)),
                "x": ((1, 7, 3), (3, 7, 3), (4, 7, 3))}
    report = compare_with_onnxruntime(model.SerializeToString(), inputs=inputs, profiles=profiles, atol=0, rtol=0)
    report.assert_passed()


# -- refusals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("node, inputs, opset, initializers, code, message", [
    (N("Celu", ["x"], ["y"], alpha=0.0), [("x", F, (2, 3))], 12, None, ErrorCode.UNSUPPORTED_NODE_ATTR,
     "Celu with alpha = 0.0 is not supported: its formula divides x by alpha"),
    (N("Softsign", ["x"], ["y"]), [("x", I32, (2, 3))], 11, None, ErrorCode.UNSUPPORTED_NODE_DATATYPE,
     "Softsign needs a FLOAT or FLOAT16 input, got INT32"),
    (N("Hardmax", ["x"], ["y"]), [("x", F, (2, "n"))], 13, None, ErrorCode.UNSUPPORTED_NODE_DYNAMIC,
     "Hardmax along axis 1, whose extent is known only at run time"),
    (N("Hardmax", ["x"], ["y"], axis=0), [("x", F, (2, "n"))], 11, None, ErrorCode.UNSUPPORTED_NODE_DYNAMIC,
     "Hardmax (opset < 13) over axes 0..1 flattened, whose extents are known only at run time"),
    (N("Shrink", ["x"], ["y"]), [("x", B, (4,))], 11, None, ErrorCode.UNSUPPORTED_NODE_DATATYPE,
     "Shrink needs a numeric input, got BOOL"),
    (N("RMSNormalization", ["x", "s"], ["y"], stash_type=10), [("x", H, (2, 3)), ("s", H, (3,))], 23, None,
     ErrorCode.UNSUPPORTED_NODE_ATTR, "stash_type = 10 (FLOAT16) is not supported"),
    (N("RMSNormalization", ["x", "s"], ["y"]), [("x", H, (2, 3)), ("s", F, (3,))], 23, None,
     ErrorCode.UNSUPPORTED_NODE_DATATYPE, "X of type HALF and scale of type FLOAT is not supported"),
    (N("RMSNormalization", ["x", "s"], ["y"]), [("x", F, (2, 3)), ("s", F, (2, 1, 3))], 23, None,
     ErrorCode.INVALID_NODE, "scale of shape [2, 1, 3] has a higher rank than X [2, 3]"),
    (N("MeanVarianceNormalization", ["x"], ["y"]), [("x", F, (2, 3, 5))], 13, None, ErrorCode.INVALID_NODE,
     "axes [0, 2, 3] do not fit an input X of rank 3"),
    (N("EyeLike", ["x"], ["y"]), [("x", F, ("n", 3))], 11, None, ErrorCode.UNSUPPORTED_NODE_DYNAMIC,
     "EyeLike of an input whose shape"),
    (N("EyeLike", ["x"], ["y"], dtype=TensorProto.DOUBLE), [("x", F, (3, 3))], 11, None,
     ErrorCode.UNSUPPORTED_NODE_DATATYPE, "EyeLike with dtype DOUBLE is not supported"),
    (N("EyeLike", ["x"], ["y"]), [("x", F, (2, 3, 4))], 11, None, ErrorCode.INVALID_NODE,
     "EyeLike needs an input of rank 2, got rank 3"),
    (N("OneHot", ["i", "d", "v"], ["y"]), [("i", I64, (3,)), ("d", I64, ()), ("v", F, (2,))], 11, None,
     ErrorCode.UNSUPPORTED_NODE_INPUT, "input 1 (depth) of OneHot must be a constant known at parse time"),
    (N("OneHot", ["i", "d", "v"], ["y"]), [("i", I64, (3,))], 11,
     {"d": np.array(0, np.int64), "v": np.array([0, 1], np.float32)}, ErrorCode.UNSUPPORTED_NODE_SHAPE,
     "OneHot with depth 0 (an empty output) is not supported"),
    (N("OneHot", ["i", "d", "v"], ["y"]), [("i", I64, (3,))], 11,
     {"d": np.array(4, np.int64), "v": np.array([0, 1, 2], np.float32)}, ErrorCode.INVALID_NODE,
     "OneHot's values must hold two elements [off, on], got shape [3]"),
    (N("OneHot", ["i", "d", "v"], ["y"]), [("i", I64, ())], 11,
     {"d": np.array(4, np.int64), "v": np.array([0, 1], np.float32)}, ErrorCode.INVALID_NODE,
     "OneHot's indices must have rank 1 or more, got a scalar"),
])
def test_refusals_name_the_node(node: onnx.NodeProto, inputs: Sequence[Spec], opset: int,
                                initializers: Optional[Dict[str, np.ndarray]], code: ErrorCode, message: str) -> None:
    node.name = "the_node"
    (error,) = parse_errors(_model(node, inputs, F, opset, initializers))
    assert error.node_name() == "the_node" and error.node_operator() == node.op_type
    assert error.code() == code and message in error.desc(), error.desc()
