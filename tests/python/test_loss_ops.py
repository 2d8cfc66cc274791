"""NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss compared with ONNX Runtime: every
reduction with and without class weights, ignore_index positive and negative (some targets
ignored), 0, 1 and 3 spatial axes, SoftmaxCrossEntropyLoss's log_prob output, awkward sizes
(N = 1, C prime or 1), INT32 and constant targets, FLOAT16, run-time extents; an engine with a
dynamic batch and an FP16 one; refusals named by node."""
from __future__ import annotations

import itertools
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import pytest
from onnx import TensorProto, helper

from mlprt.onnx_parser import ErrorCode
from mlprt.testing import compare_with_onnxruntime
from test_onnx_parser_helpers import F, check_against_onnxruntime, make_model, parse_errors

N = helper.make_node
NLL, SCE = "NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss"
I64, I32, F16 = TensorProto.INT64, TensorProto.INT32, TensorProto.FLOAT16
#: k = 0, 1 and 3 spatial axes, with prime extents and a 1.
SPATIAL: Tuple[Tuple[int, ...], ...] = ((), (5,), (2, 3, 1))


def _loss_model(op: str, scores: Sequence[object], labels: Sequence[object], classes: int, reduction: str,
                weights: bool, ignore_index: Optional[int], log_prob: bool = False, elem: int = F,
                target_elem: int = I64, initializers: Optional[Dict[str, np.ndarray]] = None) -> object:
    inputs = [("x", elem, scores), ("t", target_elem, labels)] + ([("w", elem, (classes,))] if weights else [])
    attrs: Dict[str, object] = {"reduction": reduction}
    if ignore_index is not None:
        attrs["ignore_index"] = ignore_index
    outputs = ["loss", "log_prob"] if log_prob else ["loss"]
    node = N(op, [name for name, _, _ in inputs], outputs, name="loss_node", **attrs)
    inputs = [i for i in inputs if i[0] not in (initializers or {})]
    return make_model([node], inputs, outputs, initializers, opset=13, output_type=elem)


def _feeds(scores: Tuple[int, ...], classes: int, ignore_index: Optional[int], weights: bool, seed: int,
           dtype: type = np.float32, target_dtype: type = np.int64) -> Dict[str, np.ndarray]:
    """Random scores, random targets in [0, C) with about a third replaced by ignore_index (but
    never all of them), and weights in [0.25, 2)."""
    rng = np.random.default_rng(seed)
    labels = (scores[0],) + scores[2:]
    target = rng.integers(0, classes, labels)
    if ignore_index is not None:
        ignored = rng.random(labels) < 0.35
        ignored.reshape(-1)[0] = False
        target[ignored] = ignore_index
    feeds = {"x": (rng.standard_normal(scores) * 2).astype(dtype), "t": target.astype(target_dtype)}
    if weights:
        feeds["w"] = rng.uniform(0.25, 2.0, classes).astype(dtype)
    return feeds


#: (op, reduction, weights, ignore_index) in full, each with its own spatial rank (cycled).
CASES = list(itertools.product((NLL, SCE), ("none", "sum", "mean"), (False, True), (None, 2, -1)))


@pytest.mark.parametrize("index", range(len(CASES)),
                         ids=[f"{op[:3]}-{red}-{'w' if w else 'now'}-ii{ii}" for op, red, w, ii in CASES])
def test_loss_matches_onnxruntime(index: int) -> None:
    op, reduction, weights, ignore_index = CASES[index]
    spatial = SPATIAL[index % len(SPATIAL)]
    scores = (3, 7) + spatial
    model = _loss_model(op, scores, (3,) + spatial, 7, reduction, weights, ignore_index, log_prob=op == SCE)
    check_against_onnxruntime(model, _feeds(scores, 7, ignore_index, weights, seed=index))


@pytest.mark.parametrize("op, scores, reduction, target_elem, ignore", [
    (NLL, (1, 13, 4), "mean", I32, 13),     # N = 1, C prime, INT32 targets, ignore_index = C
    (SCE, (1, 13), "sum", I32, -100),       # k = 0 and N = 1: the one target is kept
    (SCE, (5, 1, 3), "none", I64, -100),    # a single class
    (NLL, (2, 11, 3, 5), "mean", I64, 4),
])
def test_awkward_sizes(op: str, scores: Tuple[int, ...], reduction: str, target_elem: int, ignore: int) -> None:
    classes = scores[1]
    model = _loss_model(op, scores, (scores[0],) + scores[2:], classes, reduction, True, ignore,
                        log_prob=op == SCE, target_elem=target_elem)
    feeds = _feeds(scores, classes, ignore, True, seed=sum(scores),
                   target_dtype=np.int32 if target_elem == I32 else np.int64)
    check_against_onnxruntime(model, feeds)


def test_constant_targets_and_weights() -> None:
    feeds = _feeds((4, 7, 3), 7, -3, True, seed=9)
    model = _loss_model(SCE, (4, 7, 3), (4, 3), 7, "mean", True, -3, log_prob=True,
                        initializers={"t": feeds.pop("t"), "w": feeds.pop("w")})
    check_against_onnxruntime(model, feeds)


def test_an_ignore_index_that_int32_targets_cannot_hold_ignores_nothing() -> None:
    model = _loss_model(NLL, (3, 5), (3,), 5, "mean", False, 2**40, target_elem=I32)
    check_against_onnxruntime(model, _feeds((3, 5), 5, None, False, seed=4, target_dtype=np.int32))


def test_float16() -> None:
    model = _loss_model(SCE, (3, 7, 5), (3, 5), 7, "mean", True, 1, log_prob=True, elem=F16)
    check_against_onnxruntime(model, _feeds((3, 7, 5), 7, 1, True, seed=5, dtype=np.float16), tolerance=1e-2)


def test_run_time_extents_at_parse_level() -> None:
    # Two dynamic axes: the target's class axis is inserted by a reshape and a transpose.
    model = _loss_model(NLL, ("n", 7, "h"), ("n", "h"), 7, "none", True, -1)
    check_against_onnxruntime(model, _feeds((3, 7, 5), 7, -1, True, seed=6))


def test_engine_with_a_dynamic_batch() -> None:
    model = _loss_model(SCE, ("n", 7, 5), ("n", 5), 7, "mean", True, -1, log_prob=True)
    inputs = _feeds((3, 7, 5), 7, -1, True, seed=7)
    profiles = {"x": ((1, 7, 5), (3, 7, 5), (4, 7, 5)), "t": ((1, 5), (3, 5), (4, 5))}
    compare_with_onnxruntime(model.SerializeToString(), inputs=inputs, profiles=profiles).assert_passed()


def test_fp16_engine_mean_of_many_large_losses() -> None:
    # 4 x 6000 losses of about 8 with weights up to 2: their weighted sum (~10^5) exceeds FP16's
    # range, their mean does not.
    scores = (4, 3, 6000)
    model = _loss_model(NLL, scores, (4, 6000), 3, "mean", True, 2)
    inputs = _feeds(scores, 3, 2, True, seed=8)
    inputs["x"] = inputs["x"] * 4.0 - 8.0
    compare_with_onnxruntime(model.SerializeToString(), inputs=inputs, fp16=True).assert_passed()


def _error(model: object) -> object:
    (error,) = parse_errors(model)
    assert error.node_name() == "loss_node", str(error)
    return error


@pytest.mark.parametrize("op, scores, labels, classes, target_elem, reduction, message", [
    (NLL, (3, 5), (3,), 5, TensorProto.FLOAT, "mean", "input 1 (target) of NegativeLogLikelihoodLoss must hold "
     "INT32 or INT64 class indices, not FLOAT"),
    (SCE, (3, 5), (3,), 4, I64, "mean", "input 2 (weights) of SoftmaxCrossEntropyLoss has shape (4,); it must be "
     "(5,), one weight per class"),
    (NLL, (3, 5, 2), (3, 4), 5, I64, "sum", "input 1 (target) of NegativeLogLikelihoodLoss has shape (3, 4); the "
     "scores' shape (3, 5, 2) needs (N, d1, ..., dk) = (3, 2)"),
    (NLL, (5,), (), 5, I64, "sum", "input 0 (input) of NegativeLogLikelihoodLoss must have rank 2 or more"),
    (SCE, (3, 5), (3,), 5, I64, "max", "attribute reduction = 'max' of SoftmaxCrossEntropyLoss is not one of"),
])
def test_invalid_models_are_refused(op: str, scores: Tuple[int, ...], labels: Tuple[int, ...], classes: int,
                                    target_elem: int, reduction: str, message: str) -> None:
    model = _loss_model(op, scores, labels, classes, reduction, True, None, target_elem=target_elem)
    error = _error(model)
    assert error.code() == ErrorCode.INVALID_NODE and message in error.desc(), error.desc()


def test_a_constant_target_outside_the_classes_is_refused() -> None:
    target = np.array([0, 5, 2], np.int64)
    model = _loss_model(NLL, (3, 5), (3,), 5, "mean", False, 2, initializers={"t": target})
    error = _error(model)
    assert error.code() == ErrorCode.INVALID_NODE
    assert "input 1 (target) of NegativeLogLikelihoodLoss holds the class 5, outside [0, 5)" in error.desc()


def test_integer_scores_are_unsupported() -> None:
    model = _loss_model(NLL, (3, 5), (3,), 5, "mean", False, None, elem=TensorProto.INT32)
    error = _error(model)
    assert error.code() == ErrorCode.UNSUPPORTED_NODE_DATATYPE
    assert "input 0 (input) of NegativeLogLikelihoodLoss must be FLOAT or FLOAT16, got INT32" in error.desc()
