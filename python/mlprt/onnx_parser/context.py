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
        self._constants: Dict[int, Tuple[np.ndarray, Any]] = {}
        self.node: Optional[Node] = None
        self.node_layers: List[Any] = []
        #: Outputs of Softplus layers -> their inputs (for the exporters' threshold pattern).
        self.softplus_of: Dict[Any, Any] = {}
        #: BOOL outputs of comparisons -> (ONNX op, a, b), for patterns that consume them.
        self.comparisons: Dict[Any, Tuple[str, Any, Any]] = {}

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
            raise unsupported(f"the shape-derived value {value.elems} is needed as a run-time tensor; "
                              "computing shapes at run time is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
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

    # -- shapes ---------------------------------------------------------------------------------
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

    def reshape_dims(self, x: Any, target: Sequence[ShapeElem]) -> Optional[List[int]]:
        """Reshape dims (0 = copy, -1 = inferred) producing ``target`` from ``x``, or None when
        more than one element is unknown."""
        root = self.root(x)
        dims: List[int] = []
        unknown = 0
        for i, e in enumerate(target):
            if isinstance(e, int) and e >= 0:
                if e == 0:
                    return None  # a zero extent, not expressible (0 means copy)
                dims.append(e)
            elif isinstance(e, SymDim) and i < len(x.shape) and e == self.dims(x)[i]:
                dims.append(0)
            else:
                unknown += 1
                dims.append(-1)
        if unknown != 1:
            return dims if unknown == 0 else None
        # Resolve the -1 when every dynamic extent of x is copied by a 0.
        copied = {i for i, d in enumerate(dims) if d == 0}
        shape = list(x.shape)
        if all(d >= 0 or i in copied for i, d in enumerate(shape)):
            rest_in = int(np.prod([d for i, d in enumerate(shape) if i not in copied], dtype=np.int64))
            rest_out = int(np.prod([d for d in dims if d > 0], dtype=np.int64))
            if rest_out > 0 and rest_in % rest_out == 0:
                dims[dims.index(-1)] = rest_in // rest_out
        return dims

    def reshape(self, x: Any, target: Sequence[ShapeElem]) -> Any:
        """A shuffle reshaping tensor ``x`` to ``target``; raises when it cannot be expressed."""
        dims = self.reshape_dims(x, target)
        if dims is None:
            raise unsupported(f"cannot express a reshape of {tuple(x.shape)} to {list(target)}: more than "
                              "one output extent depends on run-time shapes", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
        if list(x.shape) == dims:
            return x
        layer = self.track(self.network.add_shuffle(x))
        layer.reshape_dims = dims
        out = layer.get_output(0)
        for i, e in enumerate(target):
            if isinstance(e, SymDim) and i < len(out.shape) and out.shape[i] < 0:
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
        return layer.get_output(0)

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
        return layer.get_output(0)

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
        select(true, x, x) with a condition of those extents, so any element type is copied exactly."""
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
