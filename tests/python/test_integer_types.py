"""Integer and BOOL tensors through the ONNX parser, the builder and the runtime, against ONNX
Runtime: arithmetic (wrapping, truncating division), comparisons, logic, Where, Clip, Max/Min,
reductions, Cast, Relu, Abs/Neg, and shuffles / Concat of integers; MatMul with batch axes that
broadcast both ways."""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import mlprt.backend as backend

INT_TYPES = {np.int8: TensorProto.INT8, np.uint8: TensorProto.UINT8, np.int32: TensorProto.INT32,
             np.int64: TensorProto.INT64}
ONNX_OF = {**INT_TYPES, np.float32: TensorProto.FLOAT, np.float16: TensorProto.FLOAT16, np.bool_: TensorProto.BOOL}


def _model(nodes: Sequence[onnx.NodeProto], inputs: Dict[str, np.ndarray], outputs: Dict[str, type],
           opset: int = 17) -> onnx.ModelProto:
    graph = helper.make_graph(
        list(nodes), "integers",
        [helper.make_tensor_value_info(n, ONNX_OF[v.dtype.type], v.shape) for n, v in inputs.items()],
        [helper.make_tensor_value_info(n, ONNX_OF[t], None) for n, t in outputs.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return _with_output_shapes(model)


def _with_output_shapes(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model with its outputs' shapes filled in by ONNX's shape inference."""
    inferred = onnx.shape_inference.infer_shapes(model)
    known = {v.name: v for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    for output in model.graph.output:
        if output.name in known and known[output.name].type.tensor_type.HasField("shape"):
            output.type.CopyFrom(known[output.name].type)
    return model


def _check(model: onnx.ModelProto, inputs: Dict[str, np.ndarray]) -> List[np.ndarray]:
    """Runs the model on mlprt and on ONNX Runtime; integer and BOOL outputs must be equal
    (same dtype), floating ones within 1e-5."""
    expected = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, inputs)
    actual = list(backend.prepare(model).run(inputs))
    for got, want in zip(actual, expected):
        assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, got.shape, want.dtype, want.shape)
        if want.dtype.kind in "biu":
            np.testing.assert_array_equal(got, want)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    return actual


def _ints(rng: np.random.Generator, dtype: type, shape: Tuple[int, ...], nonzero: bool = False) -> np.ndarray:
    info = np.iinfo(dtype)
    low, high = max(int(info.min), -1000), min(int(info.max), 1000)
    values = rng.integers(low, high + 1, size=shape).astype(dtype)
    if nonzero:
        values[values == 0] = 3
    return values


@pytest.mark.parametrize("dtype", list(INT_TYPES), ids=lambda t: np.dtype(t).name)
def test_integer_arithmetic_matches_onnxruntime(dtype: type, rng: np.random.Generator) -> None:
    a = _ints(rng, dtype, (3, 1, 7))
    b = _ints(rng, dtype, (5, 7), nonzero=True)
    nodes = [helper.make_node(op, ["a", "b"], [op.lower()]) for op in ("Add", "Sub", "Mul", "Div", "Max", "Min")]
    outputs = {op.lower(): dtype for op in ("Add", "Sub", "Mul", "Div", "Max", "Min")}
    _check(_model(nodes, {"a": a, "b": b}, outputs), {"a": a, "b": b})


def test_integer_division_truncates_toward_zero(rng: np.random.Generator) -> None:
    a = np.array([7, -7, 7, -7, 1, -1, 0, 2**31 - 1], np.int32)
    b = np.array([2, 2, -2, -2, 3, 3, 5, -1], np.int32)
    result = _check(_model([helper.make_node("Div", ["a", "b"], ["y"])], {"a": a, "b": b}, {"y": np.int32}),
                    {"a": a, "b": b})
    np.testing.assert_array_equal(result[0], [3, -3, -3, 3, 0, 0, 0, -(2**31 - 1)])


def test_integer_pow_and_mixed_pow(rng: np.random.Generator) -> None:
    base = _ints(rng, np.int64, (13,)) % 9 - 4
    exponent = np.abs(_ints(rng, np.int64, (13,))) % 5
    real_exponent = rng.uniform(0.0, 2.0, (13,)).astype(np.float32)
    positive = (np.abs(_ints(rng, np.int32, (13,))) % 50 + 1).astype(np.int32)
    model = _model([helper.make_node("Pow", ["x", "e"], ["y"]), helper.make_node("Pow", ["p", "f"], ["z"])],
                   {"x": base, "e": exponent, "p": positive, "f": real_exponent}, {"y": np.int64, "z": np.int32})
    _check(model, {"x": base, "e": exponent, "p": positive, "f": real_exponent})


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.uint8], ids=lambda t: np.dtype(t).name)
def test_comparisons_give_bool(dtype: type, rng: np.random.Generator) -> None:
    if dtype == np.float32:
        a = rng.integers(-3, 4, (4, 6)).astype(np.float32)
        b = rng.integers(-3, 4, (6,)).astype(np.float32)
        a[0, 0] = np.nan
    else:
        a, b = _ints(rng, dtype, (4, 6)) % 4, _ints(rng, dtype, (6,)) % 4  # small: many equal pairs
    ops = ("Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual")
    nodes = [helper.make_node(op, ["a", "b"], [op.lower()]) for op in ops]
    _check(_model(nodes, {"a": a, "b": b}, {op.lower(): np.bool_ for op in ops}), {"a": a, "b": b})


def test_logic_where_and_not(rng: np.random.Generator) -> None:
    p = rng.integers(0, 2, (2, 5)).astype(np.bool_)
    q = rng.integers(0, 2, (5,)).astype(np.bool_)
    x = rng.standard_normal((2, 5)).astype(np.float32)
    y = rng.standard_normal((1, 5)).astype(np.float32)
    i = _ints(rng, np.int64, (2, 5))
    nodes = [helper.make_node("And", ["p", "q"], ["and"]), helper.make_node("Or", ["p", "q"], ["or"]),
             helper.make_node("Xor", ["p", "q"], ["xor"]), helper.make_node("Not", ["p"], ["not"]),
             helper.make_node("Where", ["p", "x", "y"], ["where"]),
             helper.make_node("Greater", ["x", "y"], ["gt"]),
             helper.make_node("Where", ["gt", "i", "i_neg"], ["where_int"]),
             helper.make_node("Neg", ["i"], ["i_neg"])]
    nodes = nodes[:6] + [nodes[7], nodes[6]]
    inputs = {"p": p, "q": q, "x": x, "y": y, "i": i}
    outputs = {"and": np.bool_, "or": np.bool_, "xor": np.bool_, "not": np.bool_, "where": np.float32,
               "gt": np.bool_, "i_neg": np.int64, "where_int": np.int64}
    _check(_model(nodes, inputs, outputs), inputs)


def test_clip_relu_abs_on_integers(rng: np.random.Generator) -> None:
    x = _ints(rng, np.int32, (3, 11))
    low, high = np.array(-50, np.int32), np.array(70, np.int32)
    nodes = [helper.make_node("Clip", ["x", "low", "high"], ["clip"]), helper.make_node("Relu", ["x"], ["relu"]),
             helper.make_node("Abs", ["x"], ["abs"])]
    model = _model(nodes, {"x": x, "low": low, "high": high}, {"clip": np.int32, "relu": np.int32, "abs": np.int32})
    _check(model, {"x": x, "low": low, "high": high})


@pytest.mark.parametrize("dtype", [np.int32, np.int64], ids=lambda t: np.dtype(t).name)
def test_integer_reductions(dtype: type, rng: np.random.Generator) -> None:
    x = _ints(rng, dtype, (3, 5, 7)) % 20
    ops = ("ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceMean")
    nodes = [helper.make_node(op, ["x"], [op.lower()], axes=[1], keepdims=1) for op in ops[1:]]
    nodes.insert(0, helper.make_node("ReduceSum", ["x", "axes"], ["reducesum"], keepdims=0))
    graph_inputs = {"x": x}
    model = _model(nodes, graph_inputs, {op.lower(): dtype for op in ops})
    model.graph.initializer.append(onnx.numpy_helper.from_array(np.array([1, 2], np.int64), "axes"))
    model = _with_output_shapes(model)
    # ReduceMax/Min/Prod/Mean take axes as an attribute until opset 18.
    _check(model, {"x": x})


def test_cast_between_every_type(rng: np.random.Generator) -> None:
    x = (rng.standard_normal((4, 6)) * 40).astype(np.float32)
    x[0, :3] = 0.0
    nodes, outputs = [], {}
    for name, (to, dtype) in {"i8": (TensorProto.INT8, np.int8), "u8": (TensorProto.UINT8, np.uint8),
                              "i32": (TensorProto.INT32, np.int32), "i64": (TensorProto.INT64, np.int64),
                              "b": (TensorProto.BOOL, np.bool_), "h": (TensorProto.FLOAT16, np.float16)}.items():
        nodes.append(helper.make_node("Cast", ["x_small" if name in ("i8", "u8") else "x"], [name], to=to))
        outputs[name] = dtype
    nodes.append(helper.make_node("Cast", ["i64"], ["back"], to=TensorProto.FLOAT))
    nodes.insert(0, helper.make_node("Abs", ["x"], ["x_small"]))
    outputs["back"] = np.float32
    x = np.clip(x, -100, 100)
    _check(_model(nodes, {"x": x}, outputs), {"x": x})


def test_shuffles_and_concat_of_integers(rng: np.random.Generator) -> None:
    a = _ints(rng, np.int64, (2, 3, 4))
    b = _ints(rng, np.int64, (2, 3, 5))
    shape = np.array([4, 2, 3], np.int64)
    nodes = [helper.make_node("Concat", ["a", "b"], ["cat"], axis=2),
             helper.make_node("Transpose", ["a"], ["t"], perm=[2, 0, 1]),
             helper.make_node("Reshape", ["t", "shape"], ["r"]),
             helper.make_node("Identity", ["r"], ["id"])]
    model = _model(nodes, {"a": a, "b": b}, {"cat": np.int64, "id": np.int64})
    model.graph.initializer.append(onnx.numpy_helper.from_array(shape, "shape"))
    model = _with_output_shapes(model)
    _check(model, {"a": a, "b": b})


def test_bool_inputs_and_outputs_pass_through_the_engine(rng: np.random.Generator) -> None:
    p = rng.integers(0, 2, (7,)).astype(np.bool_)
    q = rng.integers(0, 2, (7,)).astype(np.bool_)
    _check(_model([helper.make_node("Equal", ["p", "q"], ["eq"])], {"p": p, "q": q}, {"eq": np.bool_}),
           {"p": p, "q": q})


def test_arithmetic_on_bool_is_refused_naming_the_node() -> None:
    p = np.array([True, False])
    model = _model([helper.make_node("Not", ["p"], ["n"]), helper.make_node("Abs", ["n"], ["y"], name="abs_of_bool")],
                   {"p": p}, {"y": np.bool_}, opset=17)
    model.graph.node[1].op_type = "Neg"  # Neg is not defined on BOOL either; the checker ran already
    with pytest.raises(backend.BackendError, match="abs_of_bool"):
        backend.prepare(model).run({"p": p})


@pytest.mark.parametrize("shapes", [((3, 1, 3, 4), (1, 2, 4, 2)), ((2, 1, 5, 3), (4, 3, 2)), ((5, 3), (2, 1, 3, 4))])
def test_matmul_broadcasts_batch_axes_of_both_operands(shapes: Tuple[Tuple[int, ...], Tuple[int, ...]],
                                                        rng: np.random.Generator) -> None:
    a = rng.standard_normal(shapes[0]).astype(np.float32)
    b = rng.standard_normal(shapes[1]).astype(np.float32)
    _check(_model([helper.make_node("MatMul", ["a", "b"], ["y"])], {"a": a, "b": b}, {"y": np.float32}),
           {"a": a, "b": b})


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.int8, np.float32], ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("fmod", [0, 1])
def test_mod_takes_the_sign_onnx_says(dtype: type, fmod: int, rng: np.random.Generator) -> None:
    if dtype == np.float32:
        a = (rng.standard_normal((4, 9)) * 20).astype(np.float32)
        b = (rng.standard_normal((9,)) * 5).astype(np.float32)
    else:
        a, b = _ints(rng, dtype, (4, 9)), _ints(rng, dtype, (9,), nonzero=True) % 13
        b[b == 0] = -7
    opset = 28 if dtype == np.float32 and fmod == 0 else 17  # floats take fmod=0 from opset 28
    _check(_model([helper.make_node("Mod", ["a", "b"], ["y"], fmod=fmod)], {"a": a, "b": b}, {"y": dtype}, opset),
           {"a": a, "b": b})


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_], ids=lambda t: np.dtype(t).name)
def test_expand_to_a_constant_shape(dtype: type, rng: np.random.Generator) -> None:
    x = (rng.standard_normal((3, 1)) * 5).astype(dtype)
    model = _model([helper.make_node("Expand", ["x", "shape"], ["y"])], {"x": x}, {"y": dtype})
    model.graph.initializer.append(onnx.numpy_helper.from_array(np.array([2, 1, 6], np.int64), "shape"))
    _check(_with_output_shapes(model), {"x": x})
