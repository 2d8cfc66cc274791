"""Importers of elementwise arithmetic, unary functions and activations."""
from __future__ import annotations

from typing import Any, List, Optional, Tuple

import numpy as np

from mlprt import _core
from mlprt.onnx_parser.context import (ImporterContext, Node, ShapeElem, ShapeValue, SymDim, Unknown, Value,
                                       network_dtype, normalize_axis, numpy_dtype)
from mlprt.onnx_parser.errors import ErrorCode, invalid, unsupported
from mlprt.onnx_parser.ops.shape import as_shape_value, expand_like, shape_binary, shape_compare, shape_where
from mlprt.onnx_parser.registry import importer

EW = _core.ElementWiseOperation
Act = _core.ActivationType
Un = _core.UnaryOperation

_BINARY = {"Add": EW.SUM, "Sub": EW.SUB, "Mul": EW.PROD, "Div": EW.DIV, "Pow": EW.POW}
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _require_float(node: Node, x: Any) -> None:
    if x.dtype not in (_core.DataType.FLOAT, _core.DataType.HALF):
        raise unsupported(f"{node.op_type} needs a FLOAT or FLOAT16 input, got {x.dtype.name}",
                          ErrorCode.UNSUPPORTED_NODE_DATATYPE)


_FLOATING = (_core.DataType.FLOAT, _core.DataType.HALF)


def _dtype_of(ctx: ImporterContext, value: Value) -> Any:
    """The network DataType of a tensor, or of a constant array (None for other values)."""
    if isinstance(value, np.ndarray):
        return None if value.dtype.kind not in "biuf" else network_dtype(value.dtype)
    if isinstance(value, ShapeValue):
        return None
    return value.dtype


def _integer_base_pow(ctx: ImporterContext, base: Any, exponent: Value) -> Any:
    """Pow of an integer base with a floating exponent: computed in float, truncated back to the
    base's type (as ONNX Runtime does), since 4 ^ 0.5 is not 4 ^ 0."""
    result = ctx.elementwise(ctx.tensor(base, _core.DataType.FLOAT), exponent, EW.POW)
    return ctx.alias(ctx.track(ctx.network.add_cast(result, base.dtype)).get_output(0), result)


@importer("Add", "Sub", "Mul", "Div", "Pow", notes="NumPy broadcasting (ranks equalized with shuffles); "
          "FLOAT, FLOAT16, INT8, UINT8, INT32, INT64 (integers wrap; Div truncates toward zero, and an "
          "integer division by zero gives 0 instead of trapping); Pow with an exponent of another type; "
          "on shape values folded at parse time.")
def binary(ctx: ImporterContext, node: Node) -> List[Value]:
    a, b = ctx.require(node, 0), ctx.require(node, 1)
    form = _index_form(ctx, node.op_type, a, b)
    if isinstance(a, ShapeValue) or isinstance(b, ShapeValue):
        sa, sb = as_shape_value(a), as_shape_value(b)
        if sa is not None and sb is not None:
            return [shape_binary(node.op_type, sa, sb)]
        # With a run-time tensor: the shape value is computed at run time too (INT64, then cast).
        other = b if isinstance(a, ShapeValue) else a
        dtype = _dtype_of(ctx, other) or _core.DataType.INT64
        a, b = (ctx.tensor(v, dtype) if isinstance(v, ShapeValue) else v for v in (a, b))
    for value in (a, b):
        if _dtype_of(ctx, value) == _core.DataType.BOOL:
            raise unsupported(f"{node.op_type} of BOOL tensors is not defined", ErrorCode.UNSUPPORTED_NODE_DATATYPE)
    if node.op_type == "Pow" and not isinstance(a, np.ndarray) and a.dtype not in _FLOATING \
            and _dtype_of(ctx, b) in _FLOATING:
        return [_integer_base_pow(ctx, a, b)]
    out = ctx.elementwise(a, b, _BINARY[node.op_type])
    if form is not None:
        ctx.index_forms[out] = form
    return [out]


def _scalar_extent(value: Value) -> Optional[ShapeElem]:
    """An integer constant or shape value of one element (its rank at most 1): that element."""
    if isinstance(value, ShapeValue):
        return value.elems[0] if len(value.elems) == 1 and not isinstance(value.elems[0], Unknown) else None
    if isinstance(value, np.ndarray) and value.size == 1 and value.ndim <= 1 and value.dtype.kind in "iu":
        return int(value.reshape(-1)[0])
    return None


def _index_form(ctx: ImporterContext, op: str, a: Value, b: Value) -> Optional[Tuple[Tuple[int, ShapeElem], ...]]:
    """The index form (ImporterContext.index_forms) of a * b or a + b where the operands' forms
    give one: positions times an integer or a run-time extent (coefficients 1), and sums of
    positions along different axes. None otherwise."""
    tensors = [v for v in (a, b) if not isinstance(v, (np.ndarray, ShapeValue))]
    if op == "Mul" and len(tensors) == 1 and tensors[0] in ctx.index_forms and len(tensors[0].shape) >= 1:
        factor = _scalar_extent(b if tensors[0] is a else a)
        terms = ctx.index_forms[tensors[0]]
        if isinstance(factor, int) and all(isinstance(c, int) for _, c in terms):
            return tuple((axis, c * factor) for axis, c in terms)
        if isinstance(factor, SymDim) and all(c == 1 for _, c in terms):
            return tuple((axis, factor) for axis, _ in terms)
        return None
    if op != "Add" or len(tensors) != 2 or any(t not in ctx.index_forms for t in tensors):
        return None
    rank = max(len(t.shape) for t in tensors)
    terms = [(axis + rank - len(t.shape), c) for t in tensors for axis, c in ctx.index_forms[t]]
    axes = [axis for axis, _ in terms]
    return tuple(sorted(terms, key=lambda term: term[0])) if len(set(axes)) == len(axes) else None


@importer("Mod", since=10, notes="fmod=0: the remainder takes the divisor's sign (Python's %); fmod=1: the "
          "dividend's sign (C's % and fmod). Integers, FLOAT and FLOAT16 (fmod=0 from opset 28); an integer "
          "remainder by zero is the dividend instead of a trap.")
def mod(ctx: ImporterContext, node: Node) -> List[Value]:
    a, b = ctx.require(node, 0), ctx.require(node, 1)
    if isinstance(a, ShapeValue) or isinstance(b, ShapeValue):
        raise unsupported("Mod of shape values with run-time extents is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    fmod = int(node.attr("fmod", 0))
    if ctx.common_dtype(a, b) in _FLOATING and not fmod and node.opset < 28:
        raise invalid("Mod of floating tensors needs fmod=1 before opset 28")
    if ctx.common_dtype(a, b) == _core.DataType.BOOL:
        raise unsupported("Mod of BOOL tensors is not defined", ErrorCode.UNSUPPORTED_NODE_DATATYPE)
    return [ctx.elementwise(a, b, EW.FMOD if fmod else EW.MOD)]


def _variadic(ctx: ImporterContext, node: Node, op: Any) -> Any:
    values = [ctx.require(node, i) for i in range(node.num_inputs) if node.has_input(i)]
    if not values:
        raise invalid(f"{node.op_type} needs at least one input")
    if any(isinstance(v, ShapeValue) for v in values):
        raise unsupported(f"{node.op_type} of shape values is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    result = values[0]
    for v in values[1:]:
        result = ctx.elementwise(result, v, op)
    return ctx.tensor(result)


@importer("Min", "Max", "Sum", notes="Variadic, with broadcasting.")
def variadic(ctx: ImporterContext, node: Node) -> List[Value]:
    op = {"Min": EW.MIN, "Max": EW.MAX, "Sum": EW.SUM}[node.op_type]
    return [_variadic(ctx, node, op)]


@importer("Mean", notes="Variadic: sum divided by the input count.")
def mean(ctx: ImporterContext, node: Node) -> List[Value]:
    total = _variadic(ctx, node, EW.SUM)
    count = sum(1 for i in range(node.num_inputs) if node.has_input(i))
    return [ctx.elementwise(total, np.array(count, np.float32), EW.DIV) if count > 1 else total]


_UNARY = {"Exp": Un.EXP, "Log": Un.LOG, "Sqrt": Un.SQRT, "Reciprocal": Un.RECIP, "Abs": Un.ABS,
          "Neg": Un.NEG, "Erf": Un.ERF, "Floor": Un.FLOOR, "Ceil": Un.CEIL, "Round": Un.ROUND, "Sign": Un.SIGN,
          "Sin": Un.SIN, "Cos": Un.COS, "Tan": Un.TAN, "Asin": Un.ASIN, "Acos": Un.ACOS, "Atan": Un.ATAN,
          "Sinh": Un.SINH, "Cosh": Un.COSH, "Asinh": Un.ASINH, "Acosh": Un.ACOSH, "Atanh": Un.ATANH}
#: The unary operators that take integers too (the others take FLOAT or FLOAT16).
_UNARY_ANY_NUMBER = ("Abs", "Neg", "Sign")


@importer(*_UNARY, notes="Unary layer; Abs, Neg and Sign take integers too. Round rounds halves to even.")
def unary(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    if node.op_type not in _UNARY_ANY_NUMBER:
        _require_float(node, x)
    elif x.dtype == _core.DataType.BOOL:
        raise unsupported(f"{node.op_type} needs a numeric input, got BOOL", ErrorCode.UNSUPPORTED_NODE_DATATYPE)
    return [ctx.unary(x, _UNARY[node.op_type])]


@importer("IsNaN", notes="FLOAT or FLOAT16 input, BOOL result (unary ISNAN).")
def is_nan(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    _require_float(node, x)
    return [ctx.unary(x, Un.ISNAN)]


@importer("IsInf", notes="FLOAT or FLOAT16 input, BOOL result: unary ISINF, and with detect_negative = 0 or "
          "detect_positive = 0 also a comparison with zero for the sign kept.")
def is_inf(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    _require_float(node, x)
    negative, positive = bool(node.attr("detect_negative", 1)), bool(node.attr("detect_positive", 1))
    infinite = ctx.unary(x, Un.ISINF)
    if negative and positive:
        return [infinite]
    if not negative and not positive:
        return [ctx.elementwise(infinite, np.array(False), EW.AND)]
    zero = np.zeros((), numpy_dtype(x.dtype))
    signed = ctx.elementwise(x, zero, EW.GREATER if positive else EW.LESS)
    return [ctx.elementwise(infinite, signed, EW.AND)]


@importer("Relu", "Sigmoid", "Tanh", notes="Activation layer; Relu of integers as MAX(x, 0).")
def simple_activation(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    if node.op_type == "Relu" and x.dtype not in _FLOATING and x.dtype != _core.DataType.BOOL:
        return [ctx.elementwise(x, np.zeros((), numpy_dtype(x.dtype)), EW.MAX)]
    _require_float(node, x)
    kind = {"Relu": Act.RELU, "Sigmoid": Act.SIGMOID, "Tanh": Act.TANH}[node.op_type]
    return [ctx.activation(x, kind)]


@importer("LeakyRelu", notes="alpha (default 0.01).")
def leaky_relu(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    _require_float(node, x)
    return [ctx.activation(x, Act.LEAKY_RELU, node.attr("alpha", 0.01))]


@importer("Elu", notes="alpha (default 1).")
def elu(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    _require_float(node, x)
    return [ctx.activation(x, Act.ELU, node.attr("alpha", 1.0))]


@importer("Selu", notes="alpha and gamma (SELU activation, beta = gamma).")
def selu(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    _require_float(node, x)
    return [ctx.activation(x, Act.SELU, node.attr("alpha", 1.67326319217681884765625),
                           node.attr("gamma", 1.05070102214813232421875))]


@importer("Softplus", notes="SOFTPLUS activation with alpha = beta = 1.")
def softplus(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    _require_float(node, x)
    out = ctx.activation(x, Act.SOFTPLUS, 1.0, 1.0)
    ctx.softplus_of[out] = x
    return [out]


@importer("Mish", since=18, notes="x * tanh(softplus(x)): SOFTPLUS and TANH activations and a PROD layer.")
def mish(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    _require_float(node, x)
    softplus_x = ctx.activation(x, Act.SOFTPLUS, 1.0, 1.0)
    return [ctx.elementwise(x, ctx.activation(softplus_x, Act.TANH), EW.PROD)]


@importer("HardSigmoid", notes="alpha (default 0.2), beta (default 0.5).")
def hard_sigmoid(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    _require_float(node, x)
    return [ctx.activation(x, Act.HARD_SIGMOID, node.attr("alpha", 0.2), node.attr("beta", 0.5))]


@importer("HardSwish", since=14, notes="HARD_SWISH activation (alpha = 1/6, beta = 0.5).")
def hard_swish(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    _require_float(node, x)
    return [ctx.activation(x, Act.HARD_SWISH, 1.0 / 6.0, 0.5)]


@importer("Gelu", since=20, notes="approximate = none (GELU_ERF) or tanh (GELU_TANH).")
def gelu(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    _require_float(node, x)
    approximate = node.attr("approximate", "none")
    if approximate not in ("none", "tanh"):
        raise unsupported(f"Gelu approximate='{approximate}' is not supported", ErrorCode.UNSUPPORTED_NODE_ATTR)
    return [ctx.activation(x, Act.GELU_ERF if approximate == "none" else Act.GELU_TANH)]


@importer("PRelu", notes="A single slope becomes LEAKY_RELU; otherwise relu(x) + slope * min(x, 0).")
def prelu(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    _require_float(node, x)
    slope = ctx.require(node, 1)
    if isinstance(slope, np.ndarray) and slope.size >= 1 and np.all(slope == slope.reshape(-1)[0]) \
            and slope.ndim <= len(x.shape):
        return [ctx.activation(x, Act.LEAKY_RELU, float(slope.reshape(-1)[0]))]
    positive = ctx.activation(x, Act.RELU)
    negative = ctx.elementwise(x, np.zeros((), np.float32), EW.MIN)
    return [ctx.elementwise(positive, ctx.elementwise(negative, slope, EW.PROD), EW.SUM)]


def _bound(ctx: ImporterContext, node: Node, index: int, attr: str) -> Optional[Value]:
    if node.has_input(index):
        return ctx.require(node, index)
    if attr in node.attrs:
        return np.array(node.attr(attr), np.float32)
    return None


@importer("Clip", notes="Bounds as inputs or attributes (opset < 11), either may be missing; constant "
          "bounds give a CLIP activation, run-time bounds MAX/MIN layers.")
def clip(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    low, high = _bound(ctx, node, 1, "min"), _bound(ctx, node, 2, "max")
    constant_bounds = all(b is None or (isinstance(b, np.ndarray) and b.size == 1) for b in (low, high))
    if constant_bounds and x.dtype in (_core.DataType.FLOAT, _core.DataType.HALF):
        alpha = -_FLOAT32_MAX if low is None else float(np.asarray(low).reshape(-1)[0])
        beta = _FLOAT32_MAX if high is None else float(np.asarray(high).reshape(-1)[0])
        return [ctx.activation(x, Act.CLIP, alpha, beta)]
    result: Value = x
    if low is not None:
        result = ctx.elementwise(result, low, EW.MAX)
    if high is not None:
        result = ctx.elementwise(result, high, EW.MIN)
    return [ctx.tensor(result)]


_COMPARE = {"Greater": [EW.GREATER], "Less": [EW.LESS], "Equal": [EW.EQUAL],
            "GreaterOrEqual": [EW.GREATER, EW.EQUAL], "LessOrEqual": [EW.LESS, EW.EQUAL]}


@importer(*_COMPARE, notes="BOOL result; numbers of any supported type (Equal also BOOL). GreaterOrEqual "
          "and LessOrEqual are OR of two comparisons, so NaN compares false as in ONNX. Constants and known "
          "shape values are folded; positions of a run-time Range compared with a constant they all pass "
          "(transformers' masks: key positions >= 0) are known true.")
def compare(ctx: ImporterContext, node: Node) -> List[Value]:
    a, b = ctx.require(node, 0), ctx.require(node, 1)
    if isinstance(a, ShapeValue) or isinstance(b, ShapeValue):
        sa, sb = as_shape_value(a), as_shape_value(b)
        decided = None
        if sa is not None and sb is not None:
            parts = [shape_compare(op.name.capitalize(), sa, sb) for op in _COMPARE[node.op_type]]
            if all(p is not None for p in parts):
                decided = parts[0] if len(parts) == 1 else np.logical_or(parts[0], parts[1])
        if decided is None:
            raise unsupported(f"{node.op_type} of shape values with run-time extents is not supported",
                              ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
        return [decided]
    known = _known_true(ctx, node.op_type, a, b)
    if known is not None:
        return [known]
    results = [ctx.elementwise(a, b, op) for op in _COMPARE[node.op_type]]
    out = results[0] if len(results) == 1 else ctx.elementwise(results[0], results[1], EW.OR)
    ctx.comparisons[out] = (node.op_type, a, b)
    return [out]


# x >= c, x > c, c <= x and c < x, each true everywhere when every x is at least a bound b with
# b >= c (>= forms) or b > c (strict forms).
_BOUND_DECIDES = {("GreaterOrEqual", 0): lambda bound, c: bound >= c, ("Greater", 0): lambda bound, c: bound > c,
                  ("LessOrEqual", 1): lambda bound, c: c <= bound, ("Less", 1): lambda bound, c: c < bound}


def _known_true(ctx: ImporterContext, op: str, a: Value, b: Value) -> Optional[Any]:
    """A comparison of a tensor whose values have a known lower bound (positions from an axis
    range) with a scalar constant that every element passes: true of the tensor's shape, computed
    from the positions (once per set of shapes) and known to be true everywhere. None otherwise."""
    for side, (x, c) in enumerate(((a, b), (b, a))):
        decides = _BOUND_DECIDES.get((op, side))
        if decides is None or isinstance(x, (np.ndarray, ShapeValue)) or not isinstance(c, np.ndarray):
            continue
        bound = ctx.lower_bounds.get(x)
        if bound is None or c.size != 1 or c.ndim > len(x.shape) or not decides(bound, float(c.reshape(-1)[0])):
            continue
        out = ctx.elementwise(x, x, EW.EQUAL)  # positions are never NaN
        ctx.all_true.add(out)
        return out
    return None


def _true_everywhere(ctx: ImporterContext, value: Value) -> bool:
    if isinstance(value, np.ndarray):
        return value.dtype == np.bool_ and bool(value.all())
    return not isinstance(value, ShapeValue) and value in ctx.all_true


def _and_with_true(ctx: ImporterContext, a: Value, b: Value) -> Optional[Any]:
    """a AND b where one operand is true everywhere: the other, broadcast to the result's shape
    (as a select of it, where that shape is not its own), with no logic step. None otherwise."""
    for true, x in ((a, b), (b, a)):
        if not _true_everywhere(ctx, true) or isinstance(x, (np.ndarray, ShapeValue)):
            continue
        if isinstance(true, np.ndarray):
            if any(e != 1 for e in true.shape):
                continue  # a constant that may widen x: left to the logic step
            return ctx.tensor(ctx.broadcast_rank(x, max(true.ndim, len(x.shape))))
        result = x if ctx.dims(x) == ctx.dims(true) else expand_like(ctx, x, true)
        if x in ctx.all_true:
            ctx.all_true.add(result)
        return result
    return None


_LOGIC = {"And": EW.AND, "Or": EW.OR, "Xor": EW.XOR}


def _require_bool(node: Node, x: Any) -> None:
    if x.dtype != _core.DataType.BOOL:
        raise unsupported(f"{node.op_type} needs BOOL inputs, got {x.dtype.name}", ErrorCode.UNSUPPORTED_NODE_DATATYPE)


@importer(*_LOGIC, notes="BOOL inputs, NumPy broadcasting. And with an operand known true everywhere (a true "
          "constant, a comparison known true) is the other operand, broadcast.")
def logic(ctx: ImporterContext, node: Node) -> List[Value]:
    a, b = ctx.require(node, 0), ctx.require(node, 1)
    for value in (a, b):
        if not isinstance(value, np.ndarray):
            _require_bool(node, ctx.tensor(value))
    simplified = _and_with_true(ctx, a, b) if node.op_type == "And" else None
    if simplified is not None:
        return [simplified]
    return [ctx.elementwise(a, b, _LOGIC[node.op_type])]


@importer("Not", notes="BOOL input (unary NOT).")
def logical_not(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    _require_bool(node, x)
    return [ctx.unary(x, Un.NOT)]


#: Softplus(x) - x < exp(-15) x for x > 15: below float32 resolution.
_SOFTPLUS_THRESHOLD_MIN = 15.0


def _softplus_threshold(ctx: ImporterContext, cond: Value, then: Value, other: Value) -> bool:
    """Whether Where(cond, then, other) is PyTorch's Where(x > T, x, Softplus(x)) with T >= 15,
    which is Softplus(x) in float32."""
    if isinstance(cond, (np.ndarray, ShapeValue)) or cond not in ctx.comparisons:
        return False
    op, a, b = ctx.comparisons[cond]
    return (op == "Greater" and isinstance(b, np.ndarray) and b.size == 1
            and float(b.reshape(-1)[0]) >= _SOFTPLUS_THRESHOLD_MIN
            and not isinstance(then, (np.ndarray, ShapeValue)) and not isinstance(a, (np.ndarray, ShapeValue))
            and then == a and not isinstance(other, (np.ndarray, ShapeValue)) and ctx.softplus_of.get(other) == then)


@importer("Trilu", since=14, notes="Any element type; the last two extents known at parse time (leading axes may "
          "be dynamic) and k constant: a select with the triangle as a constant mask (upper: column - row >= k; "
          "lower: column - row <= k; masks beyond 2^28 elements are refused).")
def trilu(ctx: ImporterContext, node: Node) -> List[Value]:
    value = ctx.require(node, 0)
    if isinstance(value, ShapeValue):
        raise unsupported("Trilu of a shape value is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    k = 0
    if node.has_input(1):
        given = ctx.integer_constant(node, 1, "k")
        if given.size != 1:
            raise invalid(f"Trilu's k must be a scalar, got shape {list(given.shape)}")
        k = int(given.reshape(()))
    x = ctx.tensor(value)
    dims = ctx.shape_of(x)
    if len(dims) < 2:
        raise invalid(f"Trilu needs an input of rank 2 or more, got rank {len(dims)}")
    rows, columns = dims[-2], dims[-1]
    if not (isinstance(rows, int) and rows >= 0 and isinstance(columns, int) and columns >= 0):
        raise unsupported("Trilu of a tensor whose last two extents are known only at run time is not supported",
                          ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    ctx.check_made_constant(rows * columns, f"Trilu's mask of {rows} x {columns}")
    ones = np.ones((rows, columns), np.bool_)
    mask = np.triu(ones, k) if node.attr("upper", 1) else np.tril(ones, k)
    rank = len(dims)
    inputs = [ctx.tensor(ctx.broadcast_rank(mask, rank)), x,
              ctx.tensor(ctx.broadcast_rank(np.zeros((), numpy_dtype(x.dtype)), rank), x.dtype)]
    return [ctx.alias(ctx.track(ctx.network.add_select(*inputs)).get_output(0), x)]


@importer("Where", notes="Select layer: BOOL condition, any element type, NumPy broadcasting of all three "
          "inputs. PyTorch's softplus threshold Where(x > T, x, Softplus(x)) (T >= 15) is Softplus(x) "
          "in float32 and becomes just that.")
def where(ctx: ImporterContext, node: Node) -> List[Value]:
    cond, then, other = ctx.require(node, 0), ctx.require(node, 1), ctx.require(node, 2)
    if _softplus_threshold(ctx, cond, then, other):
        return [other]
    if isinstance(then, ShapeValue) or isinstance(other, ShapeValue):
        st, so = as_shape_value(then), as_shape_value(other)
        if isinstance(cond, np.ndarray) and cond.ndim <= 1 and st is not None and so is not None:
            return [shape_where(cond.astype(np.bool_), st, so)]
    for value in (cond, then, other):
        if isinstance(value, ShapeValue):
            raise unsupported("Where of shape values with run-time extents is not supported",
                              ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    condition = ctx.tensor(cond)
    if condition.dtype != _core.DataType.BOOL:
        raise invalid(f"Where needs a BOOL condition, got {condition.dtype.name}")
    dtype = ctx.common_dtype(then, other)
    rank = max(ctx.rank(cond), ctx.rank(then), ctx.rank(other))
    inputs = [ctx.tensor(ctx.broadcast_rank(v, rank), t) for v, t in
              ((condition, None), (then, dtype), (other, dtype))]
    layer = ctx.track(ctx.network.add_select(*inputs))
    return [ctx.carry_extents(layer.get_output(0), inputs)]


_BITWISE = {"BitwiseAnd": EW.BITWISE_AND, "BitwiseOr": EW.BITWISE_OR, "BitwiseXor": EW.BITWISE_XOR}
_INTEGERS = (_core.DataType.INT8, _core.DataType.UINT8, _core.DataType.INT32, _core.DataType.INT64)


def _require_integer(ctx: ImporterContext, node: Node, *values: Value) -> None:
    for value in values:
        dtype = _dtype_of(ctx, value)
        if dtype is not None and dtype not in _INTEGERS:
            raise unsupported(f"{node.op_type} needs integer inputs (INT8, UINT8, INT32 or INT64), got {dtype.name}",
                              ErrorCode.UNSUPPORTED_NODE_DATATYPE)


@importer(*_BITWISE, since=18, notes="INT8, UINT8, INT32 and INT64 (the types mlprt runs), NumPy broadcasting.")
def bitwise(ctx: ImporterContext, node: Node) -> List[Value]:
    a, b = ctx.require(node, 0), ctx.require(node, 1)
    _require_integer(ctx, node, a, b)
    return [ctx.elementwise(a, b, _BITWISE[node.op_type])]


@importer("BitwiseNot", since=18, notes="INT8, UINT8, INT32 and INT64: XOR with all bits set.")
def bitwise_not(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    _require_integer(ctx, node, x)
    ones = np.array(-1, np.int64).astype(numpy_dtype(x.dtype))  # all bits set in the type's width
    return [ctx.elementwise(x, ones.reshape([1] * len(x.shape)), EW.BITWISE_XOR)]


@importer("BitShift", notes="direction LEFT or RIGHT; INT8, UINT8, INT32 and INT64 (signed types as opset 28 "
          "allows: right shifts are arithmetic); a count that is negative or at least the type's width "
          "shifts every bit out (0, or -1 for a negative value shifted right), as ONNX's reference does.")
def bit_shift(ctx: ImporterContext, node: Node) -> List[Value]:
    a, b = ctx.require(node, 0), ctx.require(node, 1)
    _require_integer(ctx, node, a, b)
    direction = node.attr("direction", "")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    if direction not in ("LEFT", "RIGHT"):
        raise invalid(f"BitShift direction must be LEFT or RIGHT, got '{direction}'")
    return [ctx.elementwise(a, b, EW.SHIFT_LEFT if direction == "LEFT" else EW.SHIFT_RIGHT)]


def _cumulative(ctx: ImporterContext, node: Node, op: "_core.CumulativeOperation") -> List[Value]:
    """CumSum and CumProd: a cumulative layer along a constant axis."""
    x = ctx.require_tensor(node)
    if x.dtype not in (_core.DataType.FLOAT, _core.DataType.HALF, _core.DataType.INT32, _core.DataType.INT64):
        raise unsupported(f"{node.op_type} of {x.dtype.name} is not supported (FLOAT, FLOAT16, INT32 and INT64 are)",
                          ErrorCode.UNSUPPORTED_NODE_DATATYPE)
    rank = len(x.shape)
    if rank == 0:
        raise invalid(f"{node.op_type} needs an input of rank 1 or more")
    axis_value = ctx.integer_constant(node, 1, "axis")
    if axis_value is None or axis_value.size != 1:
        raise invalid(f"{node.op_type}'s axis must hold one value, got {axis_value}")
    axis = normalize_axis(int(axis_value.reshape(-1)[0]), rank)
    layer = ctx.track(ctx.network.add_cumulative(x, axis, op, bool(node.attr("exclusive", 0)),
                                                 bool(node.attr("reverse", 0))))
    return [ctx.alias(layer.get_output(0), x)]


@importer("CumSum", since=11, notes="FLOAT, FLOAT16, INT32 and INT64 (a cumulative layer, floating sums in float); "
          "axis a constant known at parse time (negative counts from the end); exclusive and reverse.")
def cum_sum(ctx: ImporterContext, node: Node) -> List[Value]:
    return _cumulative(ctx, node, _core.CumulativeOperation.SUM)


@importer("CumProd", since=26, notes="FLOAT, FLOAT16, INT32 and INT64 (a cumulative layer, floating products "
          "in float, integer products wrapping as the type does); axis a constant known at parse time (negative "
          "counts from the end); exclusive (the first product is 1) and reverse.")
def cum_prod(ctx: ImporterContext, node: Node) -> List[Value]:
    return _cumulative(ctx, node, _core.CumulativeOperation.PROD)
