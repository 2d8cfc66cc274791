"""Importers of normalizations written as compositions of layers: RMSNormalization and
MeanVarianceNormalization."""
from __future__ import annotations

from typing import Any, List

import numpy as np
import onnx

from mlprt import _core
from mlprt.onnx_parser.context import ImporterContext, Node, ShapeValue, Value, normalize_axis, onnx_dtype_name
from mlprt.onnx_parser.errors import ErrorCode, invalid, unsupported
from mlprt.onnx_parser.registry import importer

EW = _core.ElementWiseOperation
RO = _core.ReduceOperation
Un = _core.UnaryOperation
DT = _core.DataType


def _float_input(ctx: ImporterContext, node: Node, i: int, what: str) -> Any:
    """Input ``i`` as a FLOAT or FLOAT16 network tensor."""
    value = ctx.require(node, i, what)
    if isinstance(value, ShapeValue):
        raise unsupported(f"{node.op_type} of a shape value is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    if isinstance(value, np.ndarray) and value.dtype not in (np.float32, np.float16):
        raise unsupported(f"input {i} ({what}) of {node.op_type} must be FLOAT or FLOAT16, got {value.dtype}",
                          ErrorCode.UNSUPPORTED_NODE_DATATYPE)
    x = ctx.tensor(value)
    if x.dtype not in (DT.FLOAT, DT.HALF):
        raise unsupported(f"input {i} ({what}) of {node.op_type} must be FLOAT or FLOAT16, got {x.dtype.name}",
                          ErrorCode.UNSUPPORTED_NODE_DATATYPE)
    return x


def _mean(ctx: ImporterContext, x: Any, mask: int) -> Any:
    """The mean of ``x`` over the axes of bit mask ``mask``, kept as extent-1 axes."""
    return ctx.track(ctx.network.add_reduce(x, RO.AVG, mask, True)).get_output(0)


def _check_scale_broadcasts(x: Any, scale: Any) -> None:
    """Refuses a scale that does not broadcast to X's shape without growing it (ONNX's
    unidirectional broadcasting), where the extents are known."""
    rank, scale_shape = len(x.shape), list(scale.shape)
    if len(scale_shape) > rank:
        raise invalid(f"RMSNormalization's scale of shape {scale_shape} has a higher rank than X {list(x.shape)}")
    for d, e in zip(reversed(scale_shape), reversed(list(x.shape))):
        if d >= 0 and e >= 0 and d not in (1, e):
            raise invalid(f"RMSNormalization's scale of shape {scale_shape} does not broadcast to X {list(x.shape)}")


@importer("RMSNormalization", since=23, notes="axis, epsilon; stash_type 1 (FLOAT): x / sqrt(mean(x^2 over axes "
          "axis..rank-1) + epsilon) computed in FLOAT (PROD, reduce AVG, SUM, SQRT, DIV), cast back to X's type, "
          "then times scale (constant or run-time, broadcast). X and scale FLOAT or FLOAT16, of one type (ONNX's "
          "function body multiplies them directly).")
def rms_normalization(ctx: ImporterContext, node: Node) -> List[Value]:
    x = _float_input(ctx, node, 0, "X")
    scale = _float_input(ctx, node, 1, "scale")
    if scale.dtype != x.dtype:
        raise unsupported(f"RMSNormalization with X of type {x.dtype.name} and scale of type {scale.dtype.name} is not "
                          "supported: its function body multiplies the normalized X, cast back to X's type, by scale",
                          ErrorCode.UNSUPPORTED_NODE_DATATYPE)
    stash_type = int(node.attr("stash_type", onnx.TensorProto.FLOAT))
    if stash_type != onnx.TensorProto.FLOAT:
        raise unsupported(f"RMSNormalization with stash_type = {stash_type} ({onnx_dtype_name(stash_type)}) is not "
                          "supported: only 1 (FLOAT), as in ONNX's reference", ErrorCode.UNSUPPORTED_NODE_ATTR)
    rank = len(x.shape)
    if rank == 0:
        raise invalid("RMSNormalization needs an input X of rank 1 or more")
    axis = normalize_axis(node.attr("axis", -1), rank)
    _check_scale_broadcasts(x, scale)
    xf = ctx.tensor(x, DT.FLOAT)
    mask = sum(1 << a for a in range(axis, rank))
    mean_square = _mean(ctx, ctx.elementwise(xf, xf, EW.PROD), mask)
    shifted = ctx.elementwise(mean_square, np.array(float(node.attr("epsilon", 1e-5)), np.float32), EW.SUM)
    normalized = ctx.alias(ctx.elementwise(xf, ctx.unary(shifted, Un.SQRT), EW.DIV), x)
    return [ctx.alias(ctx.elementwise(ctx.tensor(normalized, x.dtype), scale, EW.PROD), x)]


#: MeanVarianceNormalization's function adds this to the standard deviation.
_MVN_EPSILON = 1e-9


@importer("MeanVarianceNormalization", since=9, notes="axes (default [0, 2, 3]): (x - mean) / (sqrt(variance) + "
          "1e-9), as ONNX's function body, with the variance taken as the mean of (x - mean)^2 (the same value, "
          "never negative) over the axes (reduce AVG, SUB, PROD, SQRT, SUM, DIV); FLOAT, and FLOAT16 computed in "
          "FLOAT.")
def mean_variance_normalization(ctx: ImporterContext, node: Node) -> List[Value]:
    x = _float_input(ctx, node, 0, "X")
    rank = len(x.shape)
    axes = [int(a) for a in node.attr("axes", [0, 2, 3])]
    if not axes:
        raise invalid("MeanVarianceNormalization's axes attribute is empty")
    if any(not -rank <= a < rank for a in axes):
        raise invalid(f"MeanVarianceNormalization's axes {axes} do not fit an input X of rank {rank}")
    normalized_axes = {normalize_axis(a, rank) for a in axes}
    if len(normalized_axes) != len(axes):
        raise invalid(f"MeanVarianceNormalization's axes {axes} name an axis twice")
    mask = sum(1 << a for a in normalized_axes)
    xf = ctx.tensor(x, DT.FLOAT)
    centered = ctx.elementwise(xf, _mean(ctx, xf, mask), EW.SUB)
    variance = _mean(ctx, ctx.elementwise(centered, centered, EW.PROD), mask)
    deviation = ctx.elementwise(ctx.unary(variance, Un.SQRT), np.array(_MVN_EPSILON, np.float32), EW.SUM)
    normalized = ctx.alias(ctx.elementwise(centered, deviation, EW.DIV), x)
    return [ctx.alias(ctx.tensor(normalized, x.dtype), x)]
