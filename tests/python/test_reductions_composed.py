"""ReduceL1, ReduceL2, ReduceSumSquare, ReduceLogSum and ReduceLogSumExp (composed from a map, a SUM
and a map), LayerNormalization's Mean / InvStdDev outputs, Size and CastLike, against ONNX Runtime at
awkward shapes."""
from __future__ import annotations

from typing import Dict, List

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import mlprt.backend as backend

OPS = ("ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp")


def _run_both(model: onnx.ModelProto, feeds: Dict[str, np.ndarray]) -> List[np.ndarray]:
    expected = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)
    actual = list(backend.prepare(model).run(feeds))
    for got, want in zip(actual, expected):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    return actual


def _model(node: onnx.NodeProto, x: np.ndarray, elem: int, out_elem: int, opset: int) -> onnx.ModelProto:
    graph = helper.make_graph([node], "reduce", [helper.make_tensor_value_info("x", elem, x.shape)],
                              [helper.make_tensor_value_info("y", out_elem, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    inferred = onnx.shape_inference.infer_shapes(model)
    model.graph.output[0].CopyFrom(inferred.graph.output[0])
    return model


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("axes, keepdims", [([1], 1), ([0, 2], 0), (None, 1)])
def test_composed_reduction_matches_onnxruntime(op: str, axes, keepdims: int, rng: np.random.Generator) -> None:
    x = rng.uniform(0.1, 3.0, (3, 7, 5)).astype(np.float32)  # positive: ReduceLogSum takes log of the sum
    if op != "ReduceLogSum":
        x *= np.where(rng.random(x.shape) < 0.5, -1.0, 1.0).astype(np.float32)
    attrs = {"keepdims": keepdims} if axes is None else {"keepdims": keepdims, "axes": axes}
    node = helper.make_node(op, ["x"], ["y"], **attrs)
    _run_both(_model(node, x, TensorProto.FLOAT, TensorProto.FLOAT, 17), {"x": x})


def test_log_sum_exp_is_stable_for_large_inputs(rng: np.random.Generator) -> None:
    x = (rng.standard_normal((4, 9)) * 30 + 200).astype(np.float32)  # exp(200) overflows float32
    y = _run_both(_model(helper.make_node("ReduceLogSumExp", ["x"], ["y"], axes=[1], keepdims=0), x,
                         TensorProto.FLOAT, TensorProto.FLOAT, 17), {"x": x})
    assert np.isfinite(y[0]).all()


def test_integer_l1_and_sum_square(rng: np.random.Generator) -> None:
    x = rng.integers(-50, 50, (5, 6)).astype(np.int64)
    for op in ("ReduceL1", "ReduceSumSquare"):
        _run_both(_model(helper.make_node(op, ["x"], ["y"], axes=[0], keepdims=1), x, TensorProto.INT64,
                         TensorProto.INT64, 17), {"x": x})


def test_cast_like_takes_the_type_of_its_second_input(rng: np.random.Generator) -> None:
    x = (rng.standard_normal((3, 4)) * 10).astype(np.float32)
    like = np.zeros((1,), np.int32)
    graph = helper.make_graph([helper.make_node("CastLike", ["x", "like"], ["y"])], "castlike",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape),
                               helper.make_tensor_value_info("like", TensorProto.INT32, like.shape)],
                              [helper.make_tensor_value_info("y", TensorProto.INT32, x.shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    _run_both(model, {"x": x, "like": like})


def test_layer_normalization_mean_and_inv_std_dev_outputs(rng: np.random.Generator) -> None:
    x = rng.standard_normal((3, 5, 7)).astype(np.float32) * 4 + 1
    scale = rng.standard_normal(7).astype(np.float32)
    node = helper.make_node("LayerNormalization", ["x", "scale"], ["y", "mean", "inv_std"], axis=-1, epsilon=1e-3)
    graph = helper.make_graph([node], "ln", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in
                               (("y", (3, 5, 7)), ("mean", (3, 5, 1)), ("inv_std", (3, 5, 1)))],
                              [onnx.numpy_helper.from_array(scale, "scale")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    _run_both(model, {"x": x})


def test_size_folds_to_the_element_count(rng: np.random.Generator) -> None:
    x = rng.standard_normal((2, 3, 5)).astype(np.float32)
    nodes = [helper.make_node("Size", ["x"], ["n"]), helper.make_node("Cast", ["n"], ["nf"], to=TensorProto.FLOAT),
             helper.make_node("Mul", ["x", "nf"], ["y"])]
    graph = helper.make_graph(nodes, "size", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, x.shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    (y,) = _run_both(model, {"x": x})
    np.testing.assert_allclose(y, x * 30, rtol=1e-6)
