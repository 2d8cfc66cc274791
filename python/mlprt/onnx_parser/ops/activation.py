"""Importers of activations written as compositions of layers: ThresholdedRelu, Celu, Softsign,
Swish, Shrink and Hardmax."""
from __future__ import annotations

import math
from typing import Any, List, Union

import numpy as np

from mlprt import _core
from mlprt.onnx_parser.context import ImporterContext, Node, Value, normalize_axis, numpy_dtype
from mlprt.onnx_parser.errors import ErrorCode, invalid, unsupported
from mlprt.onnx_parser.ops.math import _FLOATING, _INTEGERS, _require_float
from mlprt.onnx_parser.ops.nn import _coerced_2d
from mlprt.onnx_parser.registry import importer

EW = _core.ElementWiseOperation
Act = _core.ActivationType
Un = _core.UnaryOperation
DT = _core.DataType

#: A condition known at parse time (a Python bool) or a BOOL tensor computed at run time.
Condition = Union[bool, Any]


def _scalar(x: Any, value: float) -> np.ndarray:
    """``value`` as a scalar constant of tensor ``x``'s element type."""
    return np.array(value, numpy_dtype(x.dtype))


def _select(ctx: ImporterContext, condition: Any, then: Value, other: Value) -> Any:
    """A select layer, ranks equalized and constants converted to the element type of the tensor
    among ``then`` and ``other`` (NumPy broadcasting of all three)."""
    dtype = ctx.common_dtype(then, other)
    rank = max(ctx.rank(condition), ctx.rank(then), ctx.rank(other))
    inputs = [ctx.tensor(ctx.broadcast_rank(condition, rank)), ctx.tensor(ctx.broadcast_rank(then, rank), dtype),
              ctx.tensor(ctx.broadcast_rank(other, rank), dtype)]
    out = ctx.track(ctx.network.add_select(*inputs)).get_output(0)
    for t in inputs:  # the output has t's shape when the others only broadcast along t's axes
        others = [o for o in inputs if o is not t]
        if list(t.shape) == list(out.shape) and \
                all(d == 1 or d == e for o in others for d, e in zip(o.shape, out.shape)):
            return ctx.alias(out, t)
    return out


def _where(ctx: ImporterContext, condition: Condition, then: Value, other: Value) -> Value:
    """``condition ? then : other``, where a condition known at parse time picks a side."""
    if isinstance(condition, bool):
        return then if condition else other
    return _select(ctx, condition, then, other)


def _or(ctx: ImporterContext, a: Condition, b: Condition) -> Condition:
    if isinstance(a, bool):
        return True if a else b
    if isinstance(b, bool):
        return True if b else a
    return ctx.elementwise(a, b, EW.OR)


# -- comparisons with a float threshold ----------------------------------------------------------


def _half_at_most(value: float) -> np.float16:
    """The largest FLOAT16 value <= ``value`` (NaN stays NaN)."""
    half = np.float16(value)
    return np.nextafter(half, np.float16(-np.inf)) if float(half) > value else half


def _half_at_least(value: float) -> np.float16:
    """The smallest FLOAT16 value >= ``value`` (NaN stays NaN)."""
    half = np.float16(value)
    return np.nextafter(half, np.float16(np.inf)) if float(half) < value else half


def _compare(ctx: ImporterContext, x: Any, greater: bool, bound: float, limits: Any = None) -> Condition:
    """``x > bound`` (``greater``) or ``x < bound`` exactly as real numbers, for x of any numeric
    element type and a float ``bound``: for FLOAT16 the bound is rounded toward the side that keeps
    the comparison exact, for integers it becomes the integer bound (``x > floor(bound)``,
    ``x < ceil(bound)``), and a comparison that the range ``limits`` (np.iinfo of the values'
    original type, for integers) decides is a Python bool."""
    op = EW.GREATER if greater else EW.LESS
    if x.dtype in _FLOATING:
        if x.dtype == DT.HALF:
            threshold = _half_at_most(bound) if greater else _half_at_least(bound)
        else:
            threshold = np.float32(bound)
        return ctx.elementwise(x, np.array(threshold, numpy_dtype(x.dtype)), op)
    if math.isnan(bound):
        return False
    if math.isinf(bound):
        return (bound < 0) if greater else (bound > 0)
    integer = math.floor(bound) if greater else math.ceil(bound)
    if greater and (integer < limits.min or integer >= limits.max):
        return integer < limits.min
    if not greater and (integer > limits.max or integer <= limits.min):
        return integer > limits.max
    return ctx.elementwise(x, np.array(integer, numpy_dtype(x.dtype)), op)


# -- importers ----------------------------------------------------------------------------------


@importer("ThresholdedRelu", since=10, notes="alpha (default 1): x where x > alpha, else 0 (NaN gives 0), as a "
          "comparison and a select; FLOAT and FLOAT16 (alpha compared exactly, not rounded to half).")
def thresholded_relu(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    _require_float(node, x)
    above = _compare(ctx, x, True, float(node.attr("alpha", 1.0)))
    return [_where(ctx, above, x, _scalar(x, 0.0))]


@importer("Celu", since=12, notes="alpha (default 1, not 0): x where x > 0, else alpha * expm1(x / alpha) (ELU "
          "activation of x / alpha for alpha > 0, exp - 1 for alpha < 0), as ONNX's formula max(0, x) + "
          "min(0, alpha * (exp(x / alpha) - 1)); FLOAT and FLOAT16. One ELU activation for alpha = 1.")
def celu(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    _require_float(node, x)
    alpha = float(node.attr("alpha", 1.0))
    if alpha == 1.0:
        return [ctx.activation(x, Act.ELU, 1.0)]
    if alpha == 0.0 or not math.isfinite(alpha):
        raise unsupported(f"Celu with alpha = {alpha} is not supported: its formula divides x by alpha",
                          ErrorCode.UNSUPPORTED_NODE_ATTR)
    scaled = ctx.elementwise(x, _scalar(x, alpha), EW.DIV)
    if alpha > 0:  # x <= 0 makes x / alpha <= 0, where ELU with parameter alpha is alpha * expm1
        negative = ctx.activation(scaled, Act.ELU, alpha)
    else:  # x <= 0 makes x / alpha >= 0, where ELU is the identity
        grown = ctx.elementwise(ctx.unary(scaled, Un.EXP), _scalar(x, 1.0), EW.SUB)
        negative = ctx.elementwise(grown, _scalar(x, alpha), EW.PROD)
    positive = ctx.elementwise(x, _scalar(x, 0.0), EW.GREATER)
    return [_select(ctx, positive, x, negative)]


@importer("Softsign", since=1, notes="x / (1 + abs(x)): unary ABS and elementwise SUM and DIV; FLOAT and FLOAT16.")
def softsign(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    _require_float(node, x)
    denominator = ctx.elementwise(ctx.unary(x, Un.ABS), _scalar(x, 1.0), EW.SUM)
    return [ctx.elementwise(x, denominator, EW.DIV)]


@importer("Swish", since=24, notes="alpha (default 1): the SILU activation for alpha = 1, else x * sigmoid(alpha "
          "* x) (PROD, SIGMOID, PROD); FLOAT and FLOAT16.")
def swish(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    _require_float(node, x)
    alpha = float(node.attr("alpha", 1.0))
    if alpha == 1.0:
        return [ctx.activation(x, Act.SILU)]
    gate = ctx.activation(ctx.elementwise(x, _scalar(x, alpha), EW.PROD), Act.SIGMOID)
    return [ctx.elementwise(x, gate, EW.PROD)]


def _add_float_to_integers(ctx: ImporterContext, x: Any, addend: float) -> Any:
    """trunc(x + addend) for an integer tensor x computed exactly in its own (wrapping) type:
    s = x + floor(addend), plus 1 where s < 0 when addend has a fraction (ONNX Runtime adds in
    float and truncates toward zero)."""
    whole = math.floor(addend)
    wrapped = np.array(whole % (1 << 64), np.uint64).astype(numpy_dtype(x.dtype))  # modulo the type's range
    total = x if whole == 0 else ctx.elementwise(x, wrapped, EW.SUM)
    if whole == addend:
        return total
    negative = ctx.elementwise(total, _scalar(x, 0), EW.LESS)
    return _select(ctx, negative, ctx.elementwise(total, _scalar(x, 1), EW.SUM), total)


@importer("Shrink", since=9, notes="lambd (default 0.5), bias (default 0): x + bias where x < -lambd, x - bias "
          "where x > lambd, else 0, as comparisons and selects (one select for bias = 0). FLOAT and FLOAT16 "
          "(lambd compared exactly); INT8, UINT8, INT32 and INT64 with integer bounds, exact in the integer "
          "type (8-bit ones in INT32, cast back wrapping); a fractional bias truncates toward zero, as ONNX "
          "Runtime does.")
def shrink(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    lambd, bias = float(node.attr("lambd", 0.5)), float(node.attr("bias", 0.0))
    if x.dtype in _FLOATING:
        below = _compare(ctx, x, False, -lambd)
        above = _compare(ctx, x, True, lambd)
        if bias == 0.0:
            return [_where(ctx, _or(ctx, below, above), x, _scalar(x, 0.0))]
        plus = ctx.elementwise(x, _scalar(x, bias), EW.SUM)
        minus = ctx.elementwise(x, _scalar(x, bias), EW.SUB)
        return [_where(ctx, below, plus, _where(ctx, above, minus, _scalar(x, 0.0)))]
    if x.dtype not in _INTEGERS:
        raise unsupported(f"Shrink needs a numeric input, got {x.dtype.name}", ErrorCode.UNSUPPORTED_NODE_DATATYPE)
    if not math.isfinite(bias):
        raise unsupported(f"Shrink of integers with bias = {bias} is not supported", ErrorCode.UNSUPPORTED_NODE_ATTR)
    limits = np.iinfo(numpy_dtype(x.dtype))
    wide = ctx.tensor(x, DT.INT32) if x.dtype in (DT.INT8, DT.UINT8) else x
    below = _compare(ctx, wide, False, -lambd, limits)
    above = _compare(ctx, wide, True, lambd, limits)
    zero = _scalar(wide, 0)
    if bias == 0.0:
        result = _where(ctx, _or(ctx, below, above), wide, zero)
    else:
        plus = _add_float_to_integers(ctx, wide, bias) if below is not False else zero
        minus = _add_float_to_integers(ctx, wide, -bias) if above is not False else zero
        result = _where(ctx, below, plus, _where(ctx, above, minus, zero))
    if isinstance(result, np.ndarray):  # every element is 0 (lambd covers the type's range)
        result = ctx.elementwise(wide, zero, EW.PROD)
    return [ctx.alias(ctx.tensor(result, x.dtype), x)]


def _hardmax(ctx: ImporterContext, x: Any, axis: int) -> Any:
    """1 at the first maximum along ``axis`` (a TopK layer with K = 1), 0 elsewhere: the index
    compared with the positions along the axis, then a select."""
    extent = ctx.dims(x)[axis]
    if not (isinstance(extent, int) and extent > 0):
        raise unsupported(f"Hardmax along axis {axis}, whose extent is known only at run time (or 0), is not supported",
                          ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    layer = ctx.track(ctx.network.add_topk(x, _core.TopKOperation.MAX, 1, 1 << axis))
    first = ctx.elementwise(layer.get_output(1), ctx.positions_along(x, axis, extent, _core.DataType.INT32), EW.EQUAL)
    return ctx.alias(_select(ctx, first, _scalar(x, 1.0), _scalar(x, 0.0)), x)


@importer("Hardmax", since=1, notes="Any axis; opset < 13 semantics (2-D coercion) too; the extent along the axis "
          "known at parse time. A TopK layer (K = 1: the first maximum; a NaN counts as the maximum, as NumPy's "
          "argmax and ONNX's reference) and an equality with a constant iota; FLOAT and FLOAT16.")
def hardmax(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    _require_float(node, x)
    rank = len(x.shape)
    if rank == 0:
        raise invalid("Hardmax needs an input of rank 1 or more")
    if node.opset < 13:
        axis = normalize_axis(node.attr("axis", 1), rank)
        if not all(isinstance(d, int) for d in ctx.dims(x)[axis:]):
            raise unsupported(f"Hardmax (opset < 13) over axes {axis}..{rank - 1} flattened, whose extents are known "
                              "only at run time, is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
        return [_coerced_2d(ctx, node, x, axis, lambda t, a: _hardmax(ctx, t, a))]
    return [_hardmax(ctx, x, normalize_axis(node.attr("axis", -1), rank))]
