"""The importer context: what ONNX value names stand for while a graph is imported, and helpers
that importers share (constants, symbolic shapes, reshapes, broadcasting).

A value is one of

* an :class:`mlprt.ITensor` of the network (computed at run time),
* a NumPy array (a constant known at parse time: initializers, folded nodes), or
* a :class:`ShapeValue`, an integer vector (or scalar) computed from tensor shapes whose
  elements are known integers or :class:`SymDim` references to dynamic dimensions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple, Union

import numpy as np
import onnx

from onnx import numpy_helper

from mlprt import _core
from mlprt.onnx_parser.errors import ErrorCode, ImportFailure, invalid, unsupported

#: The most elements of the condition constant a broadcast_to makes (parser.FOLDED_BYTES_LIMIT's
#: bytes of bool): a model's huge extents are refused instead of materialized.
_BROADCAST_CONDITION_LIMIT = 1 << 28

#: Positions along an axis (ArgMax's, Hardmax's) up to this many are a parse-time constant; along
#: longer axes an AxisRange step computes them at run time: a parse must not allocate what only a
#: declared shape asks for (a fuzzed model declared an axis of 2^31 - 1: 16 GiB of INT64).
CONSTANT_POSITIONS_UP_TO = 1 << 16
#: The most elements of a constant the parser makes from a model's sizes (an iota, a mask):
#: beyond it the node is refused by name instead of allocated (parser.FOLDED_BYTES_LIMIT's count).
MADE_CONSTANT_LIMIT = 1 << 28

ITensor = _core.ITensor
DataType = _core.DataType

__all__ = ["SymDim", "Unknown", "ShapeValue", "Value", "Node", "ImporterContext",
           "numpy_dtype", "network_dtype", "onnx_to_network_dtype", "tensor_value"]


def tensor_value(tensor: onnx.TensorProto, what: str) -> np.ndarray:
    """The value of a stored tensor (an initializer, a Constant's ``value``) as a NumPy array.

    Raises an ImportFailure (INVALID_VALUE) naming ``what`` when its dims are negative or do not
    match its data; NumPy alone would read a negative dim as "infer this axis" and return a
    wrong-shaped array instead of failing.
    """
    dims = list(tensor.dims)
    if any(d < 0 for d in dims):
        raise invalid(f"{what} has the negative dimension {min(dims)} in its dims {dims}", ErrorCode.INVALID_VALUE)
    try:
        return np.array(numpy_helper.to_array(tensor))
    except Exception as e:
        raise invalid(f"{what} (dims {dims}) cannot be read: {e}", ErrorCode.INVALID_VALUE) from e


@dataclass(frozen=True)
class SymDim:
    """The extent of axis ``axis`` of network tensor ``root``, known only at run time."""

    root: Any  # ITensor (hashable handle)
    axis: int

    def __repr__(self) -> str:
        return f"{self.root.name}.shape[{self.axis}]"


class Unknown:
    """A run-time integer that the parser cannot express (a product of dynamic extents, ...)."""

    def __repr__(self) -> str:
        return "?"


ShapeElem = Union[int, SymDim, Unknown]


@dataclass
class ShapeValue:
    """A small integer tensor (rank 0 or 1) derived from tensor shapes, tracked symbolically."""

    elems: List[ShapeElem]
    scalar: bool = False

    @property
    def shape(self) -> Tuple[int, ...]:
        return () if self.scalar else (len(self.elems),)

    def is_known(self) -> bool:
        return all(isinstance(e, int) for e in self.elems)

    def to_array(self) -> np.ndarray:
        array = np.array(self.elems, dtype=np.int64)
        return array.reshape(()) if self.scalar else array


Value = Union[Any, np.ndarray, ShapeValue]  # Any: ITensor

_NP_TO_DT = {np.dtype(np.float32): DataType.FLOAT, np.dtype(np.float16): DataType.HALF,
             np.dtype(np.int32): DataType.INT32, np.dtype(np.int64): DataType.INT64,
             np.dtype(np.int8): DataType.INT8, np.dtype(np.uint8): DataType.UINT8,
             np.dtype(np.bool_): DataType.BOOL}
_DT_TO_NP = {v: k for k, v in _NP_TO_DT.items()}
_ONNX_TO_DT = {onnx.TensorProto.FLOAT: DataType.FLOAT, onnx.TensorProto.FLOAT16: DataType.HALF,
               onnx.TensorProto.INT32: DataType.INT32, onnx.TensorProto.INT64: DataType.INT64,
               onnx.TensorProto.INT8: DataType.INT8, onnx.TensorProto.UINT8: DataType.UINT8,
               onnx.TensorProto.BOOL: DataType.BOOL}


def numpy_dtype(dtype: Any) -> np.dtype:
    """The NumPy dtype of a network DataType."""
    return _DT_TO_NP[dtype]


def network_dtype(dtype: np.dtype) -> Any:
    """The network DataType of a NumPy dtype (float64 becomes FLOAT); raises ImportFailure."""
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        return DataType.FLOAT
    if dtype not in _NP_TO_DT:
        raise unsupported(f"element type {dtype} is not supported", ErrorCode.UNSUPPORTED_NODE_DATATYPE)
    return _NP_TO_DT[dtype]


def onnx_to_network_dtype(elem_type: int) -> Optional[Any]:
    """The network DataType of an ONNX TensorProto element type, or None if there is none."""
    return _ONNX_TO_DT.get(elem_type)


def onnx_dtype_name(elem_type: int) -> str:
    """The name of an ONNX TensorProto element type; a value ONNX does not define (a corrupt or
    newer model) is named by its number instead of raising."""
    try:
        return onnx.TensorProto.DataType.Name(elem_type)
    except ValueError:
        return f"<unknown data type {elem_type}>"


class Node:
    """An ONNX node being imported: its index, name, op type, attributes and value names."""

    def __init__(self, index: int, proto: onnx.NodeProto, opset: int) -> None:
        self.index = index
        self.proto = proto
        self.name = proto.name or f"{proto.op_type}_{index}"
        self.op_type = proto.op_type
        self.opset = opset
        self.inputs: List[str] = list(proto.input)
        self.outputs: List[str] = list(proto.output)
        self.attrs: Dict[str, Any] = {a.name: onnx.helper.get_attribute_value(a) for a in proto.attribute}

    def attr(self, name: str, default: Any = None) -> Any:
        """An attribute's value (bytes decoded to str), or ``default``."""
        value = self.attrs.get(name, default)
        return value.decode() if isinstance(value, bytes) else value

    def has_input(self, i: int) -> bool:
        """Whether optional input ``i`` is given (present and not "")."""
        return i < len(self.inputs) and self.inputs[i] != ""

    @property
    def num_inputs(self) -> int:
        return len(self.inputs)


class ImporterContext:
    """State shared by the importers of one parse: the network, the values of ONNX names, and
    helpers that add layers for the current node (named after it)."""

    def __init__(self, network: Any, opset: int) -> None:
        self.network = network
        self.opset = opset
        self.values: Dict[str, Value] = {}
        self.used: Set[str] = set()
        self._roots: Dict[Any, Any] = {}
        # (tensor, axis) -> the SymDim that axis's run-time extent is known to equal, where that
        # is another tensor's extent (a convolution keeps its input's batch; a reshape to
        # [x.shape[0], ...] takes it from x).
        self._axis_extents: Dict[Tuple[Any, int], SymDim] = {}
        self._extent_values: Dict[SymDim, Any] = {}  # run-time extents as [1] INT64 tensors (shape_tensor)
        self._extent_carriers: Dict[SymDim, Any] = {}  # 1-D tensors of each run-time extent (extent_carrier)
        self._reshaped_from: Dict[Any, Any] = {}  # reshape outputs -> the tensors reshaped
        self._constants: Dict[int, Tuple[np.ndarray, Any]] = {}
        self.node: Optional[Node] = None
        self.node_layers: List[Any] = []
        #: Outputs of Softplus layers -> their inputs (for the exporters' threshold pattern).
        self.softplus_of: Dict[Any, Any] = {}
        #: BOOL outputs of comparisons -> (ONNX op, a, b), for patterns that consume them.
        self.comparisons: Dict[Any, Tuple[str, Any, Any]] = {}
        #: Tensors whose every value is known to be at least this (axis ranges, and what keeps their
        #: values: reshapes, casts), so that a comparison with a constant every element passes is
        #: known true (transformers' masks compare key positions with 0).
        self.lower_bounds: Dict[Any, float] = {}
        #: BOOL tensors known to be true everywhere (such comparisons, their casts, And of them).
        self.all_true: Set[Any] = set()
        #: Integer tensors of positions: the value at (i_0, ..., i_r-1) is sum of coefficient x i_axis
        #: over the (axis, coefficient) terms, every other axis of extent 1 (an axis range, its
        #: unsqueezes, products with an extent, sums of such over other axes: the flat index
        #: b x S + j that transformers' masks gather with).
        self.index_forms: Dict[Any, Tuple[Tuple[int, ShapeElem], ...]] = {}

    # -- values ---------------------------------------------------------------------------------
    def set(self, name: str, value: Value) -> None:
        """Binds ONNX name ``name`` (a ShapeValue with only known elements becomes an array)."""
        if isinstance(value, ShapeValue) and value.is_known():
            value = value.to_array()
        self.values[name] = value

    def get(self, name: str) -> Value:
        if name not in self.values:
            raise invalid(f"value '{name}' is produced by no node, initializer or graph input",
                          ErrorCode.INVALID_GRAPH)
        return self.values[name]

    def input(self, node: Node, i: int) -> Optional[Value]:
        """The value of input ``i`` of ``node``, None when that optional input is absent."""
        return self.get(node.inputs[i]) if node.has_input(i) else None

    def require(self, node: Node, i: int, what: str = "") -> Value:
        """The value of input ``i``, which must be present."""
        if not node.has_input(i):
            raise invalid(f"{node.op_type} needs input {i}{' (' + what + ')' if what else ''}")
        return self.get(node.inputs[i])

    def constant_input(self, node: Node, i: int, what: str) -> Optional[np.ndarray]:
        """Input ``i`` as a NumPy array (None if absent); raises when it is computed at run time."""
        value = self.input(node, i)
        if value is None:
            return None
        if isinstance(value, np.ndarray):
            return value
        raise unsupported(f"input {i} ({what}) of {node.op_type} must be a constant known at parse "
                          "time; it is computed at run time", ErrorCode.UNSUPPORTED_NODE_INPUT)

    def required_constant(self, node: Node, i: int, what: str) -> np.ndarray:
        """Input ``i`` as a NumPy array; raises when it is absent or computed at run time."""
        self.require(node, i, what)
        value = self.constant_input(node, i, what)
        assert value is not None  # present, by require
        return value

    def integer_constant(self, node: Node, i: int, what: str, required: bool = True) -> Optional[np.ndarray]:
        """Input ``i`` as a NumPy array of integers (axes, indices, starts, ...), None when it is
        optional and absent. ONNX types these int32/int64: another element type is refused, not cast."""
        value = self.required_constant(node, i, what) if required else self.constant_input(node, i, what)
        if value is not None and value.dtype.kind not in "iu":
            raise invalid(f"input {i} ({what}) of {node.op_type} must hold integers, not {value.dtype}")
        return value

    def tensor_input(self, node: Node, i: int, dtype: Any = None) -> Any:
        """Input ``i`` as a network tensor (constants become constant layers)."""
        return self.tensor(self.require(node, i), dtype)

    def require_tensor(self, node: Node, i: int = 0) -> Any:
        """Input ``i`` as a network tensor, for operators that take no shape values: a shape
        computation there is refused as unsupported, naming the operator."""
        value = self.require(node, i)
        if isinstance(value, ShapeValue):
            raise unsupported(f"{node.op_type} of a shape value is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
        return self.tensor(value)

    # -- layers ---------------------------------------------------------------------------------
    def track(self, layer: Any) -> Any:
        """Names ``layer`` after the current node and records it; returns it."""
        if self.node is not None:
            layer.name = f"{self.node.name}/{len(self.node_layers)}"
            self.node_layers.append(layer)
        return layer

    def tensor(self, value: Value, dtype: Any = None) -> Any:
        """``value`` as a network tensor: constants become (cached) constant layers, cast to
        ``dtype`` (a network DataType) when given."""
        if isinstance(value, ShapeValue):
            return self.tensor(self.shape_tensor(value), dtype)
        if isinstance(value, np.ndarray):
            array = value
            if dtype is not None:
                array = array.astype(numpy_dtype(dtype))
            elif array.dtype == np.float64:
                array = array.astype(np.float32)
            elif array.dtype not in _NP_TO_DT:
                network_dtype(array.dtype)
            key = id(value) ^ hash(array.dtype.str)
            cached = self._constants.get(key)
            if cached is not None and cached[0] is value:
                return cached[1]
            layer = self.track(self.network.add_constant(list(array.shape), np.ascontiguousarray(array)))
            out = layer.get_output(0)
            self._constants[key] = (value, out)
            return out
        if dtype is not None and value.dtype != dtype:
            return self.track(self.network.add_cast(value, dtype)).get_output(0)
        return value

    def extent_carrier(self, extent: SymDim) -> Any:
        """A 1-D network tensor whose length is the run-time extent ``extent`` (its values, 0 to
        n - 1, are of no use): an axis range of that axis, which reads nothing of its tensor, so
        the engine computes it (and what depends on nothing else) once per set of input shapes."""
        if extent not in self._extent_carriers:  # one per extent, however many uses
            self._extent_carriers[extent] = self.axis_range(extent, DataType.INT32)
        return self._extent_carriers[extent]

    def positions_along(self, x: Any, axis: int, extent: int, dtype: Any) -> Any:
        """0, 1, ..., n - 1 along ``axis`` of tensor ``x`` (``extent`` = n, known at parse time),
        of network type ``dtype``, shaped to broadcast against ``x``: a constant for short axes, an
        AxisRange step of ``x``'s axis (once per set of shapes) beyond CONSTANT_POSITIONS_UP_TO."""
        along = [extent if a == axis else 1 for a in range(len(x.shape))]
        if extent <= CONSTANT_POSITIONS_UP_TO:
            return self.tensor(np.arange(extent, dtype=numpy_dtype(dtype)).reshape(along), dtype)
        return self.reshape(self.track(self.network.add_axis_range(x, axis, dtype)).get_output(0), along)

    def check_made_constant(self, elements: int, what: str) -> None:
        """Refuses (naming ``what``) a constant of ``elements`` elements that the model's sizes ask
        the parser to make, beyond MADE_CONSTANT_LIMIT, before anything is allocated."""
        if elements > MADE_CONSTANT_LIMIT:
            raise unsupported(f"{what} would need a constant of {elements} elements, more than the parser makes "
                              f"({MADE_CONSTANT_LIMIT})", ErrorCode.UNSUPPORTED_NODE_SHAPE)

    def axis_range(self, extent: SymDim, dtype: Any) -> Any:
        """0, 1, ..., n - 1 of network type ``dtype`` (FLOAT, HALF, INT32 or INT64) for the run-time
        extent n (one step that reads no data)."""
        root = extent.root
        out = self.track(self.network.add_axis_range(root, extent.axis, dtype)).get_output(0)
        self.same_extent(out, 0, root, extent.axis)
        self.lower_bounds[out] = 0.0
        if dtype in (DataType.INT32, DataType.INT64):
            self.index_forms[out] = ((0, 1),)
        return out

    def shape_tensor(self, value: ShapeValue) -> Any:
        """A shape value as an INT64 network tensor computed at run time: each run-time extent is
        the sum of ones over its axis range (made once per extent)."""
        parts = []
        for e in value.elems:
            if isinstance(e, int):
                parts.append(self.tensor(np.array([e], np.int64)))
            elif isinstance(e, SymDim):
                if e not in self._extent_values:
                    carrier = self.tensor(self.extent_carrier(e), DataType.INT64)
                    zeros = self.elementwise(carrier, np.zeros([1], np.int64), _core.ElementWiseOperation.PROD)
                    ones = self.elementwise(zeros, np.ones([1], np.int64), _core.ElementWiseOperation.SUM)
                    self._extent_values[e] = self.track(
                        self.network.add_reduce(ones, _core.ReduceOperation.SUM, 1, True)).get_output(0)
                parts.append(self._extent_values[e])
            else:
                raise unsupported(f"the shape-derived value {value.elems} is needed as a run-time tensor, and "
                                  f"its element {e} is a product of run-time extents, which is not supported",
                                  ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
        out = parts[0] if len(parts) == 1 else self.track(self.network.add_concatenation(parts)).get_output(0)
        if value.scalar:
            layer = self.track(self.network.add_shuffle(out))
            layer.reshape_dims = []
            out = layer.get_output(0)
        return out

    # -- shapes ---------------------------------------------------------------------------------
    def keeps_values(self, out: Any, inp: Any) -> Any:
        """Records that tensor ``out`` holds the values of tensor ``inp`` (a reshape, or a cast that
        keeps them), with what is known of them (lower_bounds, all_true)."""
        if out is inp:
            return out
        if inp in self.lower_bounds:
            self.lower_bounds[out] = self.lower_bounds[inp]
        if inp in self.all_true:
            self.all_true.add(out)
        return out

    def alias(self, out: Any, inp: Any) -> Any:
        """Records that ``out`` has the shape of ``inp`` (so symbolic dims compare equal)."""
        self._roots[out] = self.root(inp)
        return out

    def root(self, t: Any) -> Any:
        return self._roots.get(t, t)

    def same_extent(self, out: Any, out_axis: int, inp: Any, in_axis: int) -> None:
        """Records that axis ``out_axis`` of tensor ``out`` has the run-time extent of axis
        ``in_axis`` of tensor ``inp`` (when both are dynamic), so that reshapes can copy it."""
        if not (0 <= out_axis < len(out.shape) and 0 <= in_axis < len(inp.shape)):
            return
        if out.shape[out_axis] < 0 and inp.shape[in_axis] < 0:
            extent = self.dims(inp)[in_axis]
            if isinstance(extent, SymDim):
                self._axis_extents[(self.root(out), out_axis)] = extent

    def carry_extents(self, out: Any, inputs: Sequence[Any]) -> Any:
        """Records, for each dynamic axis of a broadcasting layer's output, the run-time extent of
        an input of the output's rank that is dynamic on that axis; returns ``out``."""
        for axis, extent in enumerate(out.shape):
            if extent < 0:
                for t in inputs:
                    if len(t.shape) == len(out.shape) and t.shape[axis] < 0:
                        self.same_extent(out, axis, t, axis)
                        break
        return out

    def dims(self, t: Any) -> List[ShapeElem]:
        """The shape of tensor ``t``: known extents as ints, dynamic ones as SymDim."""
        root = self.root(t)
        return [d if d >= 0 else self._axis_extents.get((root, i), SymDim(root, i)) for i, d in enumerate(t.shape)]

    def shape_of(self, value: Value) -> List[ShapeElem]:
        """Shape of any value (tensor, array, ShapeValue)."""
        if isinstance(value, (np.ndarray, ShapeValue)):
            return list(value.shape)
        return self.dims(value)

    @staticmethod
    def rank(value: Value) -> int:
        return len(value.shape)

    def _quotient(self, x: Any, elems: Sequence[ShapeElem]) -> Optional[ShapeElem]:
        """The volume of ``x`` divided by the product of ``elems`` (ints and extents of x), as an int
        or a single run-time extent; None when the parser cannot tell."""
        dims = self.dims(x)
        symbolic = [d for d in dims if not isinstance(d, int)]
        if any(isinstance(d, Unknown) for d in symbolic):
            return None
        numerator = int(np.prod([d for d in dims if isinstance(d, int)], dtype=np.int64))
        denominator = 1
        for e in elems:
            if isinstance(e, int):
                denominator *= e
            elif e in symbolic:
                symbolic.remove(e)
            else:
                return None
        if denominator <= 0 or numerator % denominator:
            return None
        quotient = numerator // denominator
        if not symbolic:
            return quotient
        return symbolic[0] if len(symbolic) == 1 and quotient == 1 else None

    def _plan_reshape(self, x: Any, target: Sequence[ShapeElem]) -> Optional[Tuple[List[int], Dict[int, ShapeElem]]]:
        """The shuffle's reshape dims (0 = copy, -1 = inferred) producing ``target`` from ``x``, and
        the run-time extent of the inferred axis; None when more than one output extent would be
        known only at run time without being copied from the same axis of x."""
        x_dims = self.dims(x)
        dims: List[int] = []
        open_axes: List[int] = []
        for i, e in enumerate(target):
            if isinstance(e, int) and e >= 1:
                dims.append(e)
            elif isinstance(e, int) and e == 0:
                return None  # a zero extent, not expressible (0 means copy)
            elif isinstance(e, SymDim) and i < len(x_dims) and e == x_dims[i]:
                dims.append(0)
            else:
                dims.append(-1)
                open_axes.append(i)
        if not open_axes:
            return dims, {}
        known = [e for i, e in enumerate(target) if i not in open_axes]
        if len(open_axes) == 1:
            i = open_axes[0]
            extent = target[i] if isinstance(target[i], SymDim) else self._quotient(x, known)
            if isinstance(extent, int) and extent > 0:
                dims[i] = extent
                return dims, {}
            return dims, ({i: extent} if isinstance(extent, SymDim) else {})
        if len(open_axes) == 2:
            # An extent of x moved to another axis beside a -1: the -1 must then be a number.
            inferred = [i for i in open_axes if isinstance(target[i], int)]
            moved = [i for i in open_axes if isinstance(target[i], SymDim)]
            if len(inferred) == 1 and len(moved) == 1:
                quotient = self._quotient(x, known + [target[moved[0]]])
                if isinstance(quotient, int) and quotient > 0:
                    dims[inferred[0]] = quotient
                    return dims, {moved[0]: target[moved[0]]}
        return None

    def reshape_dims(self, x: Any, target: Sequence[ShapeElem]) -> Optional[List[int]]:
        """Reshape dims (0 = copy, -1 = inferred) producing ``target`` from ``x``, or None when
        more than one element is unknown."""
        plan = self._plan_reshape(x, target)
        return None if plan is None else plan[0]

    def reshape_sources(self, t: Any) -> List[Any]:
        """The tensors that ``t`` is a reshape of, nearest first (a chain of reshapes)."""
        sources = []
        while t in self._reshaped_from:
            t = self._reshaped_from[t]
            sources.append(t)
        return sources

    def reshape(self, x: Any, target: Sequence[ShapeElem]) -> Any:
        """A shuffle reshaping tensor ``x`` to ``target``; raises when it cannot be expressed."""
        plan = self._plan_reshape(x, target)
        source = x
        # A reshape of a reshape reads the same row-major elements: when the intermediate shape
        # lost run-time extents (a flatten to (-1,)), plan from the tensor before it.
        while plan is None and source in self._reshaped_from:
            source = self._reshaped_from[source]
            plan = self._plan_reshape(source, target)
        if plan is None:
            raise unsupported(f"cannot express a reshape of {tuple(x.shape)} to {list(target)}: more than "
                              "one output extent depends on run-time shapes", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
        x = source
        dims, extents = plan
        if list(x.shape) == dims:
            return x
        layer = self.track(self.network.add_shuffle(x))
        layer.reshape_dims = dims
        out = self.keeps_values(layer.get_output(0), x)
        self._reshaped_from[out] = x
        for i, e in enumerate(target):
            if isinstance(e, SymDim) and i < len(out.shape) and out.shape[i] < 0:
                self._axis_extents[(out, i)] = e
        for i, e in extents.items():
            if out.shape[i] < 0:
                self._axis_extents[(out, i)] = e
        return out

    def transpose(self, x: Any, perm: Sequence[int]) -> Any:
        perm = [int(p) for p in perm]
        if perm == list(range(len(perm))):
            return x
        layer = self.track(self.network.add_shuffle(x))
        layer.first_transpose = perm
        return layer.get_output(0)

    def unsqueeze(self, x: Value, axes: Sequence[int]) -> Value:
        """Inserts extent-1 axes at ``axes`` (positions in the output, non-negative)."""
        out_rank = self.rank(x) + len(axes)
        axes = sorted(a + out_rank if a < 0 else a for a in axes)
        if isinstance(x, np.ndarray):
            return np.expand_dims(x, tuple(axes))
        out = self._unsqueezed(x, axes, out_rank)
        if x in self.index_forms and out is not x:
            kept = [i for i in range(out_rank) if i not in axes]  # input axis k is output axis kept[k]
            self.index_forms[out] = tuple((kept[axis], coefficient) for axis, coefficient in self.index_forms[x])
        return out

    def _unsqueezed(self, x: Any, axes: List[int], out_rank: int) -> Any:
        src = iter(self.dims(x))
        target = [1 if i in axes else next(src) for i in range(out_rank)]
        if self.reshape_dims(x, target) is not None:
            return self.reshape(x, target)
        # Reshape keeping every axis in place, new ones last, then move them.
        rank = self.rank(x)
        layer = self.track(self.network.add_shuffle(x))
        layer.reshape_dims = [0] * rank + [1] * len(axes)
        perm, old, new = [], 0, rank
        for i in range(out_rank):
            if i in axes:
                perm.append(new)
                new += 1
            else:
                perm.append(old)
                old += 1
        layer.second_transpose = perm
        return self.keeps_values(layer.get_output(0), x)

    def squeeze(self, x: Value, axes: Sequence[int]) -> Value:
        """Removes the extent-1 axes ``axes`` (non-negative)."""
        axes = sorted(set(axes))
        if isinstance(x, np.ndarray):
            return np.squeeze(x, tuple(axes))
        dims = self.dims(x)
        for a in axes:
            if dims[a] != 1:
                raise unsupported(f"cannot squeeze axis {a} of {tuple(x.shape)}: its extent is not "
                                  "known to be 1", ErrorCode.UNSUPPORTED_NODE_SHAPE)
        target = [d for i, d in enumerate(dims) if i not in axes]
        if self.reshape_dims(x, target) is not None:
            return self.reshape(x, target)
        keep = [i for i in range(len(dims)) if i not in axes]
        layer = self.track(self.network.add_shuffle(x))
        layer.first_transpose = keep + axes
        layer.reshape_dims = [0] * len(keep)
        return self.keeps_values(layer.get_output(0), x)

    def broadcast_rank(self, value: Value, rank: int) -> Value:
        """Prepends extent-1 axes so that ``value`` has rank ``rank``."""
        missing = rank - self.rank(value)
        if missing <= 0:
            return value
        if isinstance(value, np.ndarray):
            return value.reshape((1,) * missing + value.shape)
        return self.unsqueeze(value, list(range(missing)))

    # -- arithmetic -----------------------------------------------------------------------------
    def common_dtype(self, *values: Value) -> Any:
        for v in values:
            if not isinstance(v, (np.ndarray, ShapeValue)):
                return v.dtype
        return None

    def elementwise(self, a: Value, b: Value, op: Any) -> Any:
        """An elementwise layer on ``a`` and ``b`` with NumPy broadcasting (ranks equalized with
        shuffles, constants converted to the tensor's element type)."""
        dtype = self.common_dtype(a, b)
        rank = max(self.rank(a), self.rank(b))
        ta = self.tensor(self.broadcast_rank(a, rank), dtype)
        tb = self.tensor(self.broadcast_rank(b, rank), dtype)
        layer = self.track(self.network.add_elementwise(ta, tb, op))
        out = layer.get_output(0)
        # When one side is only a per-axis broadcast of the other, shapes are the same.
        for t, other in ((ta, tb), (tb, ta)):
            if list(t.shape) == list(out.shape) and all(d == 1 or d == o for d, o in zip(other.shape, out.shape)):
                self.alias(out, t)
                break
        else:
            for axis in range(len(out.shape)):
                for t, other in ((ta, tb), (tb, ta)):
                    if t.shape[axis] < 0 and other.shape[axis] == 1:
                        self.same_extent(out, axis, t, axis)
        return out

    def broadcast_to(self, x: Any, extents: Sequence[int]) -> Any:
        """Tensor ``x`` broadcast against ``extents`` (same rank; 1 keeps an axis): a select layer,
        select(true, x, x) with a condition of those extents, so any element type is copied exactly.
        Refuses extents whose condition would exceed the parser's limit on constants it makes."""
        volume = 1
        for extent in extents:
            volume *= int(extent)
        if volume > _BROADCAST_CONDITION_LIMIT:
            raise unsupported(f"broadcasting {tuple(x.shape)} to {tuple(extents)} needs a condition of {volume} "
                              f"elements, beyond the {_BROADCAST_CONDITION_LIMIT} a constant made while parsing may "
                              "hold", ErrorCode.UNSUPPORTED_NODE_SHAPE)
        condition = self.tensor(np.ones(list(extents), np.bool_))
        return self.track(self.network.add_select(condition, x, x)).get_output(0)

    def activation(self, x: Any, kind: Any, alpha: float = 0.0, beta: float = 0.0) -> Any:
        layer = self.track(self.network.add_activation(x, kind))
        layer.alpha = float(alpha)
        layer.beta = float(beta)
        return self.alias(layer.get_output(0), x)

    def unary(self, x: Any, op: Any) -> Any:
        return self.alias(self.track(self.network.add_unary(x, op)).get_output(0), x)


def normalize_axis(axis: int, rank: int, node: Optional[Node] = None) -> int:
    """``axis`` in [0, rank), accepting negative axes; raises INVALID_NODE when out of range."""
    axis = int(axis)
    if not -rank <= axis < max(rank, 1):
        raise invalid(f"axis {axis} is out of range for rank {rank}")
    return axis + rank if axis < 0 else axis
