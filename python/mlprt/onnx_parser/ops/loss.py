"""Importers of the loss operators: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.

Both are composed of existing layers. With scores ``x`` of shape (N, C, d1, ..., dk) and integer
targets of shape (N, d1, ..., dk):

* the targets get an extent-1 class axis, (N, 1, d1, ..., dk), and a gather in ELEMENT mode
  along axis 1 picks ``x[n, target[n, ...], ...]``; the loss is its negation;
* ignore_index (when given) is compared with the targets: ignored targets are replaced by 0
  before any gather (a gather counts a negative index from the end, and ignore_index may be
  out of range), their loss is set to 0 with a select, and they leave the mean's denominator;
* the class weights (when given) are gathered by the same targets and multiply the loss;
* reduction ``mean`` is ``AVG(loss) / AVG(counted weights)`` (or over the count of the targets
  not ignored): the same ratio as ``SUM / SUM``, with both terms bounded by their largest
  element so that neither overflows in FP16 (reductions accumulate in float).

SoftmaxCrossEntropyLoss is the stable LogSoftmax over axis 1 (``nn._log_softmax``) followed by
the same loss; its optional second output is that log-probability tensor.
"""
from __future__ import annotations

from typing import Any, List, Optional, Tuple

import numpy as np

from mlprt import _core
from mlprt.onnx_parser.context import ImporterContext, Node, ShapeValue, Value, numpy_dtype
from mlprt.onnx_parser.errors import ErrorCode, invalid, unsupported
from mlprt.onnx_parser.ops.nn import _log_softmax
from mlprt.onnx_parser.registry import importer

DataType = _core.DataType
EW = _core.ElementWiseOperation
RO = _core.ReduceOperation
Un = _core.UnaryOperation

_FLOATING = (DataType.FLOAT, DataType.HALF)
_INDEX_TYPES = (DataType.INT32, DataType.INT64)
_REDUCTIONS = ("none", "sum", "mean")
#: The ONNX names of the three inputs, per operator (for messages).
_INPUT_NAMES = {"NegativeLogLikelihoodLoss": ("input", "target", "weight"),
                "SoftmaxCrossEntropyLoss": ("scores", "labels", "weights")}


def _tensor_or_constant(ctx: ImporterContext, node: Node, i: int) -> Value:
    """Input ``i``, which must be present: a network tensor or a constant array (a shape value is refused)."""
    value = ctx.require(node, i, _INPUT_NAMES[node.op_type][i])
    if isinstance(value, ShapeValue):
        raise unsupported(f"input {i} ({_INPUT_NAMES[node.op_type][i]}) of {node.op_type} is a shape computation; "
                          "it must be a tensor", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    return value


def _scores(ctx: ImporterContext, node: Node) -> Any:
    """Input 0 (N, C, d1, ..., dk) as a FLOAT or HALF tensor."""
    name = _INPUT_NAMES[node.op_type][0]
    x = ctx.tensor(_tensor_or_constant(ctx, node, 0))
    if x.dtype not in _FLOATING:
        raise unsupported(f"input 0 ({name}) of {node.op_type} must be FLOAT or FLOAT16, got {x.dtype.name}",
                          ErrorCode.UNSUPPORTED_NODE_DATATYPE)
    if len(x.shape) < 2:
        raise invalid(f"input 0 ({name}) of {node.op_type} must have rank 2 or more (N, C, d1, ..., dk), got shape "
                      f"{tuple(x.shape)}")
    return x


def _check_constant_targets(node: Node, target: np.ndarray, classes: Any, ignore_index: Optional[int]) -> None:
    """Refuses constant targets outside [0, C) that are not ignore_index (ONNX leaves them undefined)."""
    if not (isinstance(classes, int) and classes >= 0) or target.size == 0:
        return
    counted = target if ignore_index is None else target[target != ignore_index]
    outside = counted[(counted < 0) | (counted >= classes)]
    if outside.size:
        name = _INPUT_NAMES[node.op_type][1]
        raise invalid(f"input 1 ({name}) of {node.op_type} holds the class {int(outside[0])}, outside [0, {classes}) "
                      "(C, the extent of axis 1 of the scores), and it is not ignore_index")


def _targets(ctx: ImporterContext, node: Node, x: Any, ignore_index: Optional[int]) -> Any:
    """Input 1 (N, d1, ..., dk) as an INT32 or INT64 tensor whose extents agree with the scores'."""
    name = _INPUT_NAMES[node.op_type][1]
    value = _tensor_or_constant(ctx, node, 1)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "iu":
            raise invalid(f"input 1 ({name}) of {node.op_type} must hold INT32 or INT64 class indices, not "
                          f"{value.dtype}")
        _check_constant_targets(node, value, ctx.shape_of(x)[1], ignore_index)
        value = value if value.dtype in (np.int32, np.int64) else value.astype(np.int64)
    target = ctx.tensor(value)
    if target.dtype not in _INDEX_TYPES:
        raise invalid(f"input 1 ({name}) of {node.op_type} must hold INT32 or INT64 class indices, not "
                      f"{target.dtype.name}")
    scores, labels = list(x.shape), list(target.shape)
    expected = scores[:1] + scores[2:]
    if len(labels) != len(expected) or any(t >= 0 and e >= 0 and t != e for t, e in zip(labels, expected)):
        raise invalid(f"input 1 ({name}) of {node.op_type} has shape {tuple(labels)}; the scores' shape "
                      f"{tuple(scores)} needs (N, d1, ..., dk) = {tuple(expected)}")
    return target


def _weights(ctx: ImporterContext, node: Node, x: Any) -> Optional[Any]:
    """Input 2, the (C,) class weights in the scores' type, or None when absent."""
    if not node.has_input(2):
        return None
    name = _INPUT_NAMES[node.op_type][2]
    value = _tensor_or_constant(ctx, node, 2)
    classes = x.shape[1]
    expected = f"({classes},)" if classes >= 0 else "(C,)"
    extents = list(ctx.shape_of(value)) if isinstance(value, np.ndarray) else list(value.shape)
    if len(extents) != 1 or (isinstance(extents[0], int) and extents[0] >= 0 and classes >= 0
                             and extents[0] != classes):
        raise invalid(f"input 2 ({name}) of {node.op_type} has shape {tuple(extents)}; it must be {expected}, one "
                      "weight per class (C, the extent of axis 1 of the scores)")
    if isinstance(value, np.ndarray):
        if value.dtype.kind != "f":
            raise invalid(f"input 2 ({name}) of {node.op_type} must have the scores' floating type, not {value.dtype}")
        return ctx.tensor(value, x.dtype)
    if value.dtype != x.dtype:
        raise invalid(f"input 2 ({name}) of {node.op_type} is {value.dtype.name}; it must have the scores' type "
                      f"{x.dtype.name}")
    return value


def _attributes(node: Node) -> Tuple[str, Optional[int]]:
    """The reduction ('none', 'sum' or 'mean') and ignore_index (None when not given)."""
    reduction = node.attr("reduction", "mean")
    if reduction not in _REDUCTIONS:
        raise invalid(f"attribute reduction = '{reduction}' of {node.op_type} is not one of 'none', 'sum', 'mean'")
    ignore = node.attr("ignore_index")
    return reduction, None if ignore is None else int(ignore)


def _reduce_all(ctx: ImporterContext, x: Any, op: Any) -> Any:
    """``x`` reduced over every axis to a scalar."""
    mask = (1 << len(x.shape)) - 1
    return ctx.track(ctx.network.add_reduce(x, op, mask, False)).get_output(0)


def _negative_log_likelihood(ctx: ImporterContext, node: Node, log_prob: Any) -> Any:
    """The loss of ``log_prob`` (N, C, d1, ..., dk) at the node's targets, reduced as the node says."""
    reduction, ignore_index = _attributes(node)
    target = _targets(ctx, node, log_prob, ignore_index)
    weight = _weights(ctx, node, log_prob)
    dtype = numpy_dtype(log_prob.dtype)
    rank = len(log_prob.shape)
    ones = [1] * rank
    # Everything is computed at (N, 1, d1, ..., dk), the shape of the gather indices.
    index = ctx.unsqueeze(target, [1])
    ignored = None
    if ignore_index is not None and index.dtype == DataType.INT32 and not -2**31 <= ignore_index < 2**31:
        ignore_index = None  # no INT32 target can equal it
    if ignore_index is not None:
        ignored = ctx.elementwise(index, np.array(ignore_index, numpy_dtype(index.dtype)), EW.EQUAL)
        zero_index = ctx.tensor(np.zeros(ones, numpy_dtype(index.dtype)))
        index = ctx.alias(ctx.track(ctx.network.add_select(ignored, zero_index, index)).get_output(0), index)
    # A gather in ELEMENT mode: made with that mode, so that its output is inferred as the indices' shape.
    picked_layer = ctx.track(ctx.network.add_gather_v2(log_prob, index, _core.GatherMode.ELEMENT))
    picked_layer.gather_axis = 1
    loss = ctx.unary(ctx.alias(picked_layer.get_output(0), index), Un.NEG)
    counted = None  # the weight of each element in the mean: the class weight, 0 where ignored
    if weight is not None:
        counted = ctx.alias(ctx.track(ctx.network.add_gather(weight, index, 0)).get_output(0), index)
        loss = ctx.elementwise(loss, counted, EW.PROD)
    if ignored is not None:
        zero = ctx.tensor(np.zeros(ones, dtype))
        loss = ctx.alias(ctx.track(ctx.network.add_select(ignored, zero, loss)).get_output(0), index)
        if counted is not None:
            counted = ctx.alias(ctx.track(ctx.network.add_select(ignored, zero, counted)).get_output(0), index)
        elif reduction == "mean":
            counted = ctx.alias(ctx.track(ctx.network.add_select(ignored, zero, ctx.tensor(np.ones(ones, dtype))))
                                .get_output(0), index)
    if reduction == "none":
        return ctx.squeeze(loss, [1])
    if reduction == "sum":
        return _reduce_all(ctx, loss, RO.SUM)
    average = _reduce_all(ctx, loss, RO.AVG)
    if counted is None:
        return average
    return ctx.elementwise(average, _reduce_all(ctx, counted, RO.AVG), EW.DIV)


@importer("NegativeLogLikelihoodLoss", since=12, notes="FLOAT and FLOAT16 input (N, C, d1, ..., dk), INT32/INT64 "
          "target, optional weight (C); reduction none, sum or mean; ignore_index (negative too). A gather in "
          "ELEMENT mode along axis 1 of the target with an extent-1 axis, the weights gathered by the target, "
          "ignored targets gathered as class 0 and their loss selected to 0; mean is AVG(loss) / AVG(counted "
          "weights) so that FP16 sums cannot overflow. Dynamic extents allowed. A constant target outside [0, C) "
          "(and not ignore_index) is an error; a run-time one is not checked.")
def negative_log_likelihood_loss(ctx: ImporterContext, node: Node) -> List[Value]:
    return [_negative_log_likelihood(ctx, node, _scores(ctx, node))]


@importer("SoftmaxCrossEntropyLoss", since=12, notes="The stable LogSoftmax over axis 1 (as LogSoftmax's importer) "
          "then NegativeLogLikelihoodLoss's composition, with its inputs, attributes and limits; the optional "
          "log_prob output.")
def softmax_cross_entropy_loss(ctx: ImporterContext, node: Node) -> List[Value]:
    log_prob = _log_softmax(ctx, _scores(ctx, node), 1)
    loss = _negative_log_likelihood(ctx, node, log_prob)
    return [loss, log_prob] if len(node.outputs) > 1 else [loss]
