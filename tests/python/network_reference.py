"""A NumPy evaluator of an mlprt.INetworkDefinition: the reference for parser tests.

``evaluate(network, inputs)`` walks ``network.get_layer(i)`` in order, reads each layer's
parameters through the Python bindings and computes in float64 (integers stay integers;
casts to HALF round through float16). Every intermediate result is checked against the
shape the network inferred for it, so shape inference is validated along the way.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List

import numpy as np

import mlprt

_ACT = mlprt.ActivationType
_EW = mlprt.ElementWiseOperation
_UN = mlprt.UnaryOperation
_RO = mlprt.ReduceOperation
_SR = mlprt.ScatterReduction
_DT = mlprt.DataType

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _float(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float64) if x.dtype.kind == "f" else x


def _axes(mask: int, rank: int) -> tuple:
    return tuple(a for a in range(rank) if mask >> a & 1)


def activation(kind: Any, x: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """TensorRT's activation ``kind`` with its alpha/beta meanings (core/operations.h)."""
    if kind == _ACT.RELU:
        return np.maximum(x, 0.0)
    if kind == _ACT.SIGMOID:
        return 1.0 / (1.0 + np.exp(-x))
    if kind == _ACT.TANH:
        return np.tanh(x)
    if kind == _ACT.LEAKY_RELU:
        return np.where(x >= 0, x, alpha * x)
    if kind == _ACT.ELU:
        return np.where(x >= 0, x, alpha * (np.exp(x) - 1.0))
    if kind == _ACT.SELU:
        return beta * np.where(x >= 0, x, alpha * (np.exp(x) - 1.0))
    if kind == _ACT.SOFTPLUS:
        return alpha * np.logaddexp(0.0, beta * x)
    if kind == _ACT.CLIP:
        return np.minimum(np.maximum(x, alpha), beta)
    if kind == _ACT.HARD_SIGMOID:
        return np.maximum(0.0, np.minimum(1.0, alpha * x + beta))
    if kind == _ACT.HARD_SWISH:
        return x * np.maximum(0.0, np.minimum(1.0, alpha * x + beta))
    if kind == _ACT.SILU:
        return x / (1.0 + np.exp(-x))
    if kind == _ACT.GELU_ERF:
        return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))
    if kind == _ACT.GELU_TANH:
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    raise NotImplementedError(f"activation {kind}")


def _shuffle(layer: Any, x: np.ndarray) -> np.ndarray:
    if layer.first_transpose:
        x = np.transpose(x, layer.first_transpose)
    dims = layer.reshape_dims
    if dims is not None:
        target = [x.shape[i] if d == 0 else d for i, d in enumerate(dims)]
        x = x.reshape(target)
    if layer.second_transpose:
        x = np.transpose(x, layer.second_transpose)
    return x


def _cast(x: np.ndarray, to: Any) -> np.ndarray:
    if to == _DT.FLOAT:
        return x.astype(np.float64)
    if to == _DT.HALF:
        return x.astype(np.float16).astype(np.float64)
    return x.astype(mlprt.nptype(to))


def _window_geometry(layer: Any, spatial: tuple, window: tuple) -> List[tuple]:
    """Per spatial axis (output extent, padding before), from the layer's attributes as TensorRT
    and ONNX define them: explicit padding rounded down or up (a last window that would start in
    the end padding dropped), or SAME padding with out = ceil(in / stride)."""
    axes = len(spatial)
    stride = tuple(layer.stride_nd) or (1,) * axes
    dilation = tuple(layer.dilation_nd) or (1,) * axes
    pre = tuple(layer.pre_padding) or (0,) * axes
    post = tuple(layer.post_padding) or (0,) * axes
    mode = layer.padding_mode
    result = []
    for i in range(axes):
        span = dilation[i] * (window[i] - 1) + 1
        if mode in (mlprt.PaddingMode.SAME_UPPER, mlprt.PaddingMode.SAME_LOWER):
            out = -(-spatial[i] // stride[i])
            total = max(0, (out - 1) * stride[i] + span - spatial[i])
            before = total // 2 if mode == mlprt.PaddingMode.SAME_UPPER else total - total // 2
            result.append((out, before, total - before))
            continue
        room = spatial[i] + pre[i] + post[i] - span
        if mode == mlprt.PaddingMode.EXPLICIT_ROUND_UP:
            out = -(-room // stride[i]) + 1
            if (out - 1) * stride[i] >= spatial[i] + pre[i]:
                out -= 1
        else:
            out = room // stride[i] + 1
        result.append((out, pre[i], post[i]))
    return result


def _windows(layer: Any, x: np.ndarray, window: tuple):
    """Yields (output index, taps): taps lists (input index or None for padding, inside the
    padded input?) for each window position, in row-major tap order."""
    spatial = x.shape[2:]
    geometry = _window_geometry(layer, spatial, window)
    stride = tuple(layer.stride_nd) or (1,) * len(spatial)
    dilation = tuple(layer.dilation_nd) or (1,) * len(spatial)
    for out_index in np.ndindex(*[g[0] for g in geometry]):
        taps = []
        for tap in np.ndindex(*window):
            position = tuple(o * s - g[1] + t * d for o, s, g, t, d in zip(out_index, stride, geometry, tap, dilation))
            inside = all(0 <= p < n for p, n in zip(position, spatial))
            in_padded = all(-g[1] <= p < n + g[2] for p, n, g in zip(position, spatial, geometry))
            taps.append((tap, position if inside else None, in_padded))
        yield out_index, taps


def convolution(layer: Any, x: np.ndarray, kernel: np.ndarray, bias: Any) -> np.ndarray:
    """IConvolutionLayer in float64: out[n, m] = sum over the group's channels and taps."""
    groups = layer.num_groups
    maps, group_channels = kernel.shape[:2]
    geometry = _window_geometry(layer, x.shape[2:], tuple(kernel.shape[2:]))
    out = np.zeros((x.shape[0], maps) + tuple(g[0] for g in geometry))
    per_group = maps // groups
    for out_index, taps in _windows(layer, x, tuple(kernel.shape[2:])):
        for tap, position, _ in taps:
            if position is None:
                continue
            values = x[(slice(None), slice(None)) + position]  # (N, C)
            for g in range(groups):
                w = kernel[(slice(g * per_group, (g + 1) * per_group), slice(None)) + tap]  # (Mg, Cg)
                out[(slice(None), slice(g * per_group, (g + 1) * per_group)) + out_index] += \
                    values[:, g * group_channels:(g + 1) * group_channels] @ w.T
    if bias is not None:
        out += bias.reshape((1, maps) + (1,) * (x.ndim - 2))
    return out


def deconvolution(layer: Any, x: np.ndarray, kernel: np.ndarray, bias: Any) -> np.ndarray:
    """IDeconvolutionLayer in float64, scattered: every input element adds kernel-weighted values to
    the full output, which is then cropped (pre/post padding, or SAME: output = input x stride)."""
    groups = layer.num_groups
    channels, per_group = kernel.shape[:2]
    maps = per_group * groups
    window = kernel.shape[2:]
    spatial = x.shape[2:]
    axes = len(spatial)
    stride = tuple(layer.stride_nd) or (1,) * axes
    dilation = tuple(layer.dilation_nd) or (1,) * axes
    extra = tuple(layer.output_padding) or (0,) * axes
    full = [stride[i] * (spatial[i] - 1) + dilation[i] * (window[i] - 1) + 1 + extra[i] for i in range(axes)]
    if layer.padding_mode in (mlprt.PaddingMode.SAME_UPPER, mlprt.PaddingMode.SAME_LOWER):
        extents = [spatial[i] * stride[i] for i in range(axes)]
        totals = [full[i] - extents[i] for i in range(axes)]
        before = [t // 2 if layer.padding_mode == mlprt.PaddingMode.SAME_UPPER else t - t // 2 for t in totals]
    else:
        before = list(tuple(layer.pre_padding) or (0,) * axes)
        after = list(tuple(layer.post_padding) or (0,) * axes)
        extents = [full[i] - before[i] - after[i] for i in range(axes)]
    out = np.zeros((x.shape[0], maps) + tuple(full))
    per_channel = channels // groups
    for position in np.ndindex(*spatial):
        for tap in np.ndindex(*window):
            target = tuple(p * s + t * d for p, s, t, d in zip(position, stride, tap, dilation))
            for g in range(groups):
                values = x[(slice(None), slice(g * per_channel, (g + 1) * per_channel)) + position]  # (N, Cg)
                w = kernel[(slice(g * per_channel, (g + 1) * per_channel), slice(None)) + tap]  # (Cg, Mg)
                out[(slice(None), slice(g * per_group, (g + 1) * per_group)) + target] += values @ w
    out = out[(slice(None), slice(None)) + tuple(slice(b, b + e) for b, e in zip(before, extents))]
    if bias is not None:
        out = out + bias.reshape((1, maps) + (1,) * axes)
    return out


def slice_layer(layer: Any, x: np.ndarray) -> np.ndarray:
    """ISliceLayer: index arrays per axis, out-of-range coordinates resolved by the sample mode."""
    mode = layer.mode
    indices = []
    fill_mask = np.zeros((), bool)
    for axis, (start, extent, stride) in enumerate(zip(layer.start, layer.shape, layer.stride)):
        n = x.shape[axis]
        if extent == -1:
            extent = n
        coords = start + stride * np.arange(extent)
        outside = (coords < 0) | (coords >= n)
        if mode == mlprt.SampleMode.STRICT_BOUNDS:
            assert not outside.any(), f"slice reads outside axis {axis}"
        elif mode == mlprt.SampleMode.WRAP:
            coords = np.mod(coords, n)
        elif mode == mlprt.SampleMode.CLAMP:
            coords = np.clip(coords, 0, n - 1)
        elif mode == mlprt.SampleMode.REFLECT:
            period = max(2 * (n - 1), 1)
            folded = np.mod(coords, period)
            coords = np.where(folded < n, folded, period - folded)
        shape = [1] * x.ndim
        shape[axis] = extent
        if mode == mlprt.SampleMode.FILL:
            fill_mask = fill_mask | outside.reshape(shape)
            coords = np.clip(coords, 0, max(n - 1, 0))
        indices.append(coords.reshape(shape))
    out = x[tuple(indices)] if x.size else np.zeros([len(i.reshape(-1)) for i in indices], x.dtype)
    if mode == mlprt.SampleMode.FILL:
        out = np.where(fill_mask, np.asarray(layer.fill_value).astype(x.dtype), out)
    return out


def pooling(layer: Any, x: np.ndarray) -> np.ndarray:
    """IPoolingLayer in float64: max over input elements, or the average over the input elements
    (average_count_excludes_padding) or over the window clipped to the padded input."""
    window = tuple(layer.window_size_nd)
    geometry = _window_geometry(layer, x.shape[2:], window)
    out = np.zeros(x.shape[:2] + tuple(g[0] for g in geometry))
    for out_index, taps in _windows(layer, x, window):
        values = [x[(slice(None), slice(None)) + p] for _, p, _ in taps if p is not None]
        target = (slice(None), slice(None)) + out_index
        if layer.type == mlprt.PoolingType.MAX:
            out[target] = np.max(values, axis=0) if values else -np.inf
        else:
            count = len(values) if layer.average_count_excludes_padding else sum(1 for t in taps if t[2])
            out[target] = np.sum(values, axis=0) / count if count else 0.0
    return out


def top_k(x: np.ndarray, largest: bool, k: int, axis: int) -> tuple:
    """(values, INT32 indices) of the k largest (smallest) along ``axis``: ties keep the lower
    index first, NaN ranks above every number."""
    lines = np.moveaxis(x, axis, -1)
    nan = np.isnan(lines) if lines.dtype.kind == "f" else np.zeros(lines.shape, bool)
    value = np.where(nan, 0, lines).astype(np.float64)
    # np.lexsort is stable and sorts by its last key first: NaN first (largest) or last.
    order = np.lexsort((-value, ~nan) if largest else (value, nan), axis=-1)[..., :k]
    values = np.take_along_axis(lines, order, axis=-1)
    return np.moveaxis(values, -1, axis), np.moveaxis(order, -1, axis).astype(np.int32)


def shift(a: np.ndarray, b: np.ndarray, left: bool) -> np.ndarray:
    """ONNX's BitShift as its reference computes it: counts outside [0, width) shift every bit out."""
    a, b = np.broadcast_arrays(a, b)
    width = a.dtype.itemsize * 8
    counts = b.astype(np.int64)
    inside = (counts >= 0) & (counts < width)
    safe = np.where(inside, counts, 0).astype(a.dtype)
    if left:
        return np.where(inside, np.left_shift(a, safe), 0).astype(a.dtype)
    return np.where(inside, np.right_shift(a, safe), np.where(a < 0, -1, 0)).astype(a.dtype)


def scatter(layer: Any, data: np.ndarray, indices: np.ndarray, updates: np.ndarray) -> np.ndarray:
    """An IScatterLayer: updates applied in their order; an index outside its axis drops its update."""
    out = data.copy()
    combine = {_SR.NONE: lambda held, u: u, _SR.SUM: lambda held, u: held + u, _SR.PROD: lambda held, u: held * u,
               _SR.MAX: np.maximum, _SR.MIN: np.minimum}[layer.reduction]
    if layer.mode == mlprt.ScatterMode.ELEMENT:
        axis = layer.axis
        for position in np.ndindex(*indices.shape):
            index = int(indices[position])
            index += data.shape[axis] if index < 0 else 0
            if 0 <= index < data.shape[axis]:
                target = position[:axis] + (index,) + position[axis + 1:]
                out[target] = combine(out[target], updates[position])
        return out
    for position in np.ndindex(*indices.shape[:-1]):
        target = tuple(int(i) + (data.shape[d] if i < 0 else 0) for d, i in enumerate(indices[position]))
        if all(0 <= t < data.shape[d] for d, t in enumerate(target)):
            out[target] = combine(out[target], updates[position])
    return out


def cumulative(layer: Any, x: np.ndarray) -> np.ndarray:
    """An ICumulativeLayer (running sums or products along its axis)."""
    lines = np.flip(x, layer.axis) if layer.reverse else x
    if layer.exclusive:  # each element left out: the line shifted by one, the identity first
        identity = 1 if layer.op == mlprt.CumulativeOperation.PROD else 0
        first = np.full_like(np.take(lines, [0], axis=layer.axis), identity)
        lines = np.concatenate([first, np.delete(lines, -1, axis=layer.axis)], axis=layer.axis)
    if layer.op == mlprt.CumulativeOperation.PROD:
        with np.errstate(over="ignore"):  # integers wrap, as the kernel's do
            result = np.cumprod(lines, axis=layer.axis, dtype=x.dtype)
    else:
        result = np.cumsum(lines, axis=layer.axis, dtype=x.dtype)
    return np.flip(result, layer.axis) if layer.reverse else result


def layer_output(layer: Any, ins: List[np.ndarray]) -> Any:
    """The output of one layer on NumPy inputs."""
    if isinstance(layer, mlprt.IConstantLayer):
        return _float(layer.weights)
    if isinstance(layer, mlprt.IMatrixMultiplyLayer):
        a, b = ins
        if layer.get_operation(0) == mlprt.MatrixOperation.TRANSPOSE:
            a = np.swapaxes(a, -1, -2)
        if layer.get_operation(1) == mlprt.MatrixOperation.TRANSPOSE:
            b = np.swapaxes(b, -1, -2)
        return np.matmul(a, b)
    if isinstance(layer, mlprt.IElementWiseLayer):
        a, b = ins
        return {_EW.SUM: np.add, _EW.PROD: np.multiply, _EW.MAX: np.maximum, _EW.MIN: np.minimum,
                _EW.SUB: np.subtract, _EW.DIV: np.divide, _EW.POW: np.power, _EW.FLOOR_DIV: np.floor_divide,
                _EW.AND: np.logical_and, _EW.OR: np.logical_or, _EW.XOR: np.logical_xor, _EW.EQUAL: np.equal,
                _EW.GREATER: np.greater, _EW.LESS: np.less, _EW.MOD: np.mod, _EW.FMOD: np.fmod,
                _EW.BITWISE_AND: np.bitwise_and, _EW.BITWISE_OR: np.bitwise_or, _EW.BITWISE_XOR: np.bitwise_xor,
                _EW.SHIFT_LEFT: lambda x, y: shift(x, y, True),
                _EW.SHIFT_RIGHT: lambda x, y: shift(x, y, False)}[layer.op](a, b)
    if isinstance(layer, mlprt.ISelectLayer):
        condition, then, otherwise = ins
        return np.where(condition.astype(bool), then, otherwise)
    if isinstance(layer, mlprt.IActivationLayer):
        return activation(layer.type, ins[0], layer.alpha, layer.beta)
    if isinstance(layer, mlprt.IUnaryLayer):
        fn = {_UN.EXP: np.exp, _UN.LOG: np.log, _UN.SQRT: np.sqrt, _UN.RECIP: np.reciprocal,
              _UN.ABS: np.abs, _UN.NEG: np.negative, _UN.ERF: _erf, _UN.NOT: np.logical_not,
              _UN.FLOOR: np.floor, _UN.CEIL: np.ceil, _UN.ROUND: np.round, _UN.SIGN: np.sign,
              _UN.ISNAN: np.isnan, _UN.ISINF: np.isinf, _UN.SIN: np.sin, _UN.COS: np.cos, _UN.TAN: np.tan,
              _UN.ASIN: np.arcsin, _UN.ACOS: np.arccos, _UN.ATAN: np.arctan, _UN.SINH: np.sinh,
              _UN.COSH: np.cosh, _UN.ASINH: np.arcsinh, _UN.ACOSH: np.arccosh, _UN.ATANH: np.arctanh}[layer.op]
        return fn(ins[0])
    if isinstance(layer, mlprt.IShuffleLayer):
        return _shuffle(layer, ins[0])
    if isinstance(layer, mlprt.ISoftMaxLayer):
        axis = _axes(layer.axes, ins[0].ndim)[0]
        e = np.exp(ins[0] - ins[0].max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)
    if isinstance(layer, mlprt.IReduceLayer):
        fn = {_RO.SUM: np.sum, _RO.PROD: np.prod, _RO.MAX: np.max, _RO.MIN: np.min, _RO.AVG: np.mean}[layer.op]
        return fn(ins[0], axis=_axes(layer.axes, ins[0].ndim), keepdims=layer.keep_dims)
    if isinstance(layer, mlprt.INormalizationLayer):
        x, scale, bias = ins
        axes = _axes(layer.axes, x.ndim)
        mean = x.mean(axis=axes, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
        return (x - mean) / np.sqrt(var + layer.epsilon) * scale + bias
    if isinstance(layer, mlprt.IConcatenationLayer):
        return np.concatenate(ins, axis=layer.axis)
    if isinstance(layer, mlprt.IIdentityLayer):
        return _cast(ins[0], layer.to_type)
    if isinstance(layer, mlprt.IConvolutionLayer):
        return convolution(layer, ins[0], ins[1], ins[2] if len(ins) > 2 else None)
    if isinstance(layer, mlprt.IDeconvolutionLayer):
        return deconvolution(layer, ins[0], ins[1], ins[2] if len(ins) > 2 else None)
    if isinstance(layer, mlprt.ISliceLayer):
        return slice_layer(layer, ins[0])
    if isinstance(layer, mlprt.IPoolingLayer):
        return pooling(layer, ins[0])
    if isinstance(layer, mlprt.IGatherLayer):
        data, indices = ins
        axis = layer.gather_axis
        indices = np.where(indices < 0, indices + data.shape[axis], indices).astype(np.int64)
        if layer.mode == mlprt.GatherMode.ELEMENT:
            return np.take_along_axis(data, indices, axis=axis)
        return np.take(data, indices, axis=axis)
    if isinstance(layer, mlprt.ITopKLayer):
        return top_k(ins[0], layer.op == mlprt.TopKOperation.MAX, layer.k, _axes(layer.axes, ins[0].ndim)[0])
    if isinstance(layer, mlprt.IScatterLayer):
        return scatter(layer, *ins)
    if isinstance(layer, mlprt.ICumulativeLayer):
        return cumulative(layer, ins[0])
    if isinstance(layer, mlprt.IAxisRangeLayer):
        return _cast(np.arange(ins[0].shape[layer.axis]), layer.output_type)
    if isinstance(layer, mlprt.ILRNLayer):
        x = ins[0]
        size, channels = layer.window_size, x.shape[1]
        squares = np.zeros_like(x)
        for c in range(channels):
            first, last = max(0, c - (size - 1) // 2), min(channels - 1, c + size // 2)
            squares[:, c] = (x[:, first:last + 1] ** 2).sum(axis=1)
        return x / (layer.k + layer.alpha / size * squares) ** layer.beta
    raise NotImplementedError(f"no reference for {layer!r}")


def evaluate(network: Any, inputs: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """Runs ``network`` on ``inputs`` (by input name); returns every output by name."""
    values: Dict[Any, np.ndarray] = {}
    for i in range(network.num_inputs):
        t = network.get_input(i)
        x = np.asarray(inputs[t.name])
        _check_shape(t, x)
        values[t] = _float(x)
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        ins = [values[layer.get_input(j)] for j in range(layer.num_inputs)]
        result = layer_output(layer, ins)
        for j, out in enumerate(result if isinstance(result, tuple) else (result,)):
            t = layer.get_output(j)
            out = np.asarray(out)
            _check_shape(t, out, layer)
            values[t] = out
    return {network.get_output(i).name: values[network.get_output(i)] for i in range(network.num_outputs)}


def _check_shape(t: Any, x: np.ndarray, layer: Any = None) -> None:
    expected = tuple(t.shape)
    ok = len(expected) == x.ndim and all(e in (-1, a) for e, a in zip(expected, x.shape))
    if not ok:
        where = f" (output of {layer!r})" if layer is not None else ""
        raise AssertionError(f"tensor '{t.name}'{where}: network says {expected}, evaluation gave {x.shape}")
