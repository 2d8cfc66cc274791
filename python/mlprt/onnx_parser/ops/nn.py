"""Importers of the neural-network operators: Gemm, MatMul, Softmax, LogSoftmax,
BatchNormalization, LayerNormalization, Dropout and reductions."""
from __future__ import annotations

from typing import Any, List, Optional

import numpy as np

from mlprt import _core
from mlprt.onnx_parser.context import ImporterContext, Node, ShapeValue, Value, normalize_axis, numpy_dtype
from mlprt.onnx_parser.errors import ErrorCode, invalid, unsupported
from mlprt.onnx_parser.ops.shape import axes_input, elem_product
from mlprt.onnx_parser.registry import importer

EW = _core.ElementWiseOperation
MO = _core.MatrixOperation
RO = _core.ReduceOperation
Un = _core.UnaryOperation


def _tensor(ctx: ImporterContext, node: Node, i: int) -> Any:
    value = ctx.require(node, i)
    if isinstance(value, ShapeValue):
        raise unsupported(f"{node.op_type} of a shape value is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    return value


@importer("Gemm", notes="transA/transB (as matrix operations), alpha (folded into constant B), beta, "
          "bias C broadcast from (N,), (1, N), (M, 1), (M, N) or a scalar.")
def gemm(ctx: ImporterContext, node: Node) -> List[Value]:
    a = ctx.tensor(_tensor(ctx, node, 0))
    b = _tensor(ctx, node, 1)
    if len(a.shape) != 2 or ctx.rank(b) != 2:
        raise invalid(f"Gemm needs rank-2 A and B, got {tuple(a.shape)} and {tuple(ctx.shape_of(b))}")
    alpha, beta = float(node.attr("alpha", 1.0)), float(node.attr("beta", 1.0))
    op0 = MO.TRANSPOSE if node.attr("transA", 0) else MO.NONE
    op1 = MO.TRANSPOSE if node.attr("transB", 0) else MO.NONE
    scaled = False
    if isinstance(b, np.ndarray) and alpha != 1.0:
        b = np.asarray(b.astype(np.float64) * alpha).astype(b.dtype)
        scaled = True
    tb = ctx.tensor(b, a.dtype)
    # Where A is rows flattened from a tensor of higher rank (GPT-2's Conv1D: (batch, seq, K) ->
    # (-1, K) -> Gemm -> (batch, seq, N)), the product and the bias are taken on that tensor and
    # flattened after them, so that a reshape back finds the run-time extents of batch and seq.
    source = next((t for t in ctx.reshape_sources(a) if len(t.shape) > 2 and t.shape[-1] == a.shape[-1] >= 0), None)
    unflattened = op0 == MO.NONE and source is not None
    rows = source if unflattened else a
    rank = len(rows.shape)
    out: Value = ctx.track(ctx.network.add_matrix_multiply(rows, op0, ctx.broadcast_rank(tb, rank), op1)).get_output(0)
    for axis in range(rank - 1):
        ctx.same_extent(out, axis, rows, axis if op0 == MO.NONE else 1)
    ctx.same_extent(out, rank - 1, tb, 0 if op1 == MO.TRANSPOSE else 1)
    if alpha != 1.0 and not scaled:
        out = ctx.elementwise(out, np.array(alpha, numpy_dtype(a.dtype)), EW.PROD)
    c = ctx.input(node, 2)
    if c is not None and beta != 0.0:
        if isinstance(c, ShapeValue):
            raise unsupported("Gemm bias from a shape value is not supported")
        if isinstance(c, np.ndarray):
            c = np.asarray(c.astype(np.float64) * beta).astype(c.dtype) if beta != 1.0 else c
        elif beta != 1.0:
            c = ctx.elementwise(c, np.array(beta, numpy_dtype(c.dtype)), EW.PROD)
        if unflattened and ctx.rank(c) == 2 and ctx.shape_of(c)[0] != 1:
            out = ctx.reshape(out, [-1, out.shape[-1]])  # a bias per row: added to the 2-D product
            unflattened = False
        out = ctx.elementwise(out, c, EW.SUM)
    return [ctx.reshape(out, [-1, out.shape[-1]]) if unflattened else out]


@importer("MatMul", notes="2-D, batched, broadcast batch axes, 1-D operands (made 2-D then squeezed).")
def matmul(ctx: ImporterContext, node: Node) -> List[Value]:
    a, b = _tensor(ctx, node, 0), _tensor(ctx, node, 1)
    ra, rb = ctx.rank(a), ctx.rank(b)
    if ra == 0 or rb == 0:
        raise invalid("MatMul operands need rank 1 or more")
    vector_a, vector_b = ra == 1, rb == 1
    if vector_a:
        a = ctx.unsqueeze(a, [0])
    if vector_b:
        b = ctx.unsqueeze(b, [1])
    rank = max(ctx.rank(a), ctx.rank(b))
    dtype = ctx.common_dtype(a, b)
    ta = ctx.tensor(ctx.broadcast_rank(a, rank), dtype)
    tb = ctx.tensor(ctx.broadcast_rank(b, rank), dtype)
    ta, tb = _expand_batch(ctx, ta, tb), _expand_batch(ctx, tb, ta)
    out = ctx.track(ctx.network.add_matrix_multiply(ta, MO.NONE, tb, MO.NONE)).get_output(0)
    # Run-time extents carried over: the batch axes (from whichever operand has them) and the rows.
    for axis in range(rank - 2):
        ctx.same_extent(out, axis, ta if ta.shape[axis] != 1 else tb, axis)
    ctx.same_extent(out, rank - 2, ta, rank - 2)
    ctx.same_extent(out, rank - 1, tb, rank - 1)
    squeezed = ([rank - 2] if vector_a else []) + ([rank - 1] if vector_b else [])
    if squeezed:
        out = ctx.squeeze(out, squeezed)
    return [out]


def _expand_batch(ctx: ImporterContext, x: Any, other: Any) -> Any:
    """``x`` with its batch axes broadcast against ``other``'s where the product kernels cannot
    broadcast them: they take a batch operand that has the output's whole batch or is a single
    matrix, so (3, 1, M, K) x (1, 2, K, N) first makes (3, 2, M, K)."""
    batch, other_batch = list(x.shape[:-2]), list(other.shape[:-2])
    out_batch = [o if d == 1 else d for d, o in zip(batch, other_batch)]
    strip = lambda dims: dims[next((i for i, d in enumerate(dims) if d != 1), len(dims)):]  # noqa: E731
    if all(d == 1 for d in batch) or strip(batch) == strip(out_batch):
        return x
    extents = [o if d == 1 and o != 1 else 1 for d, o in zip(batch, other_batch)] + [1, 1]
    if any(e < 0 for e in extents):
        raise unsupported(f"MatMul of {tuple(x.shape)} and {tuple(other.shape)}: broadcasting batch axes "
                          "whose extents are known only at run time is not supported", ErrorCode.UNSUPPORTED_NODE_SHAPE)
    return ctx.broadcast_to(x, extents)


def _coerced_2d(ctx: ImporterContext, node: Node, x: Any, axis: int, build: Any) -> Any:
    """Softmax-like ops of opset < 13 work on x flattened to 2-D at ``axis``."""
    dims = ctx.dims(x)
    if axis == len(dims) - 1:
        return build(x, axis)
    flat = ctx.reshape(x, [elem_product(dims[:axis]), elem_product(dims[axis:])])
    return ctx.reshape(build(flat, 1), dims)


def _softmax(ctx: ImporterContext, x: Any, axis: int) -> Any:
    layer = ctx.track(ctx.network.add_softmax(x))
    layer.axes = 1 << axis
    return ctx.alias(layer.get_output(0), x)


def _log_softmax(ctx: ImporterContext, x: Any, axis: int) -> Any:
    # x - max - log(sum(exp(x - max))): stable where log(softmax(x)) would underflow.
    peak = ctx.track(ctx.network.add_reduce(x, RO.MAX, 1 << axis, True)).get_output(0)
    shifted = ctx.elementwise(x, peak, EW.SUB)
    total = ctx.track(ctx.network.add_reduce(ctx.unary(shifted, Un.EXP), RO.SUM, 1 << axis, True)).get_output(0)
    return ctx.elementwise(shifted, ctx.unary(total, Un.LOG), EW.SUB)


def _softmax_family(ctx: ImporterContext, node: Node, build: Any) -> Any:
    x = ctx.tensor(_tensor(ctx, node, 0))
    if x.dtype not in (_core.DataType.FLOAT, _core.DataType.HALF):
        raise unsupported(f"{node.op_type} needs a FLOAT or FLOAT16 input", ErrorCode.UNSUPPORTED_NODE_DATATYPE)
    rank = len(x.shape)
    if rank == 0:
        raise invalid(f"{node.op_type} needs rank >= 1")
    if node.opset < 13:
        axis = normalize_axis(node.attr("axis", 1), rank)
        return _coerced_2d(ctx, node, x, axis, lambda t, a: build(ctx, t, a))
    return build(ctx, x, normalize_axis(node.attr("axis", -1), rank))


@importer("Softmax", notes="Any axis; opset < 13 semantics (2-D coercion) too.")
def softmax(ctx: ImporterContext, node: Node) -> List[Value]:
    return [_softmax_family(ctx, node, _softmax)]


@importer("LogSoftmax", notes="Any axis; opset < 13 semantics too. Computed stably as x - max - "
          "log(sum(exp(x - max))) with reduce, elementwise and unary layers.")
def log_softmax(ctx: ImporterContext, node: Node) -> List[Value]:
    return [_softmax_family(ctx, node, _log_softmax)]


@importer("BatchNormalization", notes="Inference only (training_mode=0); constant parameters folded "
          "to per-channel scale and shift (elementwise PROD and SUM), run-time ones computed with elementwise "
          "and unary layers. Extra outputs unsupported.")
def batch_normalization(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.tensor(_tensor(ctx, node, 0))
    if node.attr("training_mode", 0):
        raise unsupported("BatchNormalization with training_mode=1 is not supported (inference only)",
                          ErrorCode.UNSUPPORTED_NODE_ATTR)
    values = [ctx.input(node, i) for i in range(1, 5)]
    if any(v is None for v in values):
        raise invalid("BatchNormalization needs scale, B, mean and var")
    if not all(isinstance(v, np.ndarray) for v in values):
        return [_batch_normalization_at_run_time(ctx, node, x, values)]
    params = [ctx.constant_input(node, i, what) for i, what in
              ((1, "scale"), (2, "B"), (3, "input_mean"), (4, "input_var"))]
    scale, bias, mean, var = (np.asarray(p, np.float64).reshape(-1) for p in params)  # type: ignore[arg-type]
    rank = len(x.shape)
    if rank < 2:
        raise invalid("BatchNormalization needs an input of rank >= 2")
    channels = x.shape[1]
    for p in (scale, bias, mean, var):
        if p.size != channels and channels >= 0:
            raise invalid(f"BatchNormalization parameters have {p.size} elements for {channels} channels")
    multiplier = scale / np.sqrt(var + float(node.attr("epsilon", 1e-5)))
    shift = bias - mean * multiplier
    shape = (1, scale.size) + (1,) * (rank - 2)
    dtype = numpy_dtype(x.dtype)
    scaled = ctx.elementwise(x, multiplier.reshape(shape).astype(dtype), EW.PROD)
    return [ctx.elementwise(scaled, shift.reshape(shape).astype(dtype), EW.SUM)]


def _batch_normalization_at_run_time(ctx: ImporterContext, node: Node, x: Any, values: List[Value]) -> Any:
    """(x - mean) / sqrt(var + epsilon) * scale + B with parameters computed at run time, each a
    per-channel vector broadcast over axis 1."""
    rank = len(x.shape)
    if rank < 2:
        raise invalid("BatchNormalization needs an input of rank >= 2")
    channel = lambda v: ctx.reshape(ctx.tensor(v, x.dtype), [-1] + [1] * (rank - 2))  # noqa: E731
    scale, bias, mean, var = (channel(v) if not isinstance(v, np.ndarray)
                              else np.asarray(v).reshape((-1,) + (1,) * (rank - 2)).astype(numpy_dtype(x.dtype))
                              for v in values)
    epsilon = np.array(float(node.attr("epsilon", 1e-5)), numpy_dtype(x.dtype))
    deviation = ctx.unary(ctx.elementwise(var, epsilon, EW.SUM), Un.SQRT) if not isinstance(var, np.ndarray) \
        else np.sqrt(var + epsilon)
    normalized = ctx.elementwise(ctx.elementwise(x, mean, EW.SUB), deviation, EW.DIV)
    return ctx.elementwise(ctx.elementwise(normalized, scale, EW.PROD), bias, EW.SUM)


@importer("LayerNormalization", since=17, notes="Normalization layer over axes axis..rank-1, epsilon, "
          "scale and optional bias; the Mean and InvStdDev outputs, where used, from reduce layers in float.")
def layer_normalization(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.tensor(_tensor(ctx, node, 0))
    rank = len(x.shape)
    axis = normalize_axis(node.attr("axis", -1), rank)
    scale = _tensor(ctx, node, 1)
    bias = ctx.input(node, 2)
    if bias is None:
        scale_shape = ctx.shape_of(scale)
        if not all(isinstance(d, int) and d >= 0 for d in scale_shape):
            raise unsupported("LayerNormalization without bias needs a scale of known shape")
        bias = np.zeros(scale_shape, numpy_dtype(x.dtype))
    mask = sum(1 << a for a in range(axis, rank))
    epsilon = float(node.attr("epsilon", 1e-5))
    scale_t = ctx.tensor(ctx.broadcast_rank(scale, rank), x.dtype)
    bias_t = ctx.tensor(ctx.broadcast_rank(bias, rank), x.dtype)
    layer = ctx.track(ctx.network.add_normalization(x, scale_t, bias_t, mask))
    layer.epsilon = epsilon
    outputs: List[Value] = [ctx.alias(layer.get_output(0), x)]
    used = [i for i in (1, 2) if i < len(node.outputs) and node.outputs[i] and node.outputs[i] in ctx.used]
    if used:
        outputs += _layer_norm_statistics(ctx, x, mask, epsilon)
    return outputs


def _layer_norm_statistics(ctx: ImporterContext, x: Any, mask: int, epsilon: float) -> List[Value]:
    """LayerNormalization's Mean and InvStdDev outputs (stash type float): the mean over the
    normalized axes and 1 / sqrt(biased variance + epsilon), both with those axes kept as 1."""
    xf = ctx.tensor(x, _core.DataType.FLOAT)
    mean = ctx.track(ctx.network.add_reduce(xf, RO.AVG, mask, True)).get_output(0)
    centered = ctx.elementwise(xf, mean, EW.SUB)
    variance = ctx.track(ctx.network.add_reduce(ctx.elementwise(centered, centered, EW.PROD), RO.AVG, mask,
                                                True)).get_output(0)
    shifted = ctx.elementwise(variance, np.array(epsilon, np.float32), EW.SUM)
    return [mean, ctx.unary(ctx.unary(shifted, Un.SQRT), Un.RECIP)]


@importer("Dropout", notes="Inference: pass-through, the mask output all true (static shapes); "
          "training_mode=true is an error.")
def dropout(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require(node, 0)
    training = ctx.input(node, 2)
    if training is not None:
        if not isinstance(training, np.ndarray):
            raise unsupported("Dropout with a run-time training_mode is not supported", ErrorCode.UNSUPPORTED_NODE_INPUT)
        if bool(np.asarray(training).reshape(-1)[0]):
            raise unsupported("Dropout with training_mode=true is not supported (inference only)",
                              ErrorCode.UNSUPPORTED_NODE_INPUT)
    outputs: List[Value] = [x]
    if len(node.outputs) > 1 and node.outputs[1] and node.outputs[1] in ctx.used:
        # In inference nothing is dropped: the mask is all true, of x's shape.
        dims = ctx.shape_of(x)
        if not all(isinstance(d, int) for d in dims):
            raise unsupported("Dropout's mask output of a tensor with run-time extents is not supported",
                              ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
        ctx.check_made_constant(int(np.prod(dims, dtype=np.float64)), f"Dropout's mask of shape {dims}")
        outputs.append(np.ones(dims, np.bool_))
    return outputs


_REDUCE = {"ReduceMean": RO.AVG, "ReduceSum": RO.SUM, "ReduceMax": RO.MAX, "ReduceMin": RO.MIN,
           "ReduceProd": RO.PROD}
#: Reductions made of a map before and after a SUM: ONNX's ReduceL1, ReduceL2, ... as the
#: exporters' subgraphs would compute them.
_COMPOSED = ("ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp")


def _reduce_mask(ctx: ImporterContext, node: Node, x: Any) -> Optional[int]:
    """The axes bit mask of a reduction node (axes attribute or input, noop_with_empty_axes);
    None when the node reduces nothing and passes its input through."""
    rank = len(x.shape)
    axes = axes_input(ctx, node, 1)
    if not axes:
        if node.attr("noop_with_empty_axes", 0) or rank == 0:
            return None
        axes = list(range(rank))
    return sum(1 << a for a in sorted({normalize_axis(a, rank) for a in axes}))


def _add_reduce(ctx: ImporterContext, x: Any, op: Any, mask: int, keep: bool) -> Any:
    return ctx.track(ctx.network.add_reduce(x, op, mask, keep)).get_output(0)


@importer(*_REDUCE, notes="Axes as attribute or constant input (ReduceSum from opset 13, others from 18), "
          "keepdims, noop_with_empty_axes; FLOAT, FLOAT16 and integers (exact 64-bit accumulation, wrapping; "
          "ReduceMean of integers truncates); ReduceMax/ReduceMin of BOOL. Axes given as a run-time input are "
          "not supported (mlprt.backend builds them into the engine).")
def reduce(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.tensor(_tensor(ctx, node, 0))
    mask = _reduce_mask(ctx, node, x)
    if mask is None:
        return [x]
    keep = bool(node.attr("keepdims", 1))
    if x.dtype == _core.DataType.BOOL:  # ReduceMax is any, ReduceMin all (opset 20): on 0/1 bytes
        if node.op_type not in ("ReduceMax", "ReduceMin"):
            raise unsupported(f"{node.op_type} of BOOL is not defined", ErrorCode.UNSUPPORTED_NODE_DATATYPE)
        as_bytes = ctx.track(ctx.network.add_cast(x, _core.DataType.UINT8)).get_output(0)
        reduced = _add_reduce(ctx, as_bytes, _REDUCE[node.op_type], mask, keep)
        return [ctx.track(ctx.network.add_cast(reduced, _core.DataType.BOOL)).get_output(0)]
    return [_add_reduce(ctx, x, _REDUCE[node.op_type], mask, keep)]


@importer(*_COMPOSED, notes="SUM of |x| (L1), sqrt of SUM of x^2 (L2), SUM of x^2, log of SUM, and the stable "
          "log(SUM(exp(x - max))) + max (LogSumExp); axes as in ReduceSum. FLOAT and FLOAT16 (L1 and SumSquare "
          "also integers).")
def reduce_composed(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.tensor(_tensor(ctx, node, 0))
    floating = x.dtype in (_core.DataType.FLOAT, _core.DataType.HALF)
    if not floating and node.op_type not in ("ReduceL1", "ReduceSumSquare"):
        raise unsupported(f"{node.op_type} needs a FLOAT or FLOAT16 input, got {x.dtype.name}",
                          ErrorCode.UNSUPPORTED_NODE_DATATYPE)
    keep = bool(node.attr("keepdims", 1))
    mask = _reduce_mask(ctx, node, x)
    op = node.op_type
    if op == "ReduceL1":
        mapped = ctx.unary(x, Un.ABS)
    elif op in ("ReduceL2", "ReduceSumSquare"):
        mapped = ctx.elementwise(x, x, EW.PROD)
    elif op == "ReduceLogSum":
        mapped = x
    else:  # ReduceLogSumExp: shifted by the maximum so that exp cannot overflow
        if mask is None:
            return [x]
        peak = _add_reduce(ctx, x, RO.MAX, mask, True)
        mapped = ctx.unary(ctx.elementwise(x, peak, EW.SUB), Un.EXP)
    if mask is None:
        total = mapped
    else:
        total = _add_reduce(ctx, mapped, RO.SUM, mask, keep)
    if op == "ReduceL2":
        return [ctx.unary(total, Un.SQRT)]
    if op == "ReduceLogSum":
        return [ctx.unary(total, Un.LOG)]
    if op == "ReduceLogSumExp":
        shift = peak if keep else _add_reduce(ctx, peak, RO.MAX, mask, False)
        return [ctx.elementwise(ctx.unary(total, Un.LOG), shift, EW.SUM)]
    return [total]


@importer("ArgMax", "ArgMin", notes="Any axis, keepdims, select_last_index; the axis's extent known at parse time. "
          "Composed: the max (min) over the axis, an equality mask, and the smallest (largest) matching index "
          "(INT64). A row holding NaN yields the first (last) NaN or extreme.")
def arg_reduce(ctx: ImporterContext, node: Node) -> List[Value]:
    value = _tensor(ctx, node, 0)
    x = ctx.tensor(value)
    rank = len(x.shape)
    if rank == 0:
        raise invalid(f"{node.op_type} needs an input of rank 1 or more")
    axis = normalize_axis(int(node.attr("axis", 0)), rank)
    extent = ctx.shape_of(x)[axis]
    if not (isinstance(extent, int) and extent > 0):
        raise unsupported(f"{node.op_type} along axis {axis}, whose extent is known only at run time (or 0), is not "
                          "supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    last = bool(node.attr("select_last_index", 0))
    mask = 1 << axis
    best = ctx.track(ctx.network.add_reduce(x, RO.MAX if node.op_type == "ArgMax" else RO.MIN, mask, True)).get_output(0)
    # A NaN is a hit too (x != x), so that a row holding one still yields an index in range.
    not_nan = ctx.elementwise(x, x, EW.EQUAL)
    nan = ctx.track(ctx.network.add_unary(not_nan, Un.NOT)).get_output(0)
    hits = ctx.elementwise(ctx.elementwise(x, best, EW.EQUAL), nan, EW.OR)
    positions = ctx.positions_along(x, axis, extent, _core.DataType.INT64)
    missing = np.full([1] * rank, -1 if last else extent, np.int64)
    candidates = ctx.track(ctx.network.add_select(hits, positions, ctx.tensor(missing))).get_output(0)
    keep = bool(node.attr("keepdims", 1))
    index = ctx.track(ctx.network.add_reduce(candidates, RO.MAX if last else RO.MIN, mask, keep)).get_output(0)
    return [index]


@importer("TopK", notes="K as attribute (opset < 10), or a constant input or a shape computation known at parse "
          "time; any axis; largest and smallest; FLOAT, FLOAT16, INT32 and INT64 data (a TopK layer). Always "
          "sorted (sorted=0 allows any order); equal values keep the lower index first; NaN ranks above every "
          "number. Indices are INT64, computed as INT32 (axes of up to 2^31 - 1 elements).")
def top_k(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.tensor(_tensor(ctx, node, 0))
    rank = len(x.shape)
    if rank == 0:
        raise invalid("TopK needs an input of rank 1 or more")
    axis = normalize_axis(int(node.attr("axis", -1)), rank)
    if node.opset < 10:
        if node.attr("k") is None:
            raise invalid("TopK before opset 10 needs the attribute k")
        k = int(node.attr("k"))
    else:
        k_value = ctx.integer_constant(node, 1, "K")
        assert k_value is not None  # required
        if k_value.size != 1:
            raise invalid(f"TopK's K must hold one value, got shape {list(k_value.shape)}")
        k = int(k_value.reshape(-1)[0])
    extent = ctx.shape_of(x)[axis]
    if k < 0 or (isinstance(extent, int) and extent >= 0 and k > extent):
        raise invalid(f"TopK's K = {k} is outside 0..{extent}, the extent of axis {axis}")
    if k == 0:
        raise unsupported("TopK with K = 0 (empty outputs) is not supported")
    largest = bool(node.attr("largest", 1))
    op = _core.TopKOperation.MAX if largest else _core.TopKOperation.MIN
    layer = ctx.track(ctx.network.add_topk(x, op, k, 1 << axis))
    indices = ctx.track(ctx.network.add_cast(layer.get_output(1), _core.DataType.INT64)).get_output(0)
    return [layer.get_output(0), indices]
