"""TensorRT 7/8 network-definition names, kept for tutorials that build networks layer by layer.

TensorRT's network-API samples (``network_api_pytorch_mnist`` and the many scripts written after
it) call ``add_convolution``, ``add_pooling``, ``add_deconvolution`` with 2-D ``stride`` /
``padding`` / ``dilation`` fields, ``add_fully_connected``, ``add_scale`` and ``trt.Weights``:
names TensorRT 10 removed for ``add_convolution_nd``, ``add_pooling_nd``, the ``_nd`` fields, and
``add_matrix_multiply`` with constants (``add_scale`` and ``add_scale_nd`` it kept). This module
adds them to :class:`INetworkDefinition` and the layer classes when ``mlprt`` is imported, each
built from the TensorRT 10 layers, and says once through the network's logger which call
replaces the removed ones.

``add_fully_connected`` and ``add_scale`` are made of several mlprt layers (a reshape, a product
or elementwise layers, a reshape back), so ``network.num_layers`` counts those; the object they
return behaves as the one layer TensorRT gives (``get_output(0)``, ``get_input(0)``, ``name``).
"""
from __future__ import annotations

import enum
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from mlprt._core import (DataType, ElementWiseOperation, IConvolutionLayer, IDeconvolutionLayer,
                         INetworkDefinition, IPoolingLayer, MatrixOperation, PoolingType)
from mlprt.compat import deprecated

__all__ = ["ScaleMode", "Weights"]

_NUMPY_TYPES = {np.dtype(np.float32): DataType.FLOAT, np.dtype(np.float16): DataType.HALF,
                np.dtype(np.int32): DataType.INT32, np.dtype(np.int64): DataType.INT64,
                np.dtype(np.int8): DataType.INT8, np.dtype(np.uint8): DataType.UINT8,
                np.dtype(np.bool_): DataType.BOOL}


class Weights:
    """TensorRT's ``trt.Weights``: the values of a kernel, bias or constant, from a NumPy array
    (``Weights(array)``) or empty (``Weights()``, ``Weights(trt.float32)``: no bias). Accepted
    wherever mlprt takes an array; ``numpy()`` gives the values back."""

    def __init__(self, values: Any = None) -> None:
        if values is None or isinstance(values, DataType):
            self._type = values if isinstance(values, DataType) else DataType.FLOAT
            self._array = np.zeros(0, dtype=np.float32 if self._type == DataType.FLOAT else np.float16)
            return
        array = np.ascontiguousarray(values)
        if array.dtype not in _NUMPY_TYPES:
            raise TypeError(f"Weights: values of NumPy type {array.dtype.name} have no TensorRT type "
                            f"(float32, float16, int32, int64, int8, uint8 or bool)")
        self._type = _NUMPY_TYPES[array.dtype]
        self._array = array

    @property
    def dtype(self) -> DataType:
        """The values' TensorRT type."""
        return self._type

    @property
    def size(self) -> int:
        """How many values."""
        return int(self._array.size)

    @property
    def nbytes(self) -> int:
        """Bytes of the values."""
        return int(self._array.nbytes)

    def numpy(self) -> np.ndarray:
        """The values (the array given, as a contiguous array)."""
        return self._array

    def __len__(self) -> int:
        return self.size

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self._array if dtype is None else self._array.astype(dtype)

    def __repr__(self) -> str:
        return f"Weights({self._type.name}, {self.size} values)"


class ScaleMode(enum.IntEnum):
    """``trt.ScaleMode``: how many values ``add_scale`` applies, one for the whole tensor, one per
    channel, or one per element of a sample."""

    UNIFORM = 0
    CHANNEL = 1
    ELEMENTWISE = 2


def _array(values: Any) -> Optional[np.ndarray]:
    """An array of ``values`` (None or empty Weights: None)."""
    if values is None:
        return None
    array = np.asarray(values)
    return None if array.size == 0 else array


class _ComposedLayer:
    """The one layer TensorRT 7/8 would give for a call that mlprt builds from several layers:
    its input is the first layer's, its output the last one's; naming it names them all."""

    def __init__(self, input: Any, layers: List[Any], **fields: Any) -> None:
        self._input = input
        self._layers = layers
        self._name = layers[-1].name
        for key, value in fields.items():
            setattr(self, key, value)

    num_inputs = 1
    num_outputs = 1

    @property
    def name(self) -> str:
        """The layer's name (its last mlprt layer's; the others get ``name/part``)."""
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = value
        for index, layer in enumerate(self._layers[:-1]):
            layer.name = f"{value}/{index}"
        self._layers[-1].name = value

    def get_input(self, index: int) -> Any:
        if index != 0:
            raise IndexError(f"layer '{self._name}' has one input; asked for input {index}")
        return self._input

    def get_output(self, index: int) -> Any:
        if index != 0:
            raise IndexError(f"layer '{self._name}' has one output; asked for output {index}")
        return self._layers[-1].get_output(0)


def _shape(tensor: Any) -> Tuple[int, ...]:
    return tuple(int(d) for d in tensor.shape)


def _add_fully_connected(self: INetworkDefinition, input: Any, num_outputs: int, kernel: Any,
                         bias: Any = None) -> _ComposedLayer:
    """TensorRT 7/8's fully connected layer: the last three axes of ``input`` ((..., C, H, W); a
    (C, H, W) input is one row) times ``kernel`` (num_outputs x C*H*W values, row by row), plus
    ``bias`` (num_outputs values, or None), giving (..., num_outputs, 1, 1). Built as a reshape, a product with the kernel
    constant, a bias add and a reshape back."""
    deprecated(self, "INetworkDefinition.add_fully_connected",
               "network.add_matrix_multiply with the kernel as an add_constant (and add_elementwise "
               "SUM for the bias)")
    shape = _shape(input)
    if len(shape) < 3:
        raise ValueError(f"add_fully_connected: input '{input.name}' has shape {shape}; it takes at "
                         f"least three axes (..., C, H, W)")
    if any(d < 0 for d in shape[-3:]):
        raise ValueError(f"add_fully_connected: input '{input.name}' has shape {shape}; its last "
                         f"three axes must be known")
    if int(num_outputs) <= 0:
        raise ValueError(f"add_fully_connected: num_outputs must be positive, got {num_outputs}")
    features = shape[-3] * shape[-2] * shape[-1]
    weights = _array(kernel)
    if weights is None or weights.size != num_outputs * features:
        given = 0 if weights is None else weights.size
        raise ValueError(f"add_fully_connected: kernel holds {given} values; input '{input.name}' "
                         f"{shape} times {num_outputs} outputs takes {num_outputs} x {features}")
    biases = _array(bias)
    if biases is not None and biases.size != num_outputs:
        raise ValueError(f"add_fully_connected: bias holds {biases.size} values; it takes {num_outputs}")
    leading = (0,) * (len(shape) - 3)  # 0: the input's extent, kept
    flat = self.add_shuffle(input)
    flat.reshape_dims = (leading or (1,)) + (features,)  # (C, H, W) alone: one row
    matrix = self.add_constant((num_outputs, features), weights.reshape(num_outputs, features))
    product = self.add_matrix_multiply(flat.get_output(0), MatrixOperation.NONE, matrix.get_output(0),
                                       MatrixOperation.TRANSPOSE)
    layers = [flat, matrix, product]
    out = product.get_output(0)
    if biases is not None:
        constant = self.add_constant((1,) * max(len(leading), 1) + (num_outputs,), biases.reshape(-1))
        added = self.add_elementwise(out, constant.get_output(0), ElementWiseOperation.SUM)
        layers += [constant, added]
        out = added.get_output(0)
    back = self.add_shuffle(out)
    back.reshape_dims = leading + (num_outputs, 1, 1)
    layers.append(back)
    return _ComposedLayer(input, layers, num_output_channels=int(num_outputs), kernel=weights, bias=biases)


def _scale_operand(self: INetworkDefinition, values: Optional[np.ndarray], what: str, mode: ScaleMode,
                   shape: Tuple[int, ...], channel_axis: int) -> Optional[Any]:
    """A constant of ``values`` shaped to broadcast against ``shape`` the way ``mode`` applies it."""
    if values is None:
        return None
    if mode == ScaleMode.UNIFORM:
        wanted, dims = 1, (1,) * len(shape)
    elif mode == ScaleMode.CHANNEL:
        wanted = shape[channel_axis]
        dims = tuple(wanted if axis == channel_axis else 1 for axis in range(len(shape)))
    else:
        wanted = int(np.prod(shape[channel_axis:]))
        dims = (1,) * channel_axis + shape[channel_axis:]
    if values.size != wanted:
        raise ValueError(f"add_scale: {what} holds {values.size} values; ScaleMode.{mode.name} over "
                         f"shape {shape} (channel axis {channel_axis}) takes {wanted}")
    return self.add_constant(dims, values.reshape(-1))


def _add_scale_nd(self: INetworkDefinition, input: Any, mode: ScaleMode, shift: Any = None, scale: Any = None,
                  power: Any = None, channel_axis: int = 1) -> _ComposedLayer:
    """TensorRT's scale layer: (input x scale + shift) ^ power, one value each for the whole tensor
    (UNIFORM), per channel along ``channel_axis`` (CHANNEL) or per element from that axis on
    (ELEMENTWISE); missing or empty values leave their step out. Built from elementwise layers."""
    shape = _shape(input)
    mode = ScaleMode(int(mode))
    if not -len(shape) <= channel_axis < len(shape):
        raise ValueError(f"add_scale: channel axis {channel_axis} is outside input '{input.name}' {shape}")
    channel_axis %= len(shape)
    if mode != ScaleMode.UNIFORM and any(d < 0 for d in shape[channel_axis:]):
        raise ValueError(f"add_scale: input '{input.name}' {shape} must have known extents from the "
                         f"channel axis {channel_axis} on")
    layers: List[Any] = []
    out = input
    for values, what, operation in ((scale, "scale", ElementWiseOperation.PROD),
                                    (shift, "shift", ElementWiseOperation.SUM),
                                    (power, "power", ElementWiseOperation.POW)):
        constant = _scale_operand(self, _array(values), what, mode, shape, channel_axis)
        if constant is None:
            continue
        applied = self.add_elementwise(out, constant.get_output(0), operation)
        layers += [constant, applied]
        out = applied.get_output(0)
    if not layers:
        layers.append(self.add_identity(input))
    return _ComposedLayer(input, layers, mode=mode, shift=_array(shift), scale=_array(scale), power=_array(power),
                          channel_axis=channel_axis)


def _add_scale(self: INetworkDefinition, input: Any, mode: ScaleMode, shift: Any = None, scale: Any = None,
               power: Any = None) -> _ComposedLayer:
    """TensorRT's scale layer over (N, C, H, W): channel axis 1 (add_scale_nd names it)."""
    return _add_scale_nd(self, input, mode, shift, scale, power, 1)


def _two_dimensional(call: str) -> Any:
    def check(values: Sequence[int]) -> Tuple[int, ...]:
        values = tuple(int(v) for v in values)
        if len(values) != 2:
            raise ValueError(f"{call}: takes two extents (H, W), got {values}; the _nd call takes any number")
        return values
    return check


def _add_convolution(self: INetworkDefinition, input: Any, num_output_maps: int, kernel_shape: Sequence[int],
                     kernel: Any, bias: Any = None) -> Any:
    """TensorRT 7/8's 2-D convolution (``add_convolution_nd`` with two kernel extents)."""
    deprecated(self, "INetworkDefinition.add_convolution", "network.add_convolution_nd(...)")
    shape = _two_dimensional("add_convolution: kernel_shape")(kernel_shape)
    return self.add_convolution_nd(input, num_output_maps, shape, np.asarray(kernel), _array(bias))


def _add_deconvolution(self: INetworkDefinition, input: Any, num_output_maps: int, kernel_shape: Sequence[int],
                       kernel: Any, bias: Any = None) -> Any:
    """TensorRT 7/8's 2-D transposed convolution (``add_deconvolution_nd``)."""
    deprecated(self, "INetworkDefinition.add_deconvolution", "network.add_deconvolution_nd(...)")
    shape = _two_dimensional("add_deconvolution: kernel_shape")(kernel_shape)
    return self.add_deconvolution_nd(input, num_output_maps, shape, np.asarray(kernel), _array(bias))


def _add_pooling(self: INetworkDefinition, input: Any, type: PoolingType, window_size: Sequence[int]) -> Any:
    """TensorRT 7/8's 2-D pooling (``add_pooling_nd``)."""
    deprecated(self, "INetworkDefinition.add_pooling", "network.add_pooling_nd(...)")
    return self.add_pooling_nd(input, type, _two_dimensional("add_pooling: window_size")(window_size))


def _field_2d(cls: type, name: str, nd_name: str) -> property:
    """The TensorRT 7/8 2-D field ``name`` of ``cls`` over its ``nd_name`` field."""
    call = f"{cls.__name__}.{name}"

    def get(layer: Any) -> Tuple[int, ...]:
        values = tuple(getattr(layer, nd_name))
        if not values:  # never set: TensorRT's default for each spatial axis of the window
            window = getattr(layer, "window_size_nd" if isinstance(layer, IPoolingLayer) else "kernel_size_nd")
            values = (0 if name == "padding" else 1,) * len(tuple(window))
        if len(values) != 2:
            raise ValueError(f"{call}: layer '{layer.name}' has {len(values)} spatial axes; read {nd_name}")
        return values

    def set(layer: Any, values: Sequence[int]) -> None:
        setattr(layer, nd_name, _two_dimensional(call)(values))

    return property(get, set, doc=f"TensorRT 7/8's 2-D form of {nd_name}.")


_FIELDS = {IConvolutionLayer: {"stride": "stride_nd", "padding": "padding_nd", "dilation": "dilation_nd",
                               "kernel_size": "kernel_size_nd"},
           IDeconvolutionLayer: {"stride": "stride_nd", "padding": "padding_nd", "kernel_size": "kernel_size_nd"},
           IPoolingLayer: {"stride": "stride_nd", "padding": "padding_nd", "window_size": "window_size_nd"}}
_METHODS = {"add_fully_connected": _add_fully_connected, "add_scale": _add_scale, "add_scale_nd": _add_scale_nd,
            "add_convolution": _add_convolution, "add_deconvolution": _add_deconvolution,
            "add_pooling": _add_pooling}


def _install() -> None:
    """Adds the names to the pybind11 classes (never replacing an existing one)."""
    for name, function in _METHODS.items():
        if not hasattr(INetworkDefinition, name):
            function.__name__ = name
            setattr(INetworkDefinition, name, function)
    for cls, fields in _FIELDS.items():
        for name, nd_name in fields.items():
            if not hasattr(cls, name):
                setattr(cls, name, _field_2d(cls, name, nd_name))


_install()
