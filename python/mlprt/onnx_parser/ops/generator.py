"""Importers of operators that generate tensors from shapes and indices: EyeLike and OneHot."""
from __future__ import annotations

import math
from typing import Any, List, Tuple

import numpy as np

from mlprt import _core
from mlprt.onnx_parser.context import (ImporterContext, Node, ShapeValue, Value, normalize_axis, numpy_dtype,
                                       onnx_dtype_name, onnx_to_network_dtype)
from mlprt.onnx_parser.errors import ErrorCode, invalid, unsupported
from mlprt.onnx_parser.registry import importer

EW = _core.ElementWiseOperation
DT = _core.DataType


@importer("EyeLike", since=9, notes="Input of rank 2 whose shape is known at parse time (its values are not read): "
          "a constant with ones on diagonal k; dtype (default the input's type) FLOAT, FLOAT16, INT8, UINT8, "
          "INT32, INT64 or BOOL. A shape known only at run time is refused.")
def eye_like(ctx: ImporterContext, node: Node) -> List[Value]:
    value = ctx.require(node, 0, "input")
    shape = ctx.shape_of(value)
    if len(shape) != 2:
        raise invalid(f"EyeLike needs an input of rank 2, got rank {len(shape)}")
    if not all(isinstance(d, int) and d >= 0 for d in shape):
        raise unsupported(f"EyeLike of an input whose shape {shape} is known only at run time is not supported: "
                          "the output is made a constant at parse time", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    if 0 in shape:
        raise unsupported(f"EyeLike of an empty input (shape {shape}) is not supported",
                          ErrorCode.UNSUPPORTED_NODE_SHAPE)
    if node.attr("dtype") is not None:
        elem_type = int(node.attr("dtype"))
        dtype = onnx_to_network_dtype(elem_type)
        if dtype is None:
            raise unsupported(f"EyeLike with dtype {onnx_dtype_name(elem_type)} is not supported",
                              ErrorCode.UNSUPPORTED_NODE_DATATYPE)
        np_dtype = numpy_dtype(dtype)
    elif isinstance(value, np.ndarray):
        np_dtype = value.dtype
        if np_dtype == np.float64:
            raise unsupported("EyeLike of a DOUBLE input (without dtype) is not supported",
                              ErrorCode.UNSUPPORTED_NODE_DATATYPE)
    else:
        np_dtype = numpy_dtype(value.dtype)
    return [np.eye(shape[0], shape[1], k=int(node.attr("k", 0)), dtype=np_dtype)]


def _depth(ctx: ImporterContext, node: Node) -> int:
    """OneHot's depth: a one-element constant, cast to an integer (truncated) when it is not one."""
    depth = ctx.required_constant(node, 1, "depth")
    if depth.size != 1:
        raise invalid(f"OneHot's depth must hold one value, got shape {list(depth.shape)}")
    number = depth.reshape(-1)[0]
    if depth.dtype.kind == "f" and not math.isfinite(float(number)):
        raise invalid(f"OneHot's depth is {float(number)}")
    count = int(number)
    if count < 0:
        raise invalid(f"OneHot's depth is negative ({count})")
    if count == 0:
        raise unsupported("OneHot with depth 0 (an empty output) is not supported", ErrorCode.UNSUPPORTED_NODE_SHAPE)
    return count


def _indices(ctx: ImporterContext, node: Node) -> Tuple[Any, bool]:
    """OneHot's indices as an INT32 or INT64 tensor (floats truncated to INT64, 8-bit integers
    widened to INT32), and whether they can be negative."""
    value = ctx.require(node, 0, "indices")
    if isinstance(value, ShapeValue):
        raise unsupported("OneHot of shape-derived indices known only at run time is not supported",
                          ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    if isinstance(value, np.ndarray) and value.dtype == np.float64:
        value = np.trunc(value).astype(np.int64)
    indices = ctx.tensor(value)
    if indices.dtype in (DT.FLOAT, DT.HALF):
        return ctx.tensor(indices, DT.INT64), True
    if indices.dtype in (DT.INT8, DT.UINT8):
        return ctx.tensor(indices, DT.INT32), indices.dtype == DT.INT8
    if indices.dtype in (DT.INT32, DT.INT64):
        return indices, True
    raise unsupported(f"OneHot with indices of type {indices.dtype.name} is not supported",
                      ErrorCode.UNSUPPORTED_NODE_DATATYPE)


def _off_on(ctx: ImporterContext, node: Node, rank: int) -> Tuple[Value, Value]:
    """OneHot's off and on values, each of rank ``rank`` with extent-1 axes (constants or slices
    of the run-time values tensor)."""
    values = ctx.require(node, 2, "values")
    if isinstance(values, ShapeValue):
        raise unsupported("OneHot with shape-derived values known only at run time is not supported",
                          ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    if isinstance(values, np.ndarray):
        if values.dtype == np.float64:
            raise unsupported("OneHot with DOUBLE values is not supported", ErrorCode.UNSUPPORTED_NODE_DATATYPE)
        if values.size != 2:
            raise invalid(f"OneHot's values must hold two elements [off, on], got shape {list(values.shape)}")
        flat = values.reshape(-1)
        return flat[0].reshape([1] * rank), flat[1].reshape([1] * rank)
    shape = list(values.shape)
    if len(shape) != 1 or shape[0] not in (2, -1):
        raise invalid(f"OneHot's values must be a rank-1 tensor of two elements [off, on], got shape {shape}")
    pair = []
    for i in (0, 1):
        element = ctx.track(ctx.network.add_slice(values, [i], [1], [1])).get_output(0)
        pair.append(ctx.reshape(element, [1] * rank))
    return pair[0], pair[1]


@importer("OneHot", since=9, notes="depth a constant known at parse time (truncated to an integer); indices run-time "
          "or constant, of any supported type (floats truncated), negative ones counting from the end of depth, "
          "out-of-range ones all off; values [off, on] constant or run-time, of any supported type; any axis. The "
          "indices (wrapped with LESS, SUM and a select) unsqueezed at axis, compared with a constant iota, then a "
          "select of on and off. Depths beyond 2^28 are refused.")
def one_hot(ctx: ImporterContext, node: Node) -> List[Value]:
    depth = _depth(ctx, node)
    indices, signed = _indices(ctx, node)
    if len(indices.shape) == 0:
        raise invalid("OneHot's indices must have rank 1 or more, got a scalar")
    rank = len(indices.shape) + 1
    axis = normalize_axis(int(node.attr("axis", -1)), rank)
    off, on = _off_on(ctx, node, rank)
    if signed:
        zero = np.zeros((), numpy_dtype(indices.dtype))
        negative = ctx.elementwise(indices, zero, EW.LESS)
        wrapped = ctx.elementwise(indices, np.array(depth, numpy_dtype(indices.dtype)), EW.SUM)
        indices = ctx.alias(ctx.track(ctx.network.add_select(negative, wrapped, indices)).get_output(0), indices)
    ctx.check_made_constant(depth, f"OneHot's depth {depth}")
    iota = np.arange(depth, dtype=numpy_dtype(indices.dtype)).reshape([depth if a == axis else 1 for a in range(rank)])
    hits = ctx.elementwise(ctx.unsqueeze(indices, [axis]), iota, EW.EQUAL)
    dtype = ctx.common_dtype(off, on)
    layer = ctx.network.add_select(hits, ctx.tensor(on, dtype), ctx.tensor(off, dtype))
    return [ctx.alias(ctx.track(layer).get_output(0), hits)]
