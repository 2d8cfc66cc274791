"""Per-operator tests of the ONNX parser (models built with onnx.helper, compared with ONNX
Runtime through the NumPy network evaluator), shape folding, and error reporting."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import mlprt
from mlprt.onnx_parser import ErrorCode, OnnxParser, ParserError
from mlprt.onnx_parser.markdown import support_matrix_markdown
from network_reference import evaluate
from test_onnx_parser_helpers import (F, RecordingLogger, check_against_onnxruntime, layers, make_model,
                                      parse, parse_errors)

REPO = Path(__file__).resolve().parents[2]
N = helper.make_node


def _r(rng: np.random.Generator, *shape: int, positive: bool = False) -> np.ndarray:
    x = rng.standard_normal(shape).astype(np.float32)
    return (np.abs(x) + 0.1).astype(np.float32) if positive else x


# Each case: (nodes, inputs with shapes, outputs, initializer shapes/values, opset, positive inputs)
Case = Tuple[List[onnx.NodeProto], List[Tuple[str, Tuple[int, ...]]], Dict[str, object], int]


def _unary_case(op: str, opset: int = 17, **attrs: object) -> Case:
    return [N(op, ["x"], ["y"], **attrs)], [("x", (3, 5, 7))], {}, opset


CASES: Dict[str, Case] = {
    # Gemm
    "gemm": ([N("Gemm", ["a", "b", "c"], ["y"])], [("a", (4, 6))], {"b": (6, 5), "c": (5,)}, 17),
    "gemm_transB_alpha_beta": ([N("Gemm", ["a", "b", "c"], ["y"], transB=1, alpha=0.7, beta=-1.3)],
                               [("a", (4, 6))], {"b": (5, 6), "c": (1, 5)}, 17),
    "gemm_transA_full_bias": ([N("Gemm", ["a", "b", "c"], ["y"], transA=1)], [("a", (6, 4))],
                              {"b": (6, 5), "c": (4, 5)}, 17),
    "gemm_column_bias": ([N("Gemm", ["a", "b", "c"], ["y"])], [("a", (4, 6))], {"b": (6, 5), "c": (4, 1)}, 17),
    "gemm_scalar_bias": ([N("Gemm", ["a", "b", "c"], ["y"], beta=0.5)], [("a", (4, 6))],
                         {"b": (6, 5), "c": np.array(2.5, np.float32)}, 17),
    "gemm_no_bias": ([N("Gemm", ["a", "b"], ["y"], transA=1, transB=1)], [("a", (6, 4))], {"b": (5, 6)}, 17),
    "gemm_runtime_b": ([N("Gemm", ["a", "b", "c"], ["y"], alpha=2.0, beta=3.0)], [("a", (4, 6)), ("b", (6, 5))],
                       {"c": (5,)}, 17),
    # MatMul
    "matmul_2d": ([N("MatMul", ["a", "b"], ["y"])], [("a", (4, 6))], {"b": (6, 5)}, 17),
    "matmul_batched": ([N("MatMul", ["a", "b"], ["y"])], [("a", (3, 4, 6)), ("b", (3, 6, 5))], {}, 17),
    "matmul_broadcast_weights": ([N("MatMul", ["a", "b"], ["y"])], [("a", (2, 3, 4, 6))], {"b": (6, 5)}, 17),
    "matmul_broadcast_batch": ([N("MatMul", ["a", "b"], ["y"])], [("a", (2, 1, 4, 6)), ("b", (1, 3, 6, 5))], {}, 17),
    "matmul_lhs_2d": ([N("MatMul", ["a", "b"], ["y"])], [("a", (4, 6)), ("b", (3, 6, 5))], {}, 17),
    "matmul_vector_lhs": ([N("MatMul", ["a", "b"], ["y"])], [("a", (6,))], {"b": (2, 6, 5)}, 17),
    "matmul_vector_rhs": ([N("MatMul", ["a", "b"], ["y"])], [("a", (3, 4, 6)), ("b", (6,))], {}, 17),
    # Elementwise
    "add_broadcast": ([N("Add", ["a", "b"], ["y"])], [("a", (3, 4))], {"b": (4,)}, 17),
    "sub_ranks": ([N("Sub", ["a", "b"], ["y"])], [("a", (4,)), ("b", (2, 3, 4))], {}, 17),
    "mul_middle": ([N("Mul", ["a", "b"], ["y"])], [("a", (2, 3, 4)), ("b", (3, 1))], {}, 17),
    "div_scalar": ([N("Div", ["a", "b"], ["y"])], [("a", (2, 3))], {"b": np.array(-2.5, np.float32)}, 17),
    "pow": ([N("Pow", ["a", "b"], ["y"])], [("a+", (2, 5))], {"b": np.array([2.0, 0.5, 3.0, 1.5, -1.0], np.float32)}, 17),
    "min_variadic": ([N("Min", ["a", "b", "c"], ["y"])], [("a", (2, 3, 4)), ("b", (4,))], {"c": (3, 1)}, 17),
    "max_variadic": ([N("Max", ["a", "b", "c"], ["y"])], [("a", (2, 3, 4)), ("b", (1, 4))], {"c": (3, 1)}, 17),
    "max_single": ([N("Max", ["a"], ["y"])], [("a", (2, 3))], {}, 17),
    "sum_mean": ([N("Sum", ["a", "b"], ["s"]), N("Mean", ["s", "a", "b"], ["y"])], [("a", (2, 3)), ("b", (3,))], {}, 17),
    # Activations
    "relu": _unary_case("Relu"),
    "sigmoid": _unary_case("Sigmoid"),
    "tanh": _unary_case("Tanh"),
    "leaky_relu": _unary_case("LeakyRelu", alpha=0.2),
    "leaky_relu_default": _unary_case("LeakyRelu"),
    "elu": _unary_case("Elu", alpha=0.6),
    "selu": _unary_case("Selu"),
    "selu_custom": _unary_case("Selu", alpha=1.5, gamma=0.8),
    "softplus": _unary_case("Softplus"),
    "hard_sigmoid": _unary_case("HardSigmoid"),
    "hard_sigmoid_custom": _unary_case("HardSigmoid", alpha=0.3, beta=0.4),
    "hard_swish": _unary_case("HardSwish"),
    "gelu": _unary_case("Gelu", opset=20),
    "gelu_tanh": _unary_case("Gelu", opset=20, approximate="tanh"),
    "erf": _unary_case("Erf"),
    "exp": _unary_case("Exp"),
    "log": ([N("Log", ["x"], ["y"])], [("x+", (3, 5))], {}, 17),
    "sqrt": ([N("Sqrt", ["x"], ["y"])], [("x+", (3, 5))], {}, 17),
    "neg": _unary_case("Neg"),
    "abs": _unary_case("Abs"),
    "floor": _unary_case("Floor"),
    "ceil": _unary_case("Ceil"),
    "round": _unary_case("Round"),
    "sign": _unary_case("Sign"),
    "sin": _unary_case("Sin"),
    "cos": _unary_case("Cos"),
    "atan": _unary_case("Atan"),
    "sinh": _unary_case("Sinh"),
    "asinh": _unary_case("Asinh"),
    "reciprocal": ([N("Reciprocal", ["x"], ["y"])], [("x+", (3, 5))], {}, 17),
    "prelu_scalar": ([N("PRelu", ["x", "s"], ["y"])], [("x", (4, 6))], {"s": np.array([0.3], np.float32)}, 17),
    "prelu_channels": ([N("PRelu", ["x", "s"], ["y"])], [("x", (4, 6))], {"s": (6,)}, 17),
    "prelu_runtime_slope": ([N("PRelu", ["x", "s"], ["y"])], [("x", (2, 3, 4)), ("s", (3, 1))], {}, 17),
    "clip": ([N("Clip", ["x", "lo", "hi"], ["y"])], [("x", (3, 5))],
             {"lo": np.array(-0.5, np.float32), "hi": np.array(0.7, np.float32)}, 11),
    "clip_min_only": ([N("Clip", ["x", "lo"], ["y"])], [("x", (3, 5))], {"lo": np.array(-0.2, np.float32)}, 13),
    "clip_max_only": ([N("Clip", ["x", "", "hi"], ["y"])], [("x", (3, 5))], {"hi": np.array(0.3, np.float32)}, 13),
    "clip_no_bounds": ([N("Clip", ["x"], ["y"])], [("x", (3, 5))], {}, 13),
    "clip_runtime_bounds": ([N("Clip", ["x", "lo", "hi"], ["y"])], [("x", (3, 5)), ("lo", ()), ("hi", ())], {}, 13),
    # Softmax family
    "softmax_last": ([N("Softmax", ["x"], ["y"])], [("x", (2, 3, 5))], {}, 13),
    "softmax_axis0": ([N("Softmax", ["x"], ["y"], axis=0)], [("x", (2, 3, 5))], {}, 13),
    "softmax_axis1": ([N("Softmax", ["x"], ["y"], axis=-2)], [("x", (2, 3, 5))], {}, 13),
    "softmax_opset11_coerced": ([N("Softmax", ["x"], ["y"])], [("x", (2, 3, 5))], {}, 11),
    "softmax_opset11_axis0": ([N("Softmax", ["x"], ["y"], axis=0)], [("x", (2, 3, 5))], {}, 11),
    "log_softmax": ([N("LogSoftmax", ["x"], ["y"], axis=1)], [("x", (2, 3, 5))], {}, 13),
    "log_softmax_opset11_coerced": ([N("LogSoftmax", ["x"], ["y"])], [("x", (2, 3, 5))], {}, 11),
    # Layout
    "flatten_axis0": ([N("Flatten", ["x"], ["y"], axis=0)], [("x", (2, 3, 4, 5))], {}, 17),
    "flatten_default": ([N("Flatten", ["x"], ["y"])], [("x", (2, 3, 4, 5))], {}, 17),
    "flatten_axis2": ([N("Flatten", ["x"], ["y"], axis=2)], [("x", (2, 3, 4, 5))], {}, 17),
    "flatten_axis_neg": ([N("Flatten", ["x"], ["y"], axis=-1)], [("x", (2, 3, 4, 5))], {}, 17),
    "reshape_zero_minus_one": ([N("Reshape", ["x", "s"], ["y"])], [("x", (2, 3, 4, 5))],
                               {"s": np.array([0, -1, 5], np.int64)}, 17),
    "reshape_allowzero": ([N("Reshape", ["x", "s"], ["y"], allowzero=1)], [("x", (2, 3, 4))],
                          {"s": np.array([4, 6], np.int64)}, 17),
    "transpose_default": ([N("Transpose", ["x"], ["y"])], [("x", (2, 3, 4))], {}, 17),
    "transpose_perm": ([N("Transpose", ["x"], ["y"], perm=[1, 2, 0])], [("x", (2, 3, 4))], {}, 17),
    "unsqueeze_attr": ([N("Unsqueeze", ["x"], ["y"], axes=[0, 3])], [("x", (2, 3))], {}, 11),
    "unsqueeze_input": ([N("Unsqueeze", ["x", "ax"], ["y"])], [("x", (2, 3))], {"ax": np.array([-1, 1], np.int64)}, 13),
    "squeeze_attr": ([N("Squeeze", ["x"], ["y"], axes=[1])], [("x", (2, 1, 3, 1))], {}, 11),
    "squeeze_input": ([N("Squeeze", ["x", "ax"], ["y"])], [("x", (2, 1, 3, 1))], {"ax": np.array([-1, 1], np.int64)}, 13),
    "squeeze_all": ([N("Squeeze", ["x"], ["y"])], [("x", (1, 2, 1, 3))], {}, 13),
    "concat": ([N("Concat", ["a", "b", "c"], ["y"], axis=1)], [("a", (2, 3, 4)), ("b", (2, 1, 4))], {"c": (2, 2, 4)}, 17),
    "concat_negative_axis": ([N("Concat", ["a", "b"], ["y"], axis=-1)], [("a", (2, 3)), ("b", (2, 5))], {}, 17),
    "identity": ([N("Identity", ["x"], ["t"]), N("Relu", ["t"], ["y"])], [("x", (2, 3))], {}, 17),
    "dropout": ([N("Dropout", ["x", "ratio"], ["y"])], [("x", (2, 3))], {"ratio": np.array(0.5, np.float32)}, 13),
    # Normalization
    "batchnorm_2d": ([N("BatchNormalization", ["x", "g", "b", "m", "v"], ["y"], epsilon=1e-3)], [("x", (4, 6))],
                     {"g": (6,), "b": (6,), "m": (6,), "v+": (6,)}, 15),
    "batchnorm_4d": ([N("BatchNormalization", ["x", "g", "b", "m", "v"], ["y"])], [("x", (2, 3, 4, 5))],
                     {"g": (3,), "b": (3,), "m": (3,), "v+": (3,)}, 11),
    "layernorm": ([N("LayerNormalization", ["x", "g", "b"], ["y"], epsilon=1e-3)], [("x", (2, 3, 8))],
                  {"g": (8,), "b": (8,)}, 17),
    "layernorm_axis1_no_bias": ([N("LayerNormalization", ["x", "g"], ["y"], axis=1)], [("x", (2, 3, 8))],
                                {"g": (3, 8)}, 17),
    # Reductions
    "reduce_mean_attr": ([N("ReduceMean", ["x"], ["y"], axes=[1])], [("x", (2, 3, 4))], {}, 13),
    "reduce_mean_input": ([N("ReduceMean", ["x", "ax"], ["y"], keepdims=0)], [("x", (2, 3, 4))],
                          {"ax": np.array([0, -1], np.int64)}, 18),
    "reduce_sum_input": ([N("ReduceSum", ["x", "ax"], ["y"])], [("x", (2, 3, 4))], {"ax": np.array([2], np.int64)}, 13),
    "reduce_sum_attr_opset11": ([N("ReduceSum", ["x"], ["y"], axes=[0, 2], keepdims=0)], [("x", (2, 3, 4))], {}, 11),
    "reduce_sum_all": ([N("ReduceSum", ["x"], ["y"], keepdims=0)], [("x", (2, 3, 4))], {}, 13),
    "reduce_sum_noop": ([N("ReduceSum", ["x"], ["y"], noop_with_empty_axes=1)], [("x", (2, 3, 4))], {}, 13),
    "reduce_max": ([N("ReduceMax", ["x"], ["y"], axes=[-1])], [("x", (2, 3, 4))], {}, 13),
    "reduce_max_input": ([N("ReduceMax", ["x", "ax"], ["y"], keepdims=0)], [("x", (2, 3, 4))],
                         {"ax": np.array([1], np.int64)}, 18),
    # Constants and casts
    "constant_value": ([N("Constant", [], ["c"], value=helper.make_tensor("v", F, [3], [1.0, -2.0, 0.5])),
                        N("Mul", ["x", "c"], ["y"])], [("x", (2, 3))], {}, 17),
    "constant_value_float": ([N("Constant", [], ["c"], value_float=1.5), N("Add", ["x", "c"], ["y"])],
                             [("x", (2, 3))], {}, 17),
    "constant_value_floats": ([N("Constant", [], ["c"], value_floats=[1.0, 2.0, 3.0]), N("Sub", ["x", "c"], ["y"])],
                              [("x", (2, 3))], {}, 17),
    "constant_value_ints": ([N("Constant", [], ["s"], value_ints=[3, 2]), N("Reshape", ["x", "s"], ["y"])],
                            [("x", (2, 3))], {}, 17),
    "constant_of_shape": ([N("ConstantOfShape", ["s"], ["c"], value=helper.make_tensor("v", F, [1], [0.25])),
                           N("Add", ["x", "c"], ["y"])], [("x", (2, 3))], {"s": np.array([2, 3], np.int64)}, 17),
    "batchnorm_runtime_parameters": ([N("BatchNormalization", ["x", "g", "b", "m", "v"], ["y"])],
                                     [("x", (2, 3, 4, 5)), ("g", (3,)), ("b", (3,)), ("m", (3,)), ("v+", (3,))],
                                     {}, 15),
    "dropout_mask_is_all_true": ([N("Dropout", ["x"], ["d", "mask"]), N("Cast", ["mask"], ["y"], to=F)],
                                 [("x", (3, 4))], {}, 13),
    "cast_roundtrip": ([N("Cast", ["x"], ["h"], to=TensorProto.FLOAT16), N("Cast", ["h"], ["y"], to=F)],
                       [("x", (2, 3))], {}, 17),
}


def _build(case: Case, rng: np.random.Generator) -> Tuple[onnx.ModelProto, Dict[str, np.ndarray]]:
    nodes, inputs, inits, opset = case
    feeds, graph_inputs, initializers = {}, [], {}
    for name, shape in inputs:
        positive = name.endswith("+")
        name = name.rstrip("+")
        graph_inputs.append((name, F, shape))
        feeds[name] = _r(rng, *shape, positive=positive)
    for name, value in inits.items():
        positive = name.endswith("+")
        name = name.rstrip("+")
        initializers[name] = value if isinstance(value, np.ndarray) else _r(rng, *value, positive=positive)
    return make_model(nodes, graph_inputs, ["y"], initializers, opset), feeds


@pytest.mark.parametrize("case", sorted(CASES))
def test_operator_matches_onnxruntime(case: str, rng: np.random.Generator) -> None:
    model, feeds = _build(CASES[case], rng)
    network = check_against_onnxruntime(model, feeds)
    assert network.get_output(0).name == "y"


def test_activation_parameters(rng: np.random.Generator) -> None:
    expected = {"Softplus": (mlprt.ActivationType.SOFTPLUS, 1.0, 1.0),
                "HardSwish": (mlprt.ActivationType.HARD_SWISH, 1 / 6, 0.5),
                "Selu": (mlprt.ActivationType.SELU, 1.67326319, 1.05070102)}
    for op, (kind, alpha, beta) in expected.items():
        network, _ = parse(_build(_unary_case(op), rng)[0])
        (layer,) = layers(network)
        assert isinstance(layer, mlprt.IActivationLayer)
        assert layer.type == kind and layer.alpha == pytest.approx(alpha) and layer.beta == pytest.approx(beta)
    network, _ = parse(_build(CASES["clip"], rng)[0])
    clip = [l for l in layers(network) if isinstance(l, mlprt.IActivationLayer)]
    assert clip[0].type == mlprt.ActivationType.CLIP and (clip[0].alpha, clip[0].beta) == pytest.approx((-0.5, 0.7))


def test_gemm_is_matmul_plus_bias_with_transposed_constant(rng: np.random.Generator) -> None:
    network, _ = parse(_build(CASES["gemm_transB_alpha_beta"], rng)[0])
    kinds = [type(l).__name__ for l in layers(network)]
    assert kinds.count("IMatrixMultiplyLayer") == 1 and kinds.count("IElementWiseLayer") == 1
    mm = next(l for l in layers(network) if isinstance(l, mlprt.IMatrixMultiplyLayer))
    assert mm.get_operation(1) == mlprt.MatrixOperation.TRANSPOSE
    assert mm.get_input(1).shape == (5, 6)


def test_constant_subgraph_is_folded(rng: np.random.Generator) -> None:
    w = _r(rng, 4, 3)
    model = make_model([N("Transpose", ["w"], ["wt"]), N("Mul", ["wt", "two"], ["w2"]),
                        N("MatMul", ["x", "w2"], ["y"])], [("x", F, (5, 3))], ["y"],
                       {"w": w, "two": np.array(2.0, np.float32)})
    network = check_against_onnxruntime(model, {"x": _r(rng, 5, 3)})
    constants = [l for l in layers(network) if isinstance(l, mlprt.IConstantLayer)]
    assert len(constants) == 1 and constants[0].shape == (3, 4)
    np.testing.assert_allclose(constants[0].weights, 2 * w.T)


def _dynamic_flatten_chain(opset: int = 13) -> onnx.ModelProto:
    nodes = [N("Shape", ["x"], ["shape"]), N("Gather", ["shape", "zero"], ["batch"], axis=0),
             N("Unsqueeze", ["batch", "axes"], ["batch1"]), N("Concat", ["batch1", "minus1"], ["target"], axis=0),
             N("Reshape", ["x", "target"], ["flat"]), N("Relu", ["flat"], ["y"])]
    return make_model(nodes, [("x", F, ("N", 3, 4))], ["y"],
                      {"zero": np.array(0, np.int64), "axes": np.array([0], np.int64),
                       "minus1": np.array([-1], np.int64)}, opset)


@pytest.mark.parametrize("batch", [1, 7, 32])
def test_dynamic_batch_shape_chain_becomes_one_shuffle(batch: int, rng: np.random.Generator) -> None:
    model = _dynamic_flatten_chain()
    network = check_against_onnxruntime(model, {"x": _r(rng, batch, 3, 4)})
    assert network.get_input(0).shape == (-1, 3, 4)
    shuffles = [l for l in layers(network) if isinstance(l, mlprt.IShuffleLayer)]
    assert len(shuffles) == 1 and shuffles[0].reshape_dims == [0, 12]
    assert len(layers(network)) == 2
    assert network.get_output(0).shape == (-1, 12)


def test_shape_arithmetic_and_slice_fold(rng: np.random.Generator) -> None:
    """Shape -> Slice -> ReduceProd-free product via Mul, Cast, Concat -> Reshape."""
    nodes = [N("Shape", ["x"], ["s"]), N("Slice", ["s", "one", "three"], ["hw"]),
             N("Gather", ["hw", "zero"], ["h"]), N("Gather", ["hw", "one_s"], ["w"]),
             N("Mul", ["h", "w"], ["hw_prod"]), N("Cast", ["hw_prod"], ["hw64"], to=TensorProto.INT64),
             N("Unsqueeze", ["hw64", "axes"], ["hw1"]), N("Shape", ["x"], ["s2"], start=0, end=1),
             N("Concat", ["s2", "hw1"], ["target"], axis=0), N("Reshape", ["x", "target"], ["y"])]
    model = make_model(nodes, [("x", F, ("N", 3, 4))], ["y"],
                       {"one": np.array([1], np.int64), "three": np.array([3], np.int64),
                        "zero": np.array(0, np.int64), "one_s": np.array(1, np.int64),
                        "axes": np.array([0], np.int64)}, 15)
    network = check_against_onnxruntime(model, {"x": _r(rng, 6, 3, 4)})
    (shuffle,) = [l for l in layers(network) if isinstance(l, mlprt.IShuffleLayer)]
    assert shuffle.reshape_dims == [0, 12]


def test_unsqueeze_squeeze_with_two_dynamic_axes_use_transposes(rng: np.random.Generator) -> None:
    model = make_model([N("Unsqueeze", ["x", "ax"], ["u"]), N("Squeeze", ["u", "ax"], ["y"])],
                       [("x", F, ("A", "B", 3))], ["y"], {"ax": np.array([0], np.int64)}, 13)
    network = check_against_onnxruntime(model, {"x": _r(rng, 2, 5, 3)})
    assert network.get_output(0).shape == (-1, -1, 3)


def test_float16_io_and_dynamic_dims(rng: np.random.Generator) -> None:
    model = make_model([N("Relu", ["x"], ["y"])], [("x", TensorProto.FLOAT16, ("batch", None, 4))], ["y"],
                       output_type=TensorProto.FLOAT16)
    network, _ = parse(model)
    assert network.get_input(0).dtype == mlprt.DataType.HALF
    assert network.get_input(0).shape == (-1, -1, 4)
    assert network.get_output(0).dtype == mlprt.DataType.HALF
    x = _r(rng, 2, 3, 4).astype(np.float16)
    np.testing.assert_array_equal(evaluate(network, {"x": x})["y"], np.maximum(x, 0).astype(np.float64))


def test_cast_adds_cast_layer(rng: np.random.Generator) -> None:
    network, _ = parse(_build(CASES["cast_roundtrip"], rng)[0])
    casts = [l for l in layers(network) if isinstance(l, mlprt.IIdentityLayer)]
    assert [c.to_type for c in casts] == [mlprt.DataType.HALF, mlprt.DataType.FLOAT]


def test_graph_output_that_is_an_input_or_a_constant(rng: np.random.Generator) -> None:
    model = make_model([N("Identity", ["x"], ["y"]), N("Identity", ["c"], ["z"])], [("x", F, (2, 3))], ["y", "z"],
                       {"c": _r(rng, 3)})
    network = check_against_onnxruntime(model, {"x": _r(rng, 2, 3)})
    assert [network.get_output(i).name for i in range(2)] == ["y", "z"]


def test_softplus_threshold_pattern_of_the_dynamo_exporter(rng: np.random.Generator) -> None:
    nodes = [N("Softplus", ["x"], ["sp"]), N("Greater", ["x", "t"], ["big"]), N("Where", ["big", "x", "sp"], ["y"])]
    model = make_model(nodes, [("x", F, (4, 50))], ["y"], {"t": np.array(20.0, np.float32)})
    x = (_r(rng, 4, 50) * 15).astype(np.float32)
    network = check_against_onnxruntime(model, {"x": x})
    # The output is the Softplus itself: no select layer (the unused comparison is dead code that
    # the builder drops).
    softplus = layers(network)[0]
    assert softplus.type == mlprt.ActivationType.SOFTPLUS and network.get_output(0) == softplus.get_output(0)
    assert mlprt.LayerType.SELECT not in [layer.type for layer in layers(network)]


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"this is not an ONNX model \x00\xff\xfe", b"", b"\x08\x07"])
def test_malformed_bytes(data: bytes) -> None:
    errors = parse_errors(data)
    assert errors[0].code() == ErrorCode.MODEL_DESERIALIZE_FAILED
    assert errors[0].node() == -1 and "model" in str(errors[0])


def test_every_unsupported_operator_is_reported_at_once() -> None:
    nodes = [N("Relu", ["x"], ["a"], name="r"), N("MaxUnpool", ["a", "w"], ["b"], name="unpool1", kernel_shape=[1, 1]),
             N("Relu", ["b"], ["c"]), N("FancyOp", ["c"], ["y"], name="fancy", domain="com.example")]
    model = make_model(nodes, [("x", F, (1, 1, 4, 4))], ["y"], {"w": np.ones((1, 1, 3, 3), np.float32)})
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    errors = parse_errors(model)
    assert [(e.node(), e.node_name(), e.node_operator(), e.code()) for e in errors] == [
        (1, "unpool1", "MaxUnpool", ErrorCode.UNSUPPORTED_NODE), (3, "fancy", "FancyOp", ErrorCode.UNSUPPORTED_NODE)]
    assert str(errors[0]).startswith("node 1 'unpool1' (MaxUnpool): ")
    assert "com.example" in errors[1].desc()


def test_errors_go_to_the_logger_and_clear_errors() -> None:
    logger = RecordingLogger()
    parser = OnnxParser(mlprt.INetworkDefinition(), logger)
    model = make_model([N("MaxUnpool", ["x", "x"], ["y"], name="c")], [("x", F, (1, 1, 2, 2))], ["y"])
    assert not parser.parse(model.SerializeToString())
    assert parser.num_errors == 1 and isinstance(parser.get_error(0), ParserError)
    assert logger.messages and logger.messages[0][0] == mlprt.Logger.ERROR and "MaxUnpool" in logger.messages[0][1]
    with pytest.raises(IndexError):
        parser.get_error(1)
    parser.clear_errors()
    assert parser.num_errors == 0


def test_missing_producer_names_the_tensor() -> None:
    model = make_model([N("Add", ["x", "ghost"], ["y"], name="add")], [("x", F, (2,))], ["y"])
    (error,) = parse_errors(model)
    assert error.code() == ErrorCode.INVALID_GRAPH and error.node() == 0 and error.node_name() == "add"
    assert "'ghost'" in error.desc()


def test_missing_initializer_names_the_tensor(rng: np.random.Generator) -> None:
    model, _ = _build(CASES["gemm"], rng)
    del model.graph.initializer[0]  # "b"
    (error,) = parse_errors(model)
    assert "'b'" in error.desc() and "initializer" in error.desc() and error.node_operator() == "Gemm"


def test_wrong_order_and_cycles_are_reported() -> None:
    swapped = make_model([N("Relu", ["a"], ["y"], name="second"), N("Relu", ["x"], ["a"], name="first")],
                         [("x", F, (2,))], ["y"])
    (error,) = parse_errors(swapped)
    assert error.code() == ErrorCode.INVALID_GRAPH and error.node_name() == "second"
    assert "'first'" in error.desc() and "topologically" in error.desc()
    cycle = make_model([N("Add", ["x", "b"], ["a"], name="n0"), N("Relu", ["a"], ["b"], name="n1")],
                       [("x", F, (2,))], ["b"])
    errors = parse_errors(cycle)
    assert errors[0].node_name() == "n0" and "cycle" in errors[0].desc()


@pytest.mark.parametrize("opset", [onnx.defs.onnx_opset_version() + 1, 0])
def test_unsupported_opsets(opset: int) -> None:
    model = make_model([N("Relu", ["x"], ["y"])], [("x", F, (2,))], ["y"], opset=opset)
    (error,) = parse_errors(model)
    assert error.code() == ErrorCode.UNSUPPORTED_GRAPH and str(opset) in error.desc()


def test_model_of_another_domain_only_names_domain_and_operators() -> None:
    model = make_model([N("Binarizer", ["x"], ["y"], domain="ai.onnx.ml")], [("x", F, (2,))], ["y"])
    del model.opset_import[:]
    model.opset_import.append(onnx.helper.make_opsetid("ai.onnx.ml", 3))
    (error,) = parse_errors(model)
    assert error.code() == ErrorCode.UNSUPPORTED_GRAPH
    assert "imports only the domain(s) ai.onnx.ml" in error.desc() and "Binarizer (ai.onnx.ml)" in error.desc()


def test_operator_newer_than_the_model_opset() -> None:
    model = make_model([N("Gelu", ["x"], ["y"], name="g")], [("x", F, (2,))], ["y"], opset=17)
    (error,) = parse_errors(model)
    assert error.node_operator() == "Gelu" and "20" in error.desc()


def test_used_dropout_mask_of_a_dynamic_tensor_is_an_error() -> None:
    model = make_model([N("Dropout", ["x"], ["y", "mask"], name="drop"), N("Cast", ["mask"], ["z"], to=F)],
                       [("x", F, ("batch", 3))], ["y", "z"])
    (error,) = parse_errors(model)
    assert error.node_name() == "drop" and "mask" in error.desc()


def test_runtime_gather_is_a_gather_layer(rng: np.random.Generator) -> None:
    model = make_model([N("Gather", ["x", "i"], ["y"], name="g", axis=1)], [("x", F, (4, 3))], ["y"],
                       {"i": np.array([[0, 2], [-1, 1]], np.int64)})
    network = check_against_onnxruntime(model, {"x": _r(rng, 4, 3)})
    assert mlprt.LayerType.GATHER in [network.get_layer(i).type for i in range(network.num_layers)]
    nd = make_model([N("ScatterND", ["x", "i", "u"], ["y"], name="nd")], [("x", F, (4, 3))], ["y"],
                    {"i": np.array([[0, 2]], np.int64), "u": _r(rng, 1)})
    network = check_against_onnxruntime(nd, {"x": _r(rng, 4, 3)})
    assert mlprt.LayerType.SCATTER in [network.get_layer(i).type for i in range(network.num_layers)]


def test_where_of_a_runtime_comparison_is_a_select_layer(rng: np.random.Generator) -> None:
    model = make_model([N("Greater", ["x", "t"], ["c"]), N("Where", ["c", "x", "t"], ["y"], name="w")],
                       [("x", F, (4, 5))], ["y"], {"t": np.array(0.0, np.float32)})
    network = check_against_onnxruntime(model, {"x": _r(rng, 4, 5)})
    kinds = [network.get_layer(i).type for i in range(network.num_layers)]
    assert mlprt.LayerType.SELECT in kinds and mlprt.LayerType.ELEMENTWISE in kinds


def test_external_data(tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    w = _r(rng, 64, 32)
    model = make_model([N("MatMul", ["x", "w"], ["y"])], [("x", F, (3, 64))], ["y"], {"w": w})
    path = tmp_path / "model.onnx"
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)
    assert (tmp_path / "weights.bin").exists()
    network = mlprt.INetworkDefinition()
    parser = OnnxParser(network, RecordingLogger())
    assert parser.parse_from_file(str(path)), [str(parser.get_error(i)) for i in range(parser.num_errors)]
    x = _r(rng, 3, 64)
    np.testing.assert_allclose(evaluate(network, {"x": x})["y"], x.astype(np.float64) @ w, rtol=1e-6)
    data = path.read_bytes()
    assert OnnxParser(mlprt.INetworkDefinition(), None).parse(data, str(tmp_path))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # bytes without a path: looked up in the working directory
    (error,) = parse_errors(data)
    assert error.code() == ErrorCode.INVALID_VALUE and "'w'" in error.desc() and "weights.bin" in error.desc()
    monkeypatch.chdir(tmp_path)
    assert OnnxParser(mlprt.INetworkDefinition(), None).parse(data)
    (tmp_path / "weights.bin").unlink()
    parser = OnnxParser(mlprt.INetworkDefinition(), None)
    assert not parser.parse_from_file(str(path))
    assert "'w'" in parser.get_error(0).desc()


def test_parse_from_missing_file(tmp_path: Path) -> None:
    parser = OnnxParser(mlprt.INetworkDefinition(), None)
    assert not parser.parse_from_file(str(tmp_path / "nope.onnx"))
    assert parser.get_error(0).code() == ErrorCode.MODEL_DESERIALIZE_FAILED and "nope.onnx" in parser.get_error(0).desc()


def test_supports_operator() -> None:
    parser = OnnxParser(mlprt.INetworkDefinition(), None)
    for op in ["Gemm", "MatMul", "Relu", "Gelu", "LayerNormalization", "Reshape", "Shape", "Clip", "Softmax", "Conv"]:
        assert parser.supports_operator(op), op
    for op in ["MaxUnpool", "LSTM", "NotAnOp", ""]:
        assert not parser.supports_operator(op), op


def test_error_codes_have_tensorrt_names_and_values() -> None:
    assert [ErrorCode.SUCCESS, ErrorCode.INVALID_GRAPH, ErrorCode.UNSUPPORTED_NODE,
            ErrorCode.UNSUPPORTED_NODE_DATATYPE] == [0, 5, 8, 11]
    error = ParserError(ErrorCode.UNSUPPORTED_NODE_ATTR, "bad attribute", 3, "fc2", "Gemm")
    assert str(error) == "node 3 'fc2' (Gemm): bad attribute [UNSUPPORTED_NODE_ATTR]"


def test_operators_doc_matches_generator() -> None:
    committed = (REPO / "docs" / "operators.md").read_text()
    summary = REPO / "tests" / "conformance" / "summary.json"  # the installed mlprt has no tests folder
    assert committed == support_matrix_markdown(summary), \
        "regenerate: python -m mlprt.onnx_parser --markdown > docs/operators.md"
    for op in ["Gemm", "Gelu", "LayerNormalization", "BatchNormalization", "ReduceMean"]:
        assert f"| {op} |" in committed


def test_markdown_command_line() -> None:
    result = subprocess.run([sys.executable, "-m", "mlprt.onnx_parser", "--markdown"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == support_matrix_markdown()
