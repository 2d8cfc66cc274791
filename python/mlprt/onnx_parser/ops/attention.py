"""Importer of ONNX's Attention operator (opsets 23 to 25), composed from existing layers.

The layers, in the order they are added; each is named ``<node>/<role>`` after the role given:

    role                        computes                                                layer
    q_heads, k_heads, v_heads   3-D inputs as (batch, heads, sequence, head size)      shuffle
    present_key, present_value  concat(past, k), concat(past, v) along the sequence    concatenation
    k_repeated, v_repeated      each KV head repeated for its group of query heads     gather (GQA, MQA)
    allowed, bias, masked_rows  the bias (below) and the rows it masks entirely        elementwise, select, reduce
    q_scaled, scores            (q * scale) x k^T                                      elementwise, matrix multiply
    softcap                     softcap * tanh(scores / softcap)                       elementwise, activation
    biased_scores               scores + bias                                          elementwise
    softmax                     softmax(scores), in softmax_precision                  softmax (and casts)
    probs                       0 on the rows whose bias is -inf everywhere            select
    values                      probs x v                                              matrix multiply
    (none)                      3-D: back to (batch, sequence, heads * head size)     shuffle

The layer computing Y takes the node's name instead (the parser's rule), the last shuffle for 3-D
inputs, else the values product.

The bias is where(allowed, float attn_mask or 0, -inf): ``allowed`` ANDs the BOOL constraints (a
BOOL attn_mask, the causal and sliding-window frontiers, the padding of nonpad_kv_seqlen), a
constant whenever they are known at parse time.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

import numpy as np
import onnx

from mlprt import _core
from mlprt.onnx_parser.context import ImporterContext, Node, ShapeValue, Value, numpy_dtype
from mlprt.onnx_parser.errors import ErrorCode, invalid, unsupported
from mlprt.onnx_parser.registry import importer

DT = _core.DataType
EW = _core.ElementWiseOperation
MO = _core.MatrixOperation
RO = _core.ReduceOperation
Act = _core.ActivationType

_FLOATING = (DT.FLOAT, DT.HALF)
#: softmax_precision (an ONNX element type) -> the type the softmax computes in. DOUBLE is computed
#: in FLOAT, the widest floating type of the network.
_SOFTMAX_PRECISIONS = {onnx.TensorProto.FLOAT: DT.FLOAT, onnx.TensorProto.FLOAT16: DT.HALF,
                       onnx.TensorProto.DOUBLE: DT.FLOAT}
#: qk_matmul_output_mode: the scores after the product (0), the softcap (1), the bias (2), the softmax (3).
_QK_OUTPUT_MODES = (0, 1, 2, 3)


def _name(ctx: ImporterContext, tensor: Any, role: str) -> Any:
    """Names the layer of this node that produced ``tensor`` ``<node>/<role>``; returns ``tensor``."""
    assert ctx.node is not None  # importers run for a node
    for layer in reversed(ctx.node_layers):
        if layer.num_outputs and layer.get_output(0) == tensor:
            layer.name = f"{ctx.node.name}/{role}"
            break
    return tensor


def _extent(ctx: ImporterContext, x: Any, axis: int) -> Optional[int]:
    """Axis ``axis`` of tensor ``x`` when it is known at parse time, else None."""
    extent = ctx.dims(x)[axis]
    return extent if isinstance(extent, int) and extent >= 0 else None


def _known_extent(ctx: ImporterContext, x: Any, axis: int, what: str) -> int:
    """Axis ``axis`` of ``x``, which must be known at parse time (``what`` names it in the error)."""
    extent = _extent(ctx, x, axis)
    if extent is None:
        raise unsupported(f"Attention needs {what} known at parse time; it is known only at run time",
                          ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    return extent


def _float_input(ctx: ImporterContext, node: Node, i: int, what: str) -> Any:
    """Input ``i`` (``what``), which must be present, as a FLOAT or FLOAT16 network tensor."""
    value = ctx.require(node, i, what)
    if isinstance(value, ShapeValue):
        raise unsupported(f"Attention's {what} is a shape value", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    x = ctx.tensor(value)
    if x.dtype not in _FLOATING:
        raise unsupported(f"Attention's {what} must be FLOAT or FLOAT16, not {x.dtype.name}",
                          ErrorCode.UNSUPPORTED_NODE_DATATYPE)
    return x


def _split_heads(ctx: ImporterContext, x: Any, heads: int, what: str, attribute: str) -> Any:
    """(batch, sequence, heads * size) -> (batch, heads, sequence, size): one shuffle."""
    hidden = _known_extent(ctx, x, 2, f"the hidden size of {what} (axis 2)")
    if heads <= 0 or hidden % heads:
        raise invalid(f"Attention's {what} has a hidden size of {hidden}, not a multiple of {attribute} = {heads}")
    layer = ctx.track(ctx.network.add_shuffle(x))
    layer.reshape_dims = [0, 0, heads, hidden // heads]
    layer.second_transpose = [0, 2, 1, 3]
    out = layer.get_output(0)
    ctx.same_extent(out, 0, x, 0)
    ctx.same_extent(out, 2, x, 1)
    return out


def _merge_heads(ctx: ImporterContext, y: Any, heads: int, size: int) -> Any:
    """(batch, heads, sequence, size) -> (batch, sequence, heads * size): one shuffle."""
    layer = ctx.track(ctx.network.add_shuffle(y))
    layer.first_transpose = [0, 2, 1, 3]
    layer.reshape_dims = [0, 0, heads * size]
    out = layer.get_output(0)
    ctx.same_extent(out, 0, y, 0)
    ctx.same_extent(out, 1, y, 2)
    return out


def _repeat_heads(ctx: ImporterContext, x: Any, groups: int) -> Any:
    """(batch, kv heads, sequence, size) with each head repeated ``groups`` times in place
    ([h0, h0, h1, h1, ...], the query heads' grouping): a gather along the head axis."""
    heads = _known_extent(ctx, x, 1, "the head count of K and V")
    indices = ctx.tensor(np.repeat(np.arange(heads, dtype=np.int32), groups))
    out = ctx.track(ctx.network.add_gather(x, indices, 1)).get_output(0)
    for axis in (0, 2):
        ctx.same_extent(out, axis, x, axis)
    return out


def _logical(ctx: ImporterContext, a: Optional[Value], b: Optional[Value], op: Any) -> Optional[Value]:
    """``a op b`` for BOOL or integer values (NumPy arrays stay arrays); None stands for "no
    constraint" in an AND."""
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return {EW.AND: np.logical_and, EW.GREATER: np.greater, EW.LESS: np.less}[op](a, b)
    return ctx.elementwise(a, b, op)


def _all_of(ctx: ImporterContext, conditions: List[Value]) -> Optional[Value]:
    """The AND of BOOL ``conditions`` (None when there are none)."""
    combined: Optional[Value] = None
    for condition in conditions:
        combined = _logical(ctx, combined, condition, EW.AND)
    return combined


def _positions(ctx: ImporterContext, tensor: Any, axis: int, known: Optional[int]) -> Value:
    """0, 1, ..., n - 1 (INT64) along axis ``axis`` of ``tensor``: a constant when n is ``known``, else an
    axis range (computed once per set of input shapes)."""
    if known is not None:
        return np.arange(known, dtype=np.int64)
    return ctx.axis_range(ctx.dims(tensor)[axis], DT.INT64)


def _runtime_frontier(ctx: ImporterContext, queries: Any, keys: Any, q_length: Optional[int],
                      total: Optional[int], past: Optional[Value], lower: Optional[int],
                      upper: Optional[int]) -> Value:
    """The BOOL (q, total) mask ``lower <= i + past - j <= upper`` (either bound may be absent) for
    sequence lengths known only at run time: query positions from axis 2 of ``queries``, key
    positions from axis 2 of ``keys`` (past and present), ``past`` the past length (an int, or a
    [1] INT64 tensor)."""
    i = ctx.unsqueeze(_positions(ctx, queries, 2, q_length), [1])
    j = ctx.unsqueeze(_positions(ctx, keys, 2, total), [0])
    diff = ctx.elementwise(ctx.elementwise(i, past, EW.SUM), j, EW.SUB)
    bounds = []
    if lower is not None:
        bounds.append(ctx.elementwise(diff, np.array([lower - 1], np.int64), EW.GREATER))
    if upper is not None:
        bounds.append(ctx.elementwise(diff, np.array([upper + 1], np.int64), EW.LESS))
    combined = _all_of(ctx, bounds)
    assert combined is not None
    return combined


def _frontier(ctx: ImporterContext, node: Node, q_length: Optional[int], kv_length: Optional[int],
              past_length: Optional[int], nonpad: Optional[Value], queries: Any = None, keys: Any = None,
              past_key: Any = None) -> Optional[Value]:
    """The BOOL (..., q, total) mask of the keys each query may see under is_causal and the
    sliding window (opset 25), and of the keys nonpad_kv_seqlen leaves unpadded; None when every
    key is allowed.

    With ``diff = i + offset - j`` (query i, key j; the offset is the past length, or per batch
    nonpad_kv_seqlen - q), is_causal allows ``diff >= 0``, left_window_size L ``diff <= L`` and
    right_window_size R ``diff >= -R``; nonpad_kv_seqlen also allows only ``j < nonpad_kv_seqlen``.
    """
    causal = bool(node.attr("is_causal", 0))
    left, right = int(node.attr("left_window_size", -1)), int(node.attr("right_window_size", -1))
    for name, value in (("left_window_size", left), ("right_window_size", right)):
        if value < -1:
            raise invalid(f"Attention's {name} is {value}; it must be -1 (unbounded) or at least 0")
    lower = 0 if causal else (-right if right >= 0 else None)
    upper = left if left >= 0 else None
    bounded = lower is not None or upper is not None
    if not bounded and nonpad is None:
        return None
    if nonpad is None and upper is None and lower == 0 and kv_length == 1:
        return None  # one new key after any past: every query i >= 0 sees it and the whole past
    total = None if kv_length is None or past_length is None else past_length + kv_length
    if (total is None or (bounded and q_length is None)) and nonpad is None and queries is not None:
        # Lengths known only at run time: the same mask from axis ranges (run once per set of shapes).
        past: Value = np.array([past_length or 0], np.int64)
        if past_length is None:
            past = ctx.shape_tensor(ShapeValue([ctx.dims(past_key)[2]]))
        return _runtime_frontier(ctx, queries, keys, q_length, total, past, lower, upper)
    if total is None or (bounded and q_length is None):
        given = [name for name, used in (("is_causal", causal), ("left_window_size", left >= 0),
                                         ("right_window_size", right >= 0), ("nonpad_kv_seqlen", nonpad is not None))
                 if used]
        raise unsupported(f"Attention's {' and '.join(given)} need{'s' if len(given) == 1 else ''} the query, key and "
                          "past sequence lengths known at parse time (the mask is built as a constant); they are known "
                          "only at run time", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    j = np.arange(total, dtype=np.int64).reshape(1, total)
    i = np.arange(q_length or 1, dtype=np.int64).reshape(-1, 1)
    if nonpad is None:
        diff = i + past_length - j
        allowed = np.ones((len(i), total), np.bool_)
        if lower is not None:
            allowed &= diff >= lower
        if upper is not None:
            allowed &= diff <= upper
        return None if allowed.all() else allowed
    # Per batch, with offset = nonpad - q: diff >= lower <=> nonpad > lower + j - i + q - 1, and
    # diff <= upper <=> nonpad < upper + j - i + q + 1; each a (batch, 1, q, total) comparison.
    relative = (j - i + (q_length or 0)).reshape(1, 1, -1, total)
    bounds = []
    if lower is not None:
        bounds.append(_logical(ctx, nonpad, lower + relative - 1, EW.GREATER))
    if upper is not None:
        bounds.append(_logical(ctx, nonpad, upper + relative + 1, EW.LESS))
    if not causal:  # diff >= 0 with i < q already implies j < nonpad
        bounds.append(_logical(ctx, nonpad, j.reshape(1, 1, 1, total), EW.GREATER))
    return _all_of(ctx, bounds)


def _nonpad_lengths(ctx: ImporterContext, node: Node) -> Optional[Value]:
    """nonpad_kv_seqlen (opset 24) as (batch, 1, 1, 1) INT64, or None when absent."""
    if node.num_inputs <= 6 or not node.has_input(6):
        return None
    value = ctx.input(node, 6)
    if isinstance(value, ShapeValue):
        raise unsupported("Attention's nonpad_kv_seqlen is a shape value", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "iu" or value.ndim != 1:
            raise invalid(f"Attention's nonpad_kv_seqlen must be a vector of integers, got {value.dtype} "
                          f"{list(value.shape)}")
        return value.astype(np.int64).reshape(-1, 1, 1, 1)
    if value.dtype != DT.INT64 or len(value.shape) != 1:
        raise invalid(f"Attention's nonpad_kv_seqlen must be an INT64 vector, got {value.dtype.name} "
                      f"{tuple(value.shape)}")
    return ctx.reshape(value, [ctx.dims(value)[0], 1, 1, 1])


def _mask_parts(ctx: ImporterContext, mask: Value, dtype: Any,
                total: Optional[int]) -> Tuple[Optional[Value], Optional[Value]]:
    """attn_mask as (allowed, additive): a BOOL mask is the keys allowed, any other mask is added
    to the scores (cast to ``dtype``). A mask shorter than the total sequence is padded with
    False / -inf, as ONNX says; a key axis known only at run time must cover every key."""
    if isinstance(mask, ShapeValue):
        raise unsupported("Attention's attn_mask is a shape value", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    rank = ctx.rank(mask)
    if not 1 <= rank <= 4:
        raise invalid(f"Attention's attn_mask has rank {rank}; it must broadcast to (batch, heads, q, total), "
                      "rank 1 to 4")
    boolean = (mask.dtype == np.bool_) if isinstance(mask, np.ndarray) else mask.dtype == DT.BOOL
    if not boolean:
        mask = mask.astype(numpy_dtype(dtype)) if isinstance(mask, np.ndarray) else ctx.tensor(mask, dtype)
    dims = ctx.shape_of(mask)
    width = dims[-1]
    if isinstance(width, int) and total is None:
        raise unsupported(f"Attention's attn_mask covers {width} keys, but the count of keys is known only at run "
                          "time: padding the mask at run time is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    if isinstance(width, int) and total is not None and width != total:
        if width > total:
            raise invalid(f"Attention's attn_mask covers {width} keys, more than the {total} of past and present")
        if not all(isinstance(d, int) for d in dims):
            raise unsupported(f"Attention's attn_mask covers {width} of the {total} keys and has extents known only "
                              "at run time: padding it is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
        fill = np.full(list(dims[:-1]) + [total - width], False if boolean else -np.inf,
                       np.bool_ if boolean else numpy_dtype(dtype))
        if isinstance(mask, np.ndarray):
            mask = np.concatenate([mask, fill], axis=-1)
        else:
            mask = ctx.track(ctx.network.add_concatenation([mask, ctx.tensor(fill)], rank - 1)).get_output(0)
    return (mask, None) if boolean else (None, mask)


def _bias(ctx: ImporterContext, allowed: Optional[Value], additive: Optional[Value], dtype: Any) -> Optional[Value]:
    """where(allowed, additive or 0, -inf) in ``dtype``: a NumPy array when both are constants."""
    if allowed is None:
        return additive
    np_type = numpy_dtype(dtype)
    zero, minus_inf = np.zeros((), np_type), np.array(-np.inf, np_type)
    if isinstance(allowed, np.ndarray) and (additive is None or isinstance(additive, np.ndarray)):
        return np.where(allowed, zero if additive is None else additive, minus_inf).astype(np_type)
    rank = max(ctx.rank(allowed), ctx.rank(additive) if additive is not None else 0)
    inputs = [ctx.tensor(ctx.broadcast_rank(v, rank)) for v in (allowed, zero if additive is None else additive,
                                                                minus_inf)]
    return ctx.track(ctx.network.add_select(*inputs)).get_output(0)


def _masked_rows(ctx: ImporterContext, bias: Optional[Value]) -> Optional[Value]:
    """BOOL (..., q, 1): the query rows whose bias is -inf for every key, which ONNX defines to
    attend nothing (a zero row of Y); None when no row can be."""
    if bias is None:
        return None
    if isinstance(bias, np.ndarray):
        rows = np.isneginf(bias).all(axis=-1, keepdims=True)
        return rows if rows.any() else None
    rank = len(bias.shape)
    peak = ctx.track(ctx.network.add_reduce(bias, RO.MAX, 1 << (rank - 1), True)).get_output(0)
    return ctx.elementwise(peak, np.array(-np.inf, numpy_dtype(bias.dtype)), EW.EQUAL)


def _softmax_type(node: Node, dtype: Any) -> Any:
    precision = node.attr("softmax_precision")
    if precision is None:
        return dtype
    if int(precision) == onnx.TensorProto.BFLOAT16:
        raise unsupported("Attention's softmax_precision BFLOAT16 is not supported (no BFLOAT16 in the network)",
                          ErrorCode.UNSUPPORTED_NODE_ATTR)
    if int(precision) not in _SOFTMAX_PRECISIONS:
        raise invalid(f"Attention's softmax_precision {precision} is not FLOAT (1), FLOAT16 (10), DOUBLE (11) or "
                      "BFLOAT16 (16)")
    return _SOFTMAX_PRECISIONS[int(precision)]


def _heads_of_4d(ctx: ImporterContext, node: Node, q: Any, k: Any) -> None:
    """Checks q_num_heads / kv_num_heads given with 4-D inputs: opset 25 forbids them, earlier opsets
    must agree with the inputs' head axes."""
    given = [(name, node.attr(name)) for name in ("q_num_heads", "kv_num_heads") if node.attr(name) is not None]
    if given and node.opset >= 25:
        raise invalid("Attention with 4-D inputs takes no q_num_heads or kv_num_heads (opset 25)")
    for name, value in given:
        extent = _extent(ctx, q if name == "q_num_heads" else k, 1)
        if extent is not None and int(value) != extent:
            raise invalid(f"Attention's {name} is {value}, but the 4-D {'Q' if name == 'q_num_heads' else 'K'} "
                          f"has {extent} heads")


@dataclass(frozen=True)
class _Geometry:
    """The extents of an Attention node's (batch, heads, sequence, head size) Q, K and V that the
    layers depend on; a sequence length is None when it is known only at run time."""

    q_heads: int
    kv_heads: int
    head_size: int
    value_size: int
    q_length: Optional[int]
    kv_length: Optional[int]


def _inputs_by_heads(ctx: ImporterContext, node: Node) -> Tuple[Any, Any, Any, int, _Geometry]:
    """Q, K and V as (batch, heads, sequence, head size), the inputs' rank, and their geometry."""
    q = _float_input(ctx, node, 0, "Q")
    k = _float_input(ctx, node, 1, "K")
    v = _float_input(ctx, node, 2, "V")
    if k.dtype != q.dtype or v.dtype != q.dtype:
        raise unsupported(f"Attention with Q {q.dtype.name}, K {k.dtype.name} and V {v.dtype.name}: mixed element "
                          "types are not supported", ErrorCode.UNSUPPORTED_NODE_DATATYPE)
    rank = len(q.shape)
    if rank not in (3, 4) or len(k.shape) != rank or len(v.shape) != rank:
        raise invalid(f"Attention needs Q, K and V all 3-D or all 4-D, got ranks {rank}, {len(k.shape)} and "
                      f"{len(v.shape)}")
    if rank == 3:
        if node.attr("q_num_heads") is None or node.attr("kv_num_heads") is None:
            raise invalid("Attention with 3-D inputs needs the attributes q_num_heads and kv_num_heads")
        q_heads, kv_heads = int(node.attr("q_num_heads")), int(node.attr("kv_num_heads"))
        q = _name(ctx, _split_heads(ctx, q, q_heads, "Q", "q_num_heads"), "q_heads")
        k = _name(ctx, _split_heads(ctx, k, kv_heads, "K", "kv_num_heads"), "k_heads")
        v = _name(ctx, _split_heads(ctx, v, kv_heads, "V", "kv_num_heads"), "v_heads")
    else:
        _heads_of_4d(ctx, node, q, k)
    q_heads = _known_extent(ctx, q, 1, "Q's head count (axis 1)")
    kv_heads = _known_extent(ctx, k, 1, "K's head count (axis 1)")
    if _known_extent(ctx, v, 1, "V's head count (axis 1)") != kv_heads:
        raise invalid(f"Attention's K has {kv_heads} heads, V {ctx.dims(v)[1]}")
    if q_heads % kv_heads:
        raise invalid(f"Attention's query heads ({q_heads}) are not a multiple of the key/value heads ({kv_heads})")
    head_size = _known_extent(ctx, q, 3, "Q's head size")
    if _known_extent(ctx, k, 3, "K's head size") != head_size:
        raise invalid(f"Attention's Q has head size {head_size}, K {ctx.dims(k)[3]}")
    geometry = _Geometry(q_heads, kv_heads, head_size, _known_extent(ctx, v, 3, "V's head size"),
                         _extent(ctx, q, 2), _extent(ctx, k, 2))
    return q, k, v, rank, geometry


def _kv_cache(ctx: ImporterContext, node: Node, k: Any, v: Any) -> Tuple[Any, Any, Optional[int]]:
    """present_key and present_value: past_key / past_value concatenated before K / V along the
    sequence (K and V themselves without a past), and the past length (0 without a past, None when
    known only at run time)."""
    if not (node.has_input(4) or node.has_input(5)):
        return k, v, 0
    if not (node.has_input(4) and node.has_input(5)):
        raise invalid("Attention's past_key and past_value must be given together")
    past_key, past_value = _float_input(ctx, node, 4, "past_key"), _float_input(ctx, node, 5, "past_value")
    if past_key.dtype != k.dtype or past_value.dtype != k.dtype or len(past_key.shape) != 4 \
            or len(past_value.shape) != 4:
        raise invalid("Attention's past_key and past_value must be 4-D, of Q's element type")
    present_key = ctx.track(ctx.network.add_concatenation([past_key, k], 2)).get_output(0)
    present_value = ctx.track(ctx.network.add_concatenation([past_value, v], 2)).get_output(0)
    return (_name(ctx, present_key, "present_key"), _name(ctx, present_value, "present_value"),
            _extent(ctx, past_key, 2))


def _attention_bias(ctx: ImporterContext, node: Node, geometry: _Geometry, past_length: Optional[int],
                    dtype: Any, queries: Any, keys: Any) -> Tuple[Optional[Value], Optional[Value]]:
    """The bias added to the scores (attn_mask, the causal / window frontier, the padding of
    nonpad_kv_seqlen; None when there is none) and the BOOL rows it masks entirely (None when
    none can be). ``queries`` and ``keys`` (past and present): Q and K by heads, whose sequence
    axes give the frontier's positions when their lengths are known only at run time."""
    nonpad = _nonpad_lengths(ctx, node)
    if nonpad is not None and node.has_input(4):
        raise invalid("Attention's nonpad_kv_seqlen cannot be combined with past_key and past_value")
    kv_length = geometry.kv_length
    total = None if kv_length is None or past_length is None else past_length + kv_length
    allowed, additive = _mask_parts(ctx, ctx.input(node, 3), dtype, total) if node.has_input(3) else (None, None)
    past_key = ctx.input(node, 4) if node.has_input(4) else None
    frontier = _frontier(ctx, node, geometry.q_length, kv_length, past_length, nonpad, queries, keys, past_key)
    allowed = _logical(ctx, allowed, frontier, EW.AND)
    if allowed is not None and not isinstance(allowed, np.ndarray):
        _name(ctx, allowed, "allowed")
    bias = _bias(ctx, allowed, additive, dtype)
    if bias is not None and not isinstance(bias, np.ndarray):
        # Rank 4 before anything reads it: the scores add it and the guard below reduces it as one
        # tensor, which is how the builder's fusion knows the guard is for this mask.
        bias = _name(ctx, ctx.tensor(ctx.broadcast_rank(bias, 4)), "bias")
    masked_rows = _masked_rows(ctx, bias)
    if masked_rows is not None and not isinstance(masked_rows, np.ndarray):
        _name(ctx, masked_rows, "masked_rows")
    return bias, masked_rows


@importer("Attention", since=23, notes="Composed of shuffles, concatenations, a gather, matrix products, a softmax "
          "and elementwise/select layers: 3-D inputs split by q_num_heads/kv_num_heads; past_key/past_value and the "
          "present outputs; grouped- and multi-query attention (KV heads gathered); scale; softcap; attn_mask BOOL or "
          "additive, rank 1-4, one narrower than past + present keys padded with -inf (its extents known at parse "
          "time); is_causal (bottom-right), left/right_window_size (opset 25) and nonpad_kv_seqlen (opset 24) as "
          "masks (built from the sequence axes at run time where their lengths are known only then); rows without "
          "any key give zeros; qk_matmul_output modes 0-3 (mode 0 before softcap, as ONNX Runtime); "
          "softmax_precision FLOAT, FLOAT16 and DOUBLE (computed in FLOAT). nonpad_kv_seqlen needs the sequence "
          "lengths known at parse time. Refused: "
          "softmax_precision BFLOAT16, mixed element types. The builder makes the composition one fused attention "
          "step (the heads' gathers dropped, the softcap applied by its kernel) unless qk_matmul_output is asked for.")
def attention(ctx: ImporterContext, node: Node) -> List[Optional[Value]]:
    mode = int(node.attr("qk_matmul_output_mode", 0))
    if mode not in _QK_OUTPUT_MODES:
        raise invalid(f"Attention's qk_matmul_output_mode is {mode}; it must be 0, 1, 2 or 3")
    q, k, v, rank, geometry = _inputs_by_heads(ctx, node)
    dtype = q.dtype
    np_type = numpy_dtype(dtype)
    softmax_type = _softmax_type(node, dtype)
    present_key, present_value, past_length = _kv_cache(ctx, node, k, v)
    groups = geometry.q_heads // geometry.kv_heads
    if groups > 1:  # grouped-query attention: each KV head serves `groups` query heads
        k = _name(ctx, _repeat_heads(ctx, present_key, groups), "k_repeated")
        v = _name(ctx, _repeat_heads(ctx, present_value, groups), "v_repeated")
    else:
        k, v = present_key, present_value
    bias, masked_rows = _attention_bias(ctx, node, geometry, past_length, dtype, q, present_key)

    # scores -> softmax -> values
    scale = node.attr("scale")
    scale = 1.0 / math.sqrt(geometry.head_size) if scale is None else float(scale)
    q_scaled = _name(ctx, ctx.elementwise(q, np.array(scale, np_type), EW.PROD), "q_scaled")
    scores = ctx.track(ctx.network.add_matrix_multiply(q_scaled, MO.NONE, k, MO.TRANSPOSE)).get_output(0)
    qk_outputs = {0: _name(ctx, scores, "scores")}
    softcap = float(node.attr("softcap", 0.0))
    if softcap > 0:
        cap = np.array(softcap, np_type)
        capped = ctx.activation(ctx.elementwise(scores, cap, EW.DIV), Act.TANH)
        scores = _name(ctx, ctx.elementwise(capped, cap, EW.PROD), "softcap")
    qk_outputs[1] = scores
    if bias is not None:
        scores = _name(ctx, ctx.elementwise(scores, bias, EW.SUM), "biased_scores")
    qk_outputs[2] = scores
    layer = ctx.track(ctx.network.add_softmax(ctx.tensor(scores, softmax_type)))
    layer.axes = 1 << 3
    probs = _name(ctx, layer.get_output(0), "softmax")
    if masked_rows is not None:  # a row without any key attends nothing: zeros instead of 0 / 0
        zero = ctx.tensor(np.zeros((1, 1, 1, 1), numpy_dtype(softmax_type)))
        rows = ctx.tensor(ctx.broadcast_rank(masked_rows, 4))
        probs = _name(ctx, ctx.track(ctx.network.add_select(rows, zero, probs)).get_output(0), "probs")
    probs = ctx.tensor(probs, dtype)
    qk_outputs[3] = probs
    y = _name(ctx, ctx.track(ctx.network.add_matrix_multiply(probs, MO.NONE, v, MO.NONE)).get_output(0), "values")
    if rank == 3:
        y = _merge_heads(ctx, y, geometry.q_heads, geometry.value_size)

    wants_qk = len(node.outputs) > 3 and node.outputs[3] and node.outputs[3] in ctx.used
    return [y, present_key, present_value, qk_outputs[mode] if wants_qk else None]
