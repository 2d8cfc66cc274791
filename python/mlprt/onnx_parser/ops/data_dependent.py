"""Operators whose output shape depends on the values of their inputs: NonZero, Compress, Unique,
NonMaxSuppression. An mlprt engine derives every tensor's shape from its input shapes alone (as a
TensorRT engine does outside its data-dependent-shape layers), so these are computed at parse
time where their inputs are known then (constants, folded by the parser before any importer
runs, or shape values with known extents), Compress also on run-time data when its condition is
known, and refused with the reason otherwise."""
from __future__ import annotations

from typing import List, Optional

import numpy as np

from mlprt import _core
from mlprt.onnx_parser.context import ImporterContext, Node, ShapeValue, Value, normalize_axis
from mlprt.onnx_parser.errors import ErrorCode, invalid, unsupported
from mlprt.onnx_parser.ops.shape import _gather_layer
from mlprt.onnx_parser.parser import FOLDED_BYTES_LIMIT, SIZED_BY_VALUES, fold_constant_node
from mlprt.onnx_parser.registry import importer


def _refusal(node: Node, what: str) -> Exception:
    return unsupported(f"{node.op_type} of {what} computed at run time is not supported: its output's extent is "
                       f"{SIZED_BY_VALUES[node.op_type]}, which only the data decide, and mlprt engines take every shape "
                       f"from the input shapes (compute it at parse time from constants, or outside the engine)",
                       ErrorCode.UNSUPPORTED_NODE_DYNAMIC)


def _known(ctx: ImporterContext, node: Node, i: int) -> Optional[np.ndarray]:
    """Input i as an array when it is known at parse time (a constant or a shape value of known
    extents), else None."""
    value = ctx.require(node, i)
    if isinstance(value, ShapeValue):
        return value.to_array() if value.is_known() else None
    return value if isinstance(value, np.ndarray) else None


@importer("NonZero", "Unique", "NonMaxSuppression", notes="Inputs known at parse time (constants, shape values "
          "of known extents): folded. On run-time tensors refused with the reason: the output's extent depends "
          "on the data.")
def data_dependent(ctx: ImporterContext, node: Node) -> List[Value]:
    inputs: List[Optional[np.ndarray]] = []
    for i in range(node.num_inputs):
        if not node.has_input(i):
            inputs.append(None)
            continue
        known = _known(ctx, node, i)
        if known is None:
            raise _refusal(node, "a tensor")
        inputs.append(known)
    return list(fold_constant_node(node, inputs, FOLDED_BYTES_LIMIT))


@importer("Compress", since=9, notes="A condition known at parse time: a gather of the kept indices (run-time or "
          "constant data; without axis, of the flattened data). A run-time condition is refused: the output's "
          "extent depends on it.")
def compress(ctx: ImporterContext, node: Node) -> List[Value]:
    condition = _known(ctx, node, 1)
    if condition is None:
        raise _refusal(node, "a condition")
    if condition.ndim != 1:
        raise invalid(f"Compress's condition must have rank 1, got shape {list(condition.shape)}")
    data = ctx.require(node, 0)
    axis = node.attr("axis")
    if axis is None:
        data = ctx.reshape(ctx.tensor(data), [-1]) if not isinstance(data, np.ndarray) else data.reshape(-1)
        axis = 0
    extent = ctx.shape_of(data)[normalize_axis(int(axis), ctx.rank(data), node)]
    if isinstance(extent, int) and condition.size > extent:
        raise invalid(f"Compress's condition has {condition.size} elements, more than the {extent} along axis {axis}")
    indices = np.flatnonzero(condition.astype(bool)).astype(np.int64)
    if isinstance(data, np.ndarray):
        return [np.take(data, indices, axis=int(axis))]
    return [_gather_layer(ctx, node, data, indices, _core.GatherMode.DEFAULT, int(axis))]
