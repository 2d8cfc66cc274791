"""Importers of shape and layout operators: Constant, ConstantOfShape, Shape, Gather, Slice,
Concat, Squeeze, Unsqueeze, Cast, Reshape, Flatten, Transpose, Identity.

Shape computations (``Shape -> Gather -> Unsqueeze -> Concat -> Reshape`` and their kin) are
folded at parse time on :class:`ShapeValue` s; only the final Reshape becomes a layer.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence

import numpy as np
import onnx

from mlprt import _core

from mlprt.onnx_parser.context import (DataType, ImporterContext, Node, ShapeElem, ShapeValue, SymDim, Unknown,
                                       Value, network_dtype, normalize_axis, numpy_dtype, onnx_dtype_name,
                                       onnx_to_network_dtype, tensor_value)
from mlprt.onnx_parser.errors import ErrorCode, invalid, unsupported
from mlprt.onnx_parser.registry import importer

EW = _core.ElementWiseOperation

# -- shape-value helpers (shared with ops.math) ----------------------------------------------------


def as_shape_value(value: Value) -> Optional[ShapeValue]:
    """``value`` as a ShapeValue when it is one or an integer array of rank <= 1, else None."""
    if isinstance(value, ShapeValue):
        return value
    if isinstance(value, np.ndarray) and value.ndim <= 1 and value.dtype.kind in "iu":
        return ShapeValue([int(v) for v in value.reshape(-1)], scalar=value.ndim == 0)
    return None


def elem_product(elems: Sequence[ShapeElem]) -> ShapeElem:
    """The product of shape elements: an int when all are known, the element itself when
    only one is left, else Unknown."""
    known = 1
    symbolic: List[ShapeElem] = []
    for e in elems:
        if isinstance(e, int):
            known *= e
        else:
            symbolic.append(e)
    if not symbolic:
        return known
    if len(symbolic) == 1 and known == 1:
        return symbolic[0]
    return Unknown()


def shape_binary(op: str, a: ShapeValue, b: ShapeValue) -> ShapeValue:
    """Elementwise arithmetic on shape values (broadcasting length-1 and scalars)."""
    n = max(len(a.elems), len(b.elems))
    if len(a.elems) not in (1, n) or len(b.elems) not in (1, n):
        raise invalid(f"shape values of lengths {len(a.elems)} and {len(b.elems)} do not broadcast")
    out: List[ShapeElem] = []
    for i in range(n):
        x = a.elems[i if len(a.elems) > 1 else 0]
        y = b.elems[i if len(b.elems) > 1 else 0]
        if isinstance(x, int) and isinstance(y, int):
            if op == "Add":
                out.append(x + y)
            elif op == "Sub":
                out.append(x - y)
            elif op == "Mul":
                out.append(x * y)
            elif op == "Div":
                out.append(int(np.trunc(x / y)) if y else 0)
            else:
                out.append(Unknown())
        elif op == "Mul" and (x == 1 or y == 1):
            out.append(y if x == 1 else x)
        elif op in ("Add", "Sub") and y == 0:
            out.append(x)
        elif op == "Add" and x == 0:
            out.append(y)
        elif op == "Div" and y == 1:
            out.append(x)
        else:
            out.append(Unknown())
    return ShapeValue(out, scalar=a.scalar and b.scalar)


def _compare_elems(op: str, x: ShapeElem, y: ShapeElem) -> Optional[bool]:
    """``x op y`` for shape elements, where it is decided at parse time: ints compare as ints; an
    extent known only at run time is never negative and equals itself."""
    if isinstance(x, int) and isinstance(y, int):
        return {"Equal": x == y, "Greater": x > y, "Less": x < y}[op]
    if isinstance(x, Unknown) or isinstance(y, Unknown):
        return None
    if op == "Equal":
        if isinstance(x, SymDim) and isinstance(y, SymDim):
            return True if x == y else None
        other = y if isinstance(x, SymDim) else x
        return False if isinstance(other, int) and other < 0 else None
    if op == "Less":
        x, y = y, x  # x < y is y > x
    if x == y:
        return False
    if isinstance(x, SymDim) and isinstance(y, int) and y < 0:
        return True          # an extent exceeds every negative number
    if isinstance(y, SymDim) and isinstance(x, int) and x < 0:
        return False
    return None


def shape_compare(op: str, a: ShapeValue, b: ShapeValue) -> Optional[np.ndarray]:
    """Equal, Greater or Less of two shape values (broadcasting length 1), as a BOOL array when
    every element is decided at parse time (HF exports guard Expand targets with Equal(shape, -1));
    else None."""
    n = max(len(a.elems), len(b.elems))
    if len(a.elems) not in (1, n) or len(b.elems) not in (1, n):
        raise invalid(f"shape values of lengths {len(a.elems)} and {len(b.elems)} do not broadcast")
    results = [_compare_elems(op, a.elems[i if len(a.elems) > 1 else 0], b.elems[i if len(b.elems) > 1 else 0])
               for i in range(n)]
    if any(r is None for r in results):
        return None
    array = np.array(results, np.bool_)
    return array.reshape(()) if a.scalar and b.scalar else array


def shape_where(condition: np.ndarray, then: ShapeValue, other: ShapeValue) -> ShapeValue:
    """Where with a condition known at parse time, picking elements of two shape values."""
    flat = condition.reshape(-1)
    n = max(flat.size, len(then.elems), len(other.elems))
    for length in (flat.size, len(then.elems), len(other.elems)):
        if length not in (1, n):
            raise invalid(f"Where of shape values: lengths {flat.size}, {len(then.elems)} and {len(other.elems)} "
                          "do not broadcast")
    pick = [then.elems[i if len(then.elems) > 1 else 0] if flat[i if flat.size > 1 else 0]
            else other.elems[i if len(other.elems) > 1 else 0] for i in range(n)]
    return ShapeValue(pick, scalar=condition.ndim == 0 and then.scalar and other.scalar)


def axes_input(ctx: ImporterContext, node: Node, input_index: int) -> Optional[List[int]]:
    """Axes from input ``input_index`` (newer opsets) or the ``axes`` attribute; None if neither."""
    if node.has_input(input_index):
        axes = ctx.integer_constant(node, input_index, "axes")
        return [int(a) for a in np.asarray(axes).reshape(-1)]
    attr = node.attr("axes")
    return None if attr is None else [int(a) for a in attr]


# -- importers -------------------------------------------------------------------------------------


@importer("Identity", notes="Pass-through.")
def identity(ctx: ImporterContext, node: Node) -> List[Value]:
    return [ctx.require(node, 0)]


@importer("Constant", notes="All value forms (value, value_float(s), value_int(s)); not sparse_value "
          "or strings.")
def constant(ctx: ImporterContext, node: Node) -> List[Value]:
    attrs = node.attrs
    if "value" in attrs:
        return [tensor_value(attrs["value"], "the 'value' attribute")]
    if "value_float" in attrs:
        return [np.array(attrs["value_float"], dtype=np.float32)]
    if "value_floats" in attrs:
        return [np.array(attrs["value_floats"], dtype=np.float32)]
    if "value_int" in attrs:
        return [np.array(attrs["value_int"], dtype=np.int64)]
    if "value_ints" in attrs:
        return [np.array(attrs["value_ints"], dtype=np.int64)]
    if attrs:
        raise unsupported(f"Constant with attribute {sorted(attrs)[0]} is not supported",
                          ErrorCode.UNSUPPORTED_NODE_ATTR)
    raise invalid("Constant has no value attribute")


@importer("ConstantOfShape", notes="Shape known at parse time: folded to a constant fill of up to 2 GiB that "
          "takes memory only where a layer uses it as weights. A shape of run-time extents (tensors' dynamic axes): "
          "the value broadcast at run time.")
def constant_of_shape(ctx: ImporterContext, node: Node) -> List[Value]:
    # A constant shape is folded before importers run; here the shape depends on run-time extents.
    target = as_shape_value(ctx.require(node, 0, "input"))
    carrier = shape_carrier(ctx, target) if target is not None and not target.scalar else None
    if carrier is None:
        raise unsupported("ConstantOfShape with a shape that depends on run-time extents other than tensors' "
                          "dynamic axes is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    attribute = node.attr("value")
    value = np.zeros(1, np.float32) if attribute is None else tensor_value(attribute, "the 'value' attribute")
    return [expand_like(ctx, value.reshape([1] * len(target.elems)), carrier)]


@importer("Range", since=11, notes="Start, limit and delta known at parse time (constants, or shape computations "
          "on static extents, as detectors build their anchor grids): folded to a constant. A limit that is a "
          "run-time extent (limit - start one tensor's dynamic axis, delta 1, as GPT-2's positions): computed at "
          "run time as an axis range of that axis (a step that reads no data, run once per set of input shapes).")
def range_(ctx: ImporterContext, node: Node) -> List[Value]:
    bounds: List[Any] = []
    for i, what in enumerate(("start", "limit", "delta")):
        value = ctx.require(node, i, what)
        if isinstance(value, ShapeValue):
            if len(value.elems) != 1:
                raise invalid(f"Range's {what} must be a scalar, got {len(value.elems)} elements")
            bounds.append(value.elems[0] if not value.is_known() else value.to_array().reshape(()))
            continue
        value = ctx.constant_input(node, i, what) if not isinstance(value, np.ndarray) else value
        if value.size != 1:
            raise invalid(f"Range's {what} must be a scalar, got shape {list(value.shape)}")
        bounds.append(value.reshape(()))
    start, limit, delta = bounds
    if not isinstance(limit, np.ndarray) or not isinstance(start, np.ndarray) or not isinstance(delta, np.ndarray):
        return [_run_time_range(ctx, start, limit, delta)]
    if delta == 0:
        raise invalid("Range's delta is 0")
    count = max(int(np.ceil((float(limit) - float(start)) / float(delta))), 0)
    return [(start + np.arange(count, dtype=start.dtype) * delta).astype(start.dtype)]


def _run_time_range(ctx: ImporterContext, start: Any, limit: Any, delta: Any) -> Any:
    """Range whose element count is a run-time extent: start + delta * (0, 1, ..., n - 1), the
    count n = limit - start (delta 1) one tensor's dynamic axis."""
    if not isinstance(start, np.ndarray) or not isinstance(delta, np.ndarray) or float(delta) != 1:
        raise unsupported("Range with a start or delta known only at run time, or a run-time limit with a delta "
                          "other than 1, is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    count = shape_binary("Sub", ShapeValue([limit], scalar=True), ShapeValue([int(start)], scalar=True)).elems[0] \
        if start.dtype.kind in "iu" else (limit if float(start) == 0 else Unknown())
    if not isinstance(count, SymDim):
        raise unsupported(f"Range with a limit known only at run time is supported where limit - start is one "
                          f"tensor's dynamic extent; here it is {limit} - {start}", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    positions = iota(ctx, count, start.dtype)
    if float(start) == 0:
        return positions
    shifted = ctx.alias(ctx.elementwise(positions, start.reshape(1), EW.SUM), positions)
    ctx.lower_bounds[shifted] = float(start)
    return shifted


def iota(ctx: ImporterContext, extent: SymDim, dtype: np.dtype) -> Any:
    """0, 1, ..., n - 1 of ``dtype`` (FLOAT, FLOAT16, INT32 or INT64) for a run-time extent n: an
    axis range (a step that reads no data, run once per set of input shapes)."""
    return ctx.axis_range(extent, network_dtype(np.dtype(dtype)))


@importer("Shape", notes="Folded at parse time; dynamic extents are tracked symbolically (start/end).")
def shape(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require(node, 0)
    dims = ctx.shape_of(x)
    rank = len(dims)
    start = int(node.attr("start", 0))
    end = node.attr("end")
    start = min(max(start + rank if start < 0 else start, 0), rank)
    stop = rank if end is None else min(max(int(end) + rank if int(end) < 0 else int(end), 0), rank)
    return [ShapeValue(list(dims[start:stop]))]


@importer("Expand", since=8, notes="Shape known at parse time (a constant or a folded shape computation), or "
          "run-time extents of tensors (expand_as, F.normalize, attention masks): a "
          "select layer broadcasts the input (any element type); dynamic extents are kept where the target "
          "says 1.")
def expand(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require(node, 0)
    target = as_shape_value(ctx.require(node, 1))
    if isinstance(x, ShapeValue):
        raise unsupported("Expand of a shape value is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    carrier = shape_carrier(ctx, target) if target is not None and not target.scalar else None
    if carrier is not None:
        return [expand_like(ctx, x, carrier)]
    if target is None or target.scalar or not target.is_known():
        raise unsupported("Expand needs a target shape known at parse time, or the shape of one tensor",
                          ErrorCode.UNSUPPORTED_NODE_INPUT)
    wanted = [int(e) for e in target.elems]
    rank = max(ctx.rank(x), len(wanted))
    dims = ctx.shape_of(ctx.broadcast_rank(x, rank) if isinstance(x, np.ndarray) else x)
    dims = [1] * (rank - len(dims)) + list(dims)
    wanted = [1] * (rank - len(wanted)) + wanted
    grow: List[int] = []
    for d, w in zip(dims, wanted):
        if w != 1 and d != 1 and isinstance(d, int) and d != w:
            raise invalid(f"Expand of shape {tuple(dims)} to {tuple(wanted)}: extents {d} and {w} do not broadcast")
        # A dynamic extent broadcasts at run time against the condition's w (1 becomes w).
        grow.append(w if w != 1 and d != w else 1)
    if all(g == 1 for g in grow):
        return [ctx.broadcast_rank(x, rank)]
    return [ctx.broadcast_to(ctx.tensor(ctx.broadcast_rank(x, rank)), grow)]


def _shape_carrier(ctx: ImporterContext, target: ShapeValue) -> Any:
    """The network tensor whose shape ``target`` is (Expand(x, Shape(t)), as F.normalize and
    expand_as export), when some element is known only at run time; else None."""
    roots = {e.root for e in target.elems if isinstance(e, SymDim)}
    if len(roots) != 1:
        return None
    root = next(iter(roots))
    dims = ctx.dims(root)
    if len(dims) != len(target.elems):
        return None
    for i, (e, d) in enumerate(zip(target.elems, dims)):
        same = (isinstance(e, SymDim) and e.axis == i) or (isinstance(e, int) and e == d)
        if not same:
            return None
    return root


def shape_carrier(ctx: ImporterContext, target: ShapeValue) -> Any:
    """A network tensor whose run-time shape is ``target`` (ints and run-time extents of any
    tensors), its values of no use; None when every element is known or one cannot be expressed."""
    if target.is_known() or any(isinstance(e, Unknown) for e in target.elems):
        return None
    same = _shape_carrier(ctx, target)
    if same is not None:
        return same
    rank = len(target.elems)
    known = [e if isinstance(e, int) else 1 for e in target.elems]
    ctx.check_made_constant(int(np.prod(known, dtype=np.float64)), f"a tensor of shape {list(target.elems)}")
    carrier = ctx.tensor(np.zeros(known, np.float32))
    for axis, e in enumerate(target.elems):
        if isinstance(e, SymDim):
            line = ctx.tensor(ctx.extent_carrier(e), DataType.FLOAT)
            placed = ctx.reshape(line, [1] * axis + [e] + [1] * (rank - axis - 1))
            carrier = ctx.elementwise(carrier, placed, EW.SUM)
    return carrier


def expand_like(ctx: ImporterContext, x: Value, carrier: Any) -> Any:
    """``x`` broadcast to the run-time shape of ``carrier``: select(true, x, carrier), whose output
    takes the broadcast shape of all three and the values of x."""
    rank = max(ctx.rank(x), len(carrier.shape))
    tx = ctx.tensor(ctx.broadcast_rank(x, rank))
    other = carrier if carrier.dtype == tx.dtype else ctx.tensor(carrier, tx.dtype)
    other = ctx.broadcast_rank(other, rank)
    condition = ctx.tensor(np.ones([1] * rank, np.bool_))
    return ctx.alias(ctx.track(ctx.network.add_select(condition, tx, other)).get_output(0), carrier)


@importer("Size", notes="Folded at parse time (the element count, a scalar); tracked symbolically when one "
          "extent is dynamic, counted at run time when several are.")
def size(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require(node, 0)
    count = elem_product(ctx.shape_of(x))
    if not isinstance(count, Unknown):
        return [ShapeValue([count], scalar=True)]
    # A product of run-time extents: counted at run time, as the sum of ones over the tensor.
    ones = expand_like(ctx, np.ones([1] * ctx.rank(x), np.int64), ctx.tensor(x))
    mask = (1 << ctx.rank(x)) - 1
    return [ctx.track(ctx.network.add_reduce(ones, _core.ReduceOperation.SUM, mask, False)).get_output(0)]


@importer("Gather", notes="Shape values and constants (folded), and run-time data with constant or run-time "
          "INT32/INT64 indices (a gather layer; negative indices count from the end; constant indices are "
          "checked, a run-time index out of range gives 0). A gather of a flattened tensor at the flat "
          "index of each of its positions in order (i x S + j from run-time Ranges, as transformers' padding "
          "masks index) is a reshape.")
def gather(ctx: ImporterContext, node: Node) -> List[Value]:
    value = ctx.require(node, 0)
    data = as_shape_value(value)
    indices_value = ctx.require(node, 1, "indices")
    if data is not None and isinstance(indices_value, np.ndarray):
        indices = ctx.integer_constant(node, 1, "indices")
        if node.attr("axis", 0) not in (0, -1) or data.scalar or indices.ndim > 1:
            raise unsupported("Gather on a shape value needs axis 0 and indices of rank <= 1")
        n = len(data.elems)
        picked: List[ShapeElem] = []
        for i in indices.reshape(-1):
            i = int(i)
            if not -n <= i < n:
                raise invalid(f"Gather index {i} is out of range for {n} elements")
            picked.append(data.elems[i])
        return [ShapeValue(picked, scalar=indices.ndim == 0)]
    if isinstance(value, np.ndarray) and isinstance(indices_value, np.ndarray):
        axis = normalize_axis(int(node.attr("axis", 0)), value.ndim)
        _check_indices(indices_value, value.shape[axis], node)
        return [np.take(value, indices_value.astype(np.int64), axis=axis)]
    in_order = _gather_in_order(ctx, node, value, indices_value)
    if in_order is not None:
        return [in_order]
    return [_gather_layer(ctx, node, value, indices_value, _core.GatherMode.DEFAULT)]


def _gather_in_order(ctx: ImporterContext, node: Node, value: Value, indices: Value) -> Optional[Any]:
    """Gather along axis 0 of x flattened to (N, 1, ...) (or (N,)) at the flat index of every
    position of x in order (x of rank 2: i x S + j with i over x's first axis and j over its
    second, on increasing axes of the indices, as transformers' padding masks index): x
    reshaped to the output's shape, no gather. None where that is not known at parse time."""
    if int(node.attr("axis", 0)) != 0 or isinstance(value, (np.ndarray, ShapeValue)) \
            or isinstance(indices, (np.ndarray, ShapeValue)) or indices not in ctx.index_forms:
        return None
    data_dims, index_dims = ctx.dims(value), ctx.dims(indices)
    if any(d != 1 for d in data_dims[1:]):
        return None
    terms = ctx.index_forms[indices]
    for x in ctx.reshape_sources(value):  # the tensors `value` flattens, nearest first
        x_dims = ctx.dims(x)
        # Row-major strides of x: its second extent and 1 (rank 2), or products of known extents.
        if len(x_dims) == 2:
            strides: List[ShapeElem] = [x_dims[1], 1]
        elif all(isinstance(d, int) for d in x_dims):
            strides = [int(np.prod(x_dims[k + 1:], dtype=np.int64)) for k in range(len(x_dims))]
        else:
            continue
        if len(terms) == len(x_dims) and all(c == s for (_, c), s in zip(terms, strides)) \
                and all(index_dims[axis] == d for (axis, _), d in zip(terms, x_dims)):
            return ctx.reshape(x, list(index_dims) + list(data_dims[1:]))
    return None


@importer("GatherElements", notes="Run-time or constant data and INT32/INT64 indices (a gather layer in ELEMENT "
          "mode); negative indices count from the end.")
def gather_elements(ctx: ImporterContext, node: Node) -> List[Value]:
    return [_gather_layer(ctx, node, ctx.require(node, 0), ctx.require(node, 1, "indices"), _core.GatherMode.ELEMENT)]


@importer("GatherND", since=11, notes="batch_dims 0; constant or run-time INT32/INT64 indices (negative ones count "
          "from the end); the indexed axes after the first, and the axes after them when more than one axis is "
          "indexed, with extents known at parse time: a gather of the indexed axes flattened into one, at the "
          "linear index (elementwise and reduce layers compute it for run-time indices).")
def gather_nd(ctx: ImporterContext, node: Node) -> List[Value]:
    data, indices = ctx.require(node, 0), ctx.require(node, 1, "indices")
    if isinstance(data, ShapeValue) or isinstance(indices, ShapeValue):
        raise unsupported("GatherND of shape values is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    if int(node.attr("batch_dims", 0)) != 0:
        raise unsupported("GatherND with batch_dims other than 0 is not supported", ErrorCode.UNSUPPORTED_NODE_ATTR)
    x = ctx.tensor(data)
    dims, index_dims = ctx.shape_of(x), ctx.shape_of(indices)
    depth = index_dims[-1] if index_dims else None
    if not isinstance(depth, int) or not 1 <= depth <= len(dims):
        raise invalid(f"GatherND's indices must end in an axis of 1 to {len(dims)} (the data's rank), got "
                      f"{list(index_dims)}")
    known = dims[1:depth] + (dims[depth:] if depth > 1 else [])
    if not all(isinstance(e, int) and e >= 0 for e in known):
        raise unsupported("GatherND of data whose indexed axes after the first (or, indexing several, the axes after "
                          "them) have extents known only at run time is not supported", ErrorCode.UNSUPPORTED_NODE_SHAPE)
    # Row-major strides of the indexed axes; an index of the first axis needs no normalization, since
    # the gather counts a negative linear index from the end of the flattened axis, which is the same.
    strides = [int(np.prod(dims[i + 1:depth], dtype=np.int64)) for i in range(depth)]
    flat = x if depth == 1 else ctx.reshape(x, [-1] + list(dims[depth:]))
    if isinstance(indices, np.ndarray):
        if indices.dtype.kind not in "iu":
            raise invalid(f"GatherND indices must be integers, not {indices.dtype}")
        parts = indices.astype(np.int64)
        for axis in range(1, depth):
            _check_indices(parts[..., axis], dims[axis], node)
            parts[..., axis] %= dims[axis]
        linear = np.asarray((parts * np.array(strides, np.int64)).sum(axis=-1))
    else:
        index_tensor = ctx.tensor(indices)
        if index_tensor.dtype not in (_core.DataType.INT32, _core.DataType.INT64):
            raise invalid(f"GatherND indices must be INT32 or INT64, not {index_tensor.dtype.name}")
        itype = numpy_dtype(index_tensor.dtype)
        rank = len(index_dims)
        weighted = index_tensor
        if depth > 1:  # negative indices of the later axes made positive (Python's %), the first kept
            extents = np.array([1] + [int(e) for e in dims[1:depth]], itype)
            keep_first = ctx.tensor(ctx.broadcast_rank(np.arange(depth) == 0, rank))
            wrapped = ctx.elementwise(index_tensor, extents, EW.MOD)
            chosen = ctx.track(ctx.network.add_select(keep_first, index_tensor, wrapped)).get_output(0)
            weighted = ctx.elementwise(chosen, np.array(strides, itype), EW.PROD)
        linear = ctx.track(ctx.network.add_reduce(weighted, _core.ReduceOperation.SUM, 1 << (rank - 1),
                                                  False)).get_output(0)
    return [_gather_layer(ctx, node, flat, linear, _core.GatherMode.DEFAULT, 0)]


def _check_indices(indices: np.ndarray, extent: Any, node: Node) -> None:
    if indices.dtype.kind not in "iu":
        raise invalid(f"{node.op_type} indices must be integers, not {indices.dtype}")
    if isinstance(extent, int) and extent >= 0 and indices.size and (
            indices.min() < -extent or indices.max() >= extent):
        raise invalid(f"{node.op_type} indices range from {int(indices.min())} to {int(indices.max())}, outside an axis "
                      f"of {extent}")


def _gather_layer(ctx: ImporterContext, node: Node, data: Value, indices: Value, mode: Any,
                  axis: Optional[int] = None) -> Any:
    """A gather layer along ``axis`` (default: the node's attribute)."""
    if isinstance(data, ShapeValue) or isinstance(indices, ShapeValue):
        raise unsupported(f"{node.op_type} mixing shape values with run-time tensors is not supported",
                          ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    x = ctx.tensor(data)
    axis = normalize_axis(int(node.attr("axis", 0) if axis is None else axis), len(x.shape))
    if isinstance(indices, np.ndarray):
        _check_indices(indices, ctx.shape_of(x)[axis], node)
        if indices.dtype not in (np.int32, np.int64):
            indices = indices.astype(np.int64)
    index_tensor = ctx.tensor(indices)
    if index_tensor.dtype not in (_core.DataType.INT32, _core.DataType.INT64):
        raise invalid(f"{node.op_type} indices must be INT32 or INT64, not {index_tensor.dtype.name}")
    if mode == _core.GatherMode.ELEMENT:
        # TensorRT 8.5's form takes the mode first, so the output (the indices' shape) is never
        # inferred as a DEFAULT gather's, whose rank (data's + indices' - 1) may exceed the limit.
        layer = ctx.track(ctx.network.add_gather_v2(x, index_tensor, mode))
        layer.gather_axis = axis
        return ctx.alias(layer.get_output(0), index_tensor)
    layer = ctx.track(ctx.network.add_gather(x, index_tensor, axis))
    out = layer.get_output(0)
    # The output's axes are data's before the axis, the indices', data's after it.
    sources = [(x, a) for a in range(axis)] + [(index_tensor, a) for a in range(len(index_tensor.shape))] + \
        [(x, a) for a in range(axis + 1, len(x.shape))]
    for out_axis, (source, source_axis) in enumerate(sources):
        ctx.same_extent(out, out_axis, source, source_axis)
    return out


_SCATTER_REDUCTIONS = {"none": "NONE", "add": "SUM", "mul": "PROD", "max": "MAX", "min": "MIN"}


def _scatter_layer(ctx: ImporterContext, node: Node, mode: Any, axis: int = 0) -> Any:
    """A scatter layer writing input 2 (updates) into input 0 (data) at input 1 (indices)."""
    data, indices, updates = ctx.require(node, 0), ctx.require(node, 1, "indices"), ctx.require(node, 2, "updates")
    if any(isinstance(v, ShapeValue) for v in (data, indices, updates)):
        raise unsupported(f"{node.op_type} of shape values is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    reduction = node.attr("reduction", "none")
    reduction = reduction.decode() if isinstance(reduction, bytes) else reduction
    if reduction not in _SCATTER_REDUCTIONS:
        raise invalid(f"{node.op_type} reduction must be one of {sorted(_SCATTER_REDUCTIONS)}, got '{reduction}'")
    x = ctx.tensor(data)
    if isinstance(indices, np.ndarray):
        if indices.dtype.kind not in "iu":
            raise invalid(f"{node.op_type} indices must be integers, not {indices.dtype}")
        if mode == _core.ScatterMode.ELEMENT:
            _check_indices(indices, ctx.shape_of(x)[axis], node)
        indices = indices.astype(np.int64)
    index_tensor = ctx.tensor(indices)
    if index_tensor.dtype not in (_core.DataType.INT32, _core.DataType.INT64):
        raise invalid(f"{node.op_type} indices must be INT32 or INT64, not {index_tensor.dtype.name}")
    layer = ctx.track(ctx.network.add_scatter(x, index_tensor, ctx.tensor(updates, x.dtype), mode))
    layer.axis = axis
    layer.reduction = getattr(_core.ScatterReduction, _SCATTER_REDUCTIONS[reduction])
    return ctx.alias(layer.get_output(0), x)


@importer("ScatterElements", notes="Any element type (reductions add, mul, max, min on numbers); constant or "
          "run-time INT32/INT64 indices, negative ones counting from the end (constant ones checked; a run-time "
          "index outside its axis drops its update). Duplicate indices combine in the updates' order, as ONNX's "
          "reference does.")
def scatter_elements(ctx: ImporterContext, node: Node) -> List[Value]:
    rank = len(ctx.shape_of(ctx.require(node, 0)))
    return [_scatter_layer(ctx, node, _core.ScatterMode.ELEMENT, normalize_axis(int(node.attr("axis", 0)), rank))]


@importer("Scatter", since=9, notes="Opsets 9-10: ScatterElements without a reduction.")
def scatter_legacy(ctx: ImporterContext, node: Node) -> List[Value]:
    return scatter_elements(ctx, node)


@importer("ScatterND", notes="Any element type (reductions add, mul, max, min on numbers); constant or run-time "
          "INT32/INT64 index tuples whose length is known at parse time; negative indices count from the end, a "
          "tuple outside data drops its update; duplicate tuples combine in the updates' order.")
def scatter_nd(ctx: ImporterContext, node: Node) -> List[Value]:
    return [_scatter_layer(ctx, node, _core.ScatterMode.ND)]


@importer("Slice", notes="Run-time tensors (a slice layer: negative axes, starts and ends clamped as ONNX "
          "says, negative steps), constants and shape values; starts/ends/axes/steps constant. An axis whose "
          "extent is known only at run time must be kept whole.")
def slice_(ctx: ImporterContext, node: Node) -> List[Value]:
    data = ctx.require(node, 0)
    bounds = [ctx.input(node, i) for i in (1, 2)] if node.has_input(1) else []
    if any(isinstance(b, ShapeValue) and not b.is_known() for b in bounds):
        return [_run_time_slice(ctx, node, data, bounds[0], bounds[1])]
    if node.has_input(1):
        starts = ctx.integer_constant(node, 1, "starts")
        ends = ctx.integer_constant(node, 2, "ends")
        axes = ctx.integer_constant(node, 3, "axes", required=False)
        steps = ctx.integer_constant(node, 4, "steps", required=False)
    else:  # opset < 10 attribute form
        starts, ends, axes = (np.array(node.attr(k, []), np.int64) for k in ("starts", "ends", "axes"))
        steps = None
        if axes.size == 0:
            axes = None
    starts_l = [int(v) for v in starts.reshape(-1)]
    ends_l = [int(v) for v in ends.reshape(-1)]
    rank = ctx.rank(data)
    axes_l = list(range(len(starts_l))) if axes is None else [normalize_axis(a, rank) for a in axes.reshape(-1)]
    steps_l = [1] * len(starts_l) if steps is None else [int(v) for v in steps.reshape(-1)]
    if not len(starts_l) == len(ends_l) == len(axes_l) == len(steps_l):
        raise invalid(f"Slice starts, ends, axes and steps differ in length ({len(starts_l)}, {len(ends_l)}, "
                      f"{len(axes_l)}, {len(steps_l)})")
    if len(set(axes_l)) != len(axes_l):
        raise invalid(f"Slice axes {axes_l} repeat an axis")
    if any(st == 0 for st in steps_l):
        raise invalid("Slice step 0")
    sv = as_shape_value(data)
    if sv is not None and not sv.scalar:
        elems = list(sv.elems)
        for a, s, e, st in zip(axes_l, starts_l, ends_l, steps_l):
            elems = [elems[i] for i in range(*slice(s, e, st).indices(len(elems)))]
        return [ShapeValue(elems)]
    if isinstance(data, np.ndarray):
        index = [slice(None)] * data.ndim
        for a, s, e, st in zip(axes_l, starts_l, ends_l, steps_l):
            index[a] = slice(s, e, st)
        return [np.ascontiguousarray(data[tuple(index)])]
    x = ctx.tensor(data)
    dims = ctx.shape_of(x)
    start, shape, stride = [0] * rank, [-1] * rank, [1] * rank
    for a, (d, full_axis) in enumerate(zip(dims, [True] * rank)):
        if isinstance(d, int) and d >= 0:
            shape[a] = d
    for a, s, e, st in zip(axes_l, starts_l, ends_l, steps_l):
        d = dims[a]
        if not (isinstance(d, int) and d >= 0):
            if st == 1 and s == 0 and e >= 2**31 - 1:
                continue  # the whole axis, whatever its extent
            raise unsupported(f"Slice of axis {a}, whose extent is known only at run time, must keep the whole "
                              "axis", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
        first, _, _ = slice(s, e, st).indices(d)
        start[a], shape[a], stride[a] = first, len(range(*slice(s, e, st).indices(d))), st
    if start == [0] * rank and stride == [1] * rank and all(
            n == -1 or (isinstance(d, int) and n == d) for n, d in zip(shape, dims)):
        return [x]  # selects everything
    # Axes of unknown extent keep -1 (whole); the others have concrete windows.
    shape = [n if isinstance(d, int) and d >= 0 else -1 for n, d in zip(shape, dims)]
    return [ctx.track(ctx.network.add_slice(x, start, shape, stride)).get_output(0)]


def _run_time_slice(ctx: ImporterContext, node: Node, data: Value, starts: Value, ends: Value) -> Any:
    """Slice whose window on an axis is a run-time extent (BERT's position_ids[:, :seq]): for each
    such axis, a gather of the positions start, start + 1, ..., end - 1, where end - start is one
    tensor's dynamic extent; steps 1. Other axes take constant windows as a slice layer would."""
    axes = ctx.integer_constant(node, 3, "axes", required=False)
    steps = ctx.integer_constant(node, 4, "steps", required=False)
    start_elems, end_elems = as_shape_value(starts), as_shape_value(ends)
    if start_elems is None or end_elems is None or len(start_elems.elems) != len(end_elems.elems):
        raise invalid("Slice starts and ends must be integer vectors of one length")
    count = len(start_elems.elems)
    rank = ctx.rank(data)
    axes_l = list(range(count)) if axes is None else [normalize_axis(a, rank) for a in axes.reshape(-1)]
    steps_l = [1] * count if steps is None else [int(v) for v in steps.reshape(-1)]
    if len(axes_l) != count or len(steps_l) != count:
        raise invalid("Slice starts, ends, axes and steps differ in length")
    x = ctx.tensor(data)
    for axis, first, last, step in zip(axes_l, start_elems.elems, end_elems.elems, steps_l):
        if isinstance(first, int) and isinstance(last, int):
            if isinstance(ctx.dims(x)[axis], int) or (first == 0 and last >= 2**31 - 1 and step == 1):
                x = _constant_window(ctx, x, axis, first, last, step)
                continue
        length = shape_binary("Sub", ShapeValue([last]), ShapeValue([first])).elems[0]
        if step != 1 or not isinstance(first, int) or not isinstance(length, SymDim):
            raise unsupported(f"Slice of axis {axis} from {first} to {last} (step {step}): a window known only at "
                              "run time is supported where end - start is one tensor's dynamic extent, step 1",
                              ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
        if ctx.dims(x)[axis] == length and first == 0:
            continue  # the whole axis
        positions = iota(ctx, length, np.dtype(np.int64))
        if first:
            positions = ctx.alias(ctx.elementwise(positions, np.array([first], np.int64), EW.SUM), positions)
        x = _gather_layer(ctx, node, x, positions, _core.GatherMode.DEFAULT, axis)
    return x


def _constant_window(ctx: ImporterContext, x: Any, axis: int, first: int, last: int, step: int) -> Any:
    """x sliced on one axis with a window known at parse time (the axis's extent known, or the
    whole axis)."""
    extent = ctx.dims(x)[axis]
    if not isinstance(extent, int):
        return x
    window = range(*slice(first, last, step).indices(extent))
    start, shape, stride = [0] * len(x.shape), list(x.shape), [1] * len(x.shape)
    start[axis], shape[axis], stride[axis] = window.start, len(window), step
    if len(window) == extent and step == 1:
        return x
    out = ctx.track(ctx.network.add_slice(x, start, shape, stride)).get_output(0)
    return ctx.carry_extents(out, [x])


@importer("Split", notes="Run-time tensors and constants; split sizes as attribute (opset < 13) or constant "
          "input, num_outputs (opset 18), or equal parts; the split axis must have a known extent.")
def split(ctx: ImporterContext, node: Node) -> List[Value]:
    data = ctx.require(node, 0)
    if isinstance(data, ShapeValue):
        raise unsupported("Split of a shape value is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    rank = ctx.rank(data)
    axis = normalize_axis(int(node.attr("axis", 0)), rank)
    extent = ctx.shape_of(data)[axis]
    if not (isinstance(extent, int) and extent >= 0):
        raise unsupported(f"Split along axis {axis}, whose extent is known only at run time, is not supported",
                          ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    outputs = [name for name in node.outputs]
    sizes = ctx.integer_constant(node, 1, "split", required=False) if node.num_inputs > 1 else None
    if sizes is None and node.attr("split") is not None:
        sizes = np.array(node.attr("split"), np.int64)
    if sizes is not None:
        parts = [int(v) for v in sizes.reshape(-1)]
        if len(parts) != len(outputs) or any(p < 0 for p in parts) or sum(parts) != extent:
            raise invalid(f"Split sizes {parts} do not divide the {extent} elements of axis {axis} into "
                          f"{len(outputs)} outputs")
    else:
        count = int(node.attr("num_outputs", len(outputs)))
        if count != len(outputs) or count <= 0:
            raise invalid(f"Split has {len(outputs)} outputs but num_outputs {count}")
        chunk = -(-extent // count)  # ceil: the last part may be smaller (opset 18)
        parts = [min(chunk, max(extent - i * chunk, 0)) for i in range(count)]
    results: List[Value] = []
    offset = 0
    for part in parts:
        if isinstance(data, np.ndarray):
            results.append(np.ascontiguousarray(np.take(data, range(offset, offset + part), axis=axis)))
        else:
            x = ctx.tensor(data)
            dims = ctx.shape_of(x)
            start = [0] * rank
            start[axis] = offset
            shape = [d if isinstance(d, int) and d >= 0 else -1 for d in dims]
            shape[axis] = part
            results.append(ctx.track(ctx.network.add_slice(x, start, shape, [1] * rank)).get_output(0))
        offset += part
    return results


@importer("Concat", notes="Run-time tensors (concatenation layer), constants and shape values.")
def concat(ctx: ImporterContext, node: Node) -> List[Value]:
    values = [ctx.require(node, i) for i in range(node.num_inputs) if node.has_input(i)]
    if any(isinstance(v, ShapeValue) for v in values):
        elems: List[ShapeElem] = []
        for v in values:
            sv = as_shape_value(v)
            if sv is None or sv.scalar:
                raise unsupported("Concat mixes shape values with other tensors")
            elems.extend(sv.elems)
        return [ShapeValue(elems)]
    if "axis" not in node.attrs:
        raise invalid("Concat needs the axis attribute")
    axis = normalize_axis(node.attr("axis"), ctx.rank(values[0]))
    dtype = ctx.common_dtype(*values)
    tensors = [ctx.tensor(v, dtype) for v in values]
    if len(tensors) == 1:
        return [tensors[0]]
    layer = ctx.track(ctx.network.add_concatenation(tensors, axis))
    return [layer.get_output(0)]


@importer("Unsqueeze", notes="Axes as attribute (opset < 13) or input.")
def unsqueeze(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require(node, 0)
    axes = axes_input(ctx, node, 1)
    if axes is None:
        raise invalid("Unsqueeze needs axes")
    out_rank = ctx.rank(x) + len(axes)
    axes = [normalize_axis(a, out_rank) for a in axes]
    if len(set(axes)) != len(axes):
        raise invalid(f"Unsqueeze axes {axes} repeat an axis")
    if isinstance(x, ShapeValue):
        if x.scalar and axes == [0]:
            return [ShapeValue(list(x.elems))]
        raise unsupported("Unsqueeze of a shape value to rank 2 is not supported")
    return [ctx.unsqueeze(x, axes)]


@importer("Squeeze", notes="Axes as attribute (opset < 13) or input; without axes only extents known "
          "to be 1 are removed.")
def squeeze(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require(node, 0)
    axes = axes_input(ctx, node, 1)
    rank = ctx.rank(x)
    if isinstance(x, ShapeValue):
        if not x.scalar and len(x.elems) == 1 and (axes is None or [normalize_axis(a, 1) for a in axes] == [0]):
            return [ShapeValue(list(x.elems), scalar=True)]
        raise unsupported("Squeeze of this shape value is not supported")
    dims = ctx.shape_of(x)
    if axes is None:
        if any(not isinstance(d, int) for d in dims):
            raise unsupported("Squeeze without axes on a tensor with dynamic extents is not supported",
                              ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
        axes = [i for i, d in enumerate(dims) if d == 1]
    axes = [normalize_axis(a, rank) for a in axes]
    for a in axes:
        if isinstance(dims[a], int) and dims[a] != 1:
            raise invalid(f"Squeeze axis {a} has extent {dims[a]}, not 1")
    return [ctx.squeeze(x, axes)]


_INT_TYPES = {onnx.TensorProto.INT64, onnx.TensorProto.INT32, onnx.TensorProto.INT8,
              onnx.TensorProto.UINT8, onnx.TensorProto.INT16, onnx.TensorProto.UINT16,
              onnx.TensorProto.UINT32, onnx.TensorProto.UINT64}


@importer("Cast", notes="Run-time tensors to FLOAT, FLOAT16, INT32, INT64, INT8, UINT8, BOOL; shape values "
          "to integer types (kept symbolic) and to the others (computed at run time).")
def cast(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require(node, 0)
    to = int(node.attr("to", onnx.TensorProto.FLOAT))
    if isinstance(x, ShapeValue):
        if to in _INT_TYPES:
            return [x]
        dtype = onnx_to_network_dtype(to)
        if dtype is None:
            raise unsupported(f"Cast of a shape value to {onnx_dtype_name(to)} is not supported",
                              ErrorCode.UNSUPPORTED_NODE_DATATYPE)
        return [ctx.tensor(x, dtype)]  # computed at run time (its run-time extents summed), then cast
    dtype = onnx_to_network_dtype(to)
    if dtype is None:
        raise unsupported(f"Cast to {onnx_dtype_name(to)} is not supported",
                          ErrorCode.UNSUPPORTED_NODE_DATATYPE)
    return [_cast_to(ctx, x, dtype)]


def _cast_to(ctx: ImporterContext, x: Value, dtype: Any) -> Any:
    """``x`` (a tensor or a constant) as a tensor of network type ``dtype``."""
    if isinstance(x, np.ndarray):
        return ctx.tensor(x, dtype)
    if x.dtype == dtype:
        return x
    out = ctx.alias(ctx.track(ctx.network.add_cast(x, dtype)).get_output(0), x)
    bound = ctx.lower_bounds.get(x)
    if dtype == DataType.BOOL:
        if x in ctx.all_true or (bound is not None and bound > 0):
            ctx.all_true.add(out)
    elif x.dtype != DataType.BOOL and bound is not None and float(bound).is_integer():
        ctx.lower_bounds[out] = bound  # an integer bound is exact in every numeric type
    return out


@importer("CastLike", since=15, notes="Cast to the element type of the second input (as Cast).")
def cast_like(ctx: ImporterContext, node: Node) -> List[Value]:
    x, like = ctx.require(node, 0), ctx.require(node, 1)
    if isinstance(like, ShapeValue):
        like = like.to_array() if like.is_known() else np.zeros(0, np.int64)
    dtype = like.dtype if not isinstance(like, np.ndarray) else \
        onnx_to_network_dtype(onnx.helper.np_dtype_to_tensor_dtype(like.dtype))
    if dtype is None:
        raise unsupported(f"CastLike to {like.dtype} is not supported", ErrorCode.UNSUPPORTED_NODE_DATATYPE)
    if isinstance(x, ShapeValue):
        if dtype in (DataType.INT32, DataType.INT64):
            return [x]
        raise unsupported("CastLike of a shape value to a non-integer type is not supported")
    return [_cast_to(ctx, x, dtype)]


@importer("Reshape", notes="Shape from a constant or a shape computation; 0 copies (allowzero=1 "
          "with a literal 0 is not supported); at most one extent inferred at run time.")
def reshape(ctx: ImporterContext, node: Node) -> List[Value]:
    data = ctx.require(node, 0)
    target = as_shape_value(ctx.require(node, 1))
    if target is None or target.scalar:
        raise unsupported("Reshape needs a shape known at parse time or computed from tensor shapes",
                          ErrorCode.UNSUPPORTED_NODE_INPUT)
    if isinstance(data, ShapeValue):
        return [_reshape_shape_value(data, target)]
    x = ctx.tensor(data)
    allowzero = int(node.attr("allowzero", 0))
    dims = ctx.dims(x)
    elems: List[ShapeElem] = []
    for i, e in enumerate(target.elems):
        if e == 0 and isinstance(e, int):
            if allowzero:
                raise unsupported("Reshape with allowzero=1 to a zero extent is not supported",
                                  ErrorCode.UNSUPPORTED_NODE_ATTR)
            if i >= len(dims):
                raise invalid(f"Reshape copies axis {i} (0) of a rank-{len(dims)} input")
            elems.append(dims[i])
        elif isinstance(e, int) and e < -1:
            raise invalid(f"Reshape extent {e} is invalid")
        else:
            elems.append(e)
    if sum(1 for e in elems if isinstance(e, int) and e == -1) > 1:
        raise invalid("Reshape has more than one -1")
    # Resolve an explicit -1 when the rest and the input are known.
    out = ctx.reshape(x, elems)
    return [out]


def _reshape_shape_value(value: ShapeValue, target: ShapeValue) -> ShapeValue:
    """A shape value (rank 0 or 1) reshaped to rank 1 ([-1], [n]) or to a scalar ([]), as exporters
    flatten the shapes they build."""
    n = len(value.elems)
    wanted = [e for e in target.elems]
    if not all(isinstance(e, int) for e in wanted):
        raise unsupported("Reshape of a shape value to a shape known only at run time is not supported",
                          ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    if wanted == [] and n == 1:
        return ShapeValue(list(value.elems), scalar=True)
    if len(wanted) == 1 and wanted[0] in (-1, n) or (len(wanted) == 1 and wanted[0] == 0 and not value.scalar):
        return ShapeValue(list(value.elems))
    raise unsupported(f"Reshape of a shape value of {n} elements to {wanted} is not supported (rank 0 or 1 only)",
                      ErrorCode.UNSUPPORTED_NODE_DYNAMIC)


@importer("Flatten", notes="Any axis; dynamic extents on at most one side of the axis (or only the "
          "first axis).")
def flatten(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.tensor(ctx.require(node, 0))
    dims = ctx.dims(x)
    axis = int(node.attr("axis", 1))
    if not -len(dims) <= axis <= len(dims):
        raise invalid(f"Flatten axis {axis} is out of range for rank {len(dims)}")
    axis = axis + len(dims) if axis < 0 else axis
    left, right = elem_product(dims[:axis]), elem_product(dims[axis:])
    target: List[ShapeElem] = [left, right]
    if isinstance(left, Unknown) and isinstance(right, Unknown):
        raise unsupported(f"cannot flatten {tuple(x.shape)} at axis {axis}: both sides depend on run-time "
                          "extents", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    return [ctx.reshape(x, target)]


@importer("Transpose", notes="Any permutation (default: reversed axes).")
def transpose(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.tensor(ctx.require(node, 0))
    rank = len(x.shape)
    perm = node.attr("perm")
    perm = list(range(rank))[::-1] if perm is None else [normalize_axis(p, rank) for p in perm]
    if sorted(perm) != list(range(rank)):
        raise invalid(f"Transpose perm {perm} is not a permutation of 0..{rank - 1}")
    return [ctx.transpose(x, perm)]


__all__ = ["as_shape_value", "elem_product", "shape_binary", "axes_input", "SymDim"]


_PAD_MODES = {"constant": _core.SampleMode.FILL, "edge": _core.SampleMode.CLAMP,
              "reflect": _core.SampleMode.REFLECT, "wrap": _core.SampleMode.WRAP}


def _known_integers(ctx: ImporterContext, node: Node, i: int, what: str) -> Optional[np.ndarray]:
    """Input ``i`` as integers known at parse time: a constant, or a shape computation whose
    elements are all known (pads computed from shapes, say); None when absent."""
    value = ctx.input(node, i)
    if value is None:
        return None
    sv = as_shape_value(value)
    if isinstance(value, ShapeValue) and sv is not None:
        if not sv.is_known():
            raise unsupported(f"input {i} ({what}) of {node.op_type} depends on extents known only at run time",
                              ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
        return sv.to_array()
    return ctx.integer_constant(node, i, what)


@importer("Pad", notes="Modes constant, edge, reflect and wrap (a slice layer with a sample mode); pads as "
          "attribute (opset < 11), constant input or a shape computation known at parse time; negative pads "
          "crop; constant_value (a constant, or a run-time scalar: a select of the padded positions) and axes "
          "(opset 18) inputs. An axis known only at run time takes no padding.")
def pad(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    mode_name = node.attr("mode", "constant")
    if isinstance(mode_name, bytes):
        mode_name = mode_name.decode()
    if mode_name not in _PAD_MODES:
        raise unsupported(f"Pad mode '{mode_name}' is not supported (constant, edge, reflect, wrap are)",
                          ErrorCode.UNSUPPORTED_NODE_ATTR)
    rank = ctx.rank(x)
    if node.has_input(1):
        pads_value = _known_integers(ctx, node, 1, "pads")
        pads = [int(v) for v in (pads_value if pads_value is not None else np.zeros(0)).reshape(-1)]
        fill = 0.0
        fill_value = ctx.input(node, 2) if node.has_input(2) else None
        run_time_fill = fill_value is not None and not isinstance(fill_value, np.ndarray)
        constant = None if run_time_fill else (ctx.constant_input(node, 2, "constant_value") if node.has_input(2)
                                               else None)
        if constant is not None:
            if constant.size != 1:
                raise invalid(f"Pad constant_value must be one value, got shape {constant.shape}")
            fill = float(constant.reshape(-1)[0])
        axes_value = _known_integers(ctx, node, 3, "axes") if node.has_input(3) else None
    else:  # opset < 11: attributes
        pads = [int(v) for v in node.attr("pads", [])]
        fill = float(node.attr("value", 0.0))
        axes_value = None
        fill_value, run_time_fill = None, False
    axes = list(range(rank)) if axes_value is None else [normalize_axis(int(a), rank) for a in axes_value.reshape(-1)]
    if len(pads) != 2 * len(axes):
        raise invalid(f"Pad has {len(pads)} pads for {len(axes)} axes; {2 * len(axes)} expected (begins, then ends)")
    begins, ends = [0] * rank, [0] * rank
    for k, a in enumerate(axes):
        begins[a], ends[a] = pads[k], pads[k + len(axes)]
    dims = ctx.shape_of(x)
    start, shape = [], []
    for a, d in enumerate(dims):
        known = isinstance(d, int) and d >= 0
        if not known:
            if begins[a] or ends[a]:
                raise unsupported(f"Pad of axis {a}, whose extent is known only at run time, is not supported",
                                  ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
            start.append(0)
            shape.append(-1)
            continue
        extent = d + begins[a] + ends[a]
        if extent < 0:
            raise invalid(f"Pad pads {pads} crop more than the {d} elements of axis {a}")
        if mode_name in ("reflect", "edge", "wrap") and d == 0 and extent > 0:
            raise invalid(f"Pad mode '{mode_name}' cannot pad the empty axis {a}")
        start.append(-begins[a])
        shape.append(extent)
    if all(b == 0 and e == 0 for b, e in zip(begins, ends)):
        return [x]
    layer = ctx.network.add_slice(x, start, shape, [1] * rank, mode=_PAD_MODES[mode_name], fill_value=fill)
    padded = ctx.carry_extents(ctx.track(layer).get_output(0), [x])
    if run_time_fill and mode_name == "constant":
        padded = _fill_padding(ctx, padded, ctx.tensor(fill_value), begins, ends)
    return [padded]


@importer("CenterCropPad", since=18, notes="One slice layer that reads zeros past the input: each axis named is "
          "cropped around its centre or padded with zeros on both sides (the extra element after, as the "
          "reference does) to the target extent; shape a constant or a shape computation known at parse time, "
          "axes attribute (negative counts from the end); the axes it changes must have extents known at parse "
          "time.")
def center_crop_pad(ctx: ImporterContext, node: Node) -> List[Value]:
    x = ctx.require_tensor(node)
    rank = ctx.rank(x)
    target_value = _known_integers(ctx, node, 1, "shape")
    if target_value is None:
        raise invalid("CenterCropPad needs its input 1 (shape)")
    target = [int(v) for v in target_value.reshape(-1)]
    axes = [normalize_axis(int(a), rank) for a in node.attr("axes", list(range(rank)))]
    if len(set(axes)) != len(axes):
        raise invalid(f"CenterCropPad's axes {list(node.attr('axes', []))} name an axis twice")
    if len(target) != len(axes):
        raise invalid(f"CenterCropPad's shape {target} has {len(target)} extents for {len(axes)} axes")
    dims = ctx.shape_of(x)
    start, shape = [0] * rank, [d if isinstance(d, int) and d >= 0 else -1 for d in dims]
    for a, extent in zip(axes, target):
        if extent < 0:
            raise invalid(f"CenterCropPad's target extent {extent} for axis {a} is negative")
        d = dims[a]
        if not (isinstance(d, int) and d >= 0):
            raise unsupported(f"CenterCropPad of axis {a}, whose extent is known only at run time, is not supported",
                              ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
        # Crop: start (d - extent) // 2 in; pad: the input starts (extent - d) // 2 in (a negative start).
        start[a] = (d - extent) // 2 if extent <= d else -((extent - d) // 2)
        shape[a] = extent
    if all(v == 0 for v in start) and all(shape[a] == dims[a] for a in axes):
        return [x]
    layer = ctx.network.add_slice(x, start, shape, [1] * rank, mode=_PAD_MODES["constant"], fill_value=0.0)
    return [ctx.carry_extents(ctx.track(layer).get_output(0), [x])]


def _fill_padding(ctx: ImporterContext, padded: Any, value: Any, begins: List[int], ends: List[int]) -> Any:
    """``padded`` with its padding set to the run-time scalar ``value``: a select with a constant
    mask of the padded positions (extent 1 on the axes known only at run time, which take none)."""
    if value.dtype != padded.dtype or int(np.prod(value.shape)) != 1:
        raise invalid(f"Pad constant_value must be one value of the data's type {padded.dtype.name}, got "
                      f"{value.dtype.name} {tuple(value.shape)}")
    extents = [d if d >= 0 else 1 for d in padded.shape]
    ctx.check_made_constant(int(np.prod(extents, dtype=np.float64)), f"Pad's mask of the padded shape {extents}")
    inside = np.zeros(extents, np.bool_)
    window = tuple(slice(max(b, 0), e - max(a, 0)) if d >= 0 else slice(None)
                   for b, a, e, d in zip(begins, ends, extents, padded.shape))
    inside[window] = True
    rank = len(padded.shape)
    scalar = ctx.reshape(value, [1] * rank)
    layer = ctx.track(ctx.network.add_select(ctx.tensor(~inside), scalar, padded))
    return ctx.carry_extents(layer.get_output(0), [padded])


@importer("Tile", since=6, notes="Repeats as a constant (or a shape computation known at parse time): a slice layer "
          "that wraps around (SampleMode.WRAP); an axis known only at run time must repeat once.")
def tile(ctx: ImporterContext, node: Node) -> List[Value]:
    data = ctx.require(node, 0)
    if isinstance(data, ShapeValue):
        raise unsupported("Tile of a shape value is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    repeats_value = _known_integers(ctx, node, 1, "repeats")
    if repeats_value is None:
        raise invalid("Tile needs the repeats input")
    repeats = [int(r) for r in repeats_value.reshape(-1)]
    rank = ctx.rank(data)
    if len(repeats) != rank:
        raise invalid(f"Tile has {len(repeats)} repeats for a rank-{rank} input")
    if any(r < 0 for r in repeats):
        raise invalid(f"Tile repeats {repeats} must not be negative")
    if isinstance(data, np.ndarray):
        return [np.tile(data, repeats)]
    x = ctx.tensor(data)
    if all(r == 1 for r in repeats):
        return [x]
    shape = []
    for a, (d, r) in enumerate(zip(ctx.shape_of(x), repeats)):
        if not (isinstance(d, int) and d >= 0):
            if r != 1:
                raise unsupported(f"Tile of axis {a}, whose extent is known only at run time, is not supported",
                                  ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
            shape.append(-1)
        else:
            shape.append(d * r)
    layer = ctx.network.add_slice(x, [0] * rank, shape, [1] * rank, mode=_core.SampleMode.WRAP)
    return [ctx.track(layer).get_output(0)]
