"""Importers of the convolutional-network operators: Conv, ConvTranspose, MaxPool, AveragePool,
GlobalAveragePool and GlobalMaxPool (1-D and 2-D)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from mlprt import _core
from mlprt.onnx_parser.context import ImporterContext, Node, ShapeValue, Value, normalize_axis, numpy_dtype
from mlprt.onnx_parser.errors import ErrorCode, invalid, unsupported
from mlprt.onnx_parser.registry import importer

PM = _core.PaddingMode
PT = _core.PoolingType
RO = _core.ReduceOperation

_AUTO_PAD = {"NOTSET": None, "VALID": None, "SAME_UPPER": PM.SAME_UPPER, "SAME_LOWER": PM.SAME_LOWER}


def _spatial_input(ctx: ImporterContext, node: Node) -> Any:
    """Input 0 as a tensor of rank 3 or 4: (N, C, then 1 or 2 spatial axes)."""
    value = ctx.require(node, 0, "X")
    if isinstance(value, ShapeValue):
        raise unsupported(f"{node.op_type} of a shape value is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    x = ctx.tensor(value)
    rank = len(x.shape)
    if rank == 5:
        raise unsupported(f"{node.op_type} over 3 spatial axes (a rank-5 input) is not supported; 1 and 2 are",
                          ErrorCode.UNSUPPORTED_NODE_SHAPE)
    if rank not in (3, 4):
        raise invalid(f"{node.op_type} needs an input of rank 3 or 4 (N, C, spatial...), got {tuple(x.shape)}")
    if x.dtype not in (_core.DataType.FLOAT, _core.DataType.HALF):
        raise unsupported(f"{node.op_type} of {x.dtype.name} tensors is not supported (FLOAT and HALF are)",
                          ErrorCode.UNSUPPORTED_NODE_DATATYPE)
    return x


def _per_axis(node: Node, name: str, axes: int, default: int) -> Tuple[int, ...]:
    values = tuple(int(v) for v in node.attr(name, [default] * axes))
    if len(values) != axes:
        raise invalid(f"{node.op_type} attribute {name} has {len(values)} entries for {axes} spatial axes")
    return values


def _window_attributes(node: Node, axes: int, window: Sequence[int]) -> Dict[str, Any]:
    """strides, dilations, pads, auto_pad and ceil_mode as a convolution's or pooling layer's
    attributes (given when the layer is added, so that they are checked together)."""
    strides = _per_axis(node, "strides", axes, 1)
    dilations = _per_axis(node, "dilations", axes, 1)
    for name, values in (("strides", strides), ("dilations", dilations), ("kernel_shape", window)):
        if any(v <= 0 for v in values):
            raise invalid(f"{node.op_type} attribute {name} {list(values)} must be positive")
    auto_pad = node.attr("auto_pad", "NOTSET")
    if isinstance(auto_pad, bytes):
        auto_pad = auto_pad.decode()
    if auto_pad not in _AUTO_PAD:
        raise invalid(f"{node.op_type} attribute auto_pad '{auto_pad}' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER")
    pads = tuple(int(v) for v in node.attr("pads", [0] * (2 * axes)))
    if len(pads) != 2 * axes:
        raise invalid(f"{node.op_type} attribute pads has {len(pads)} entries; {2 * axes} expected (begin and end "
                      "of each spatial axis)")
    if any(p < 0 for p in pads):
        raise invalid(f"{node.op_type} attribute pads {list(pads)} must not be negative")
    if auto_pad != "NOTSET":
        pads = (0,) * (2 * axes)
    mode = _AUTO_PAD[auto_pad]
    if mode is None:
        mode = PM.EXPLICIT_ROUND_UP if node.attr("ceil_mode", 0) else PM.EXPLICIT_ROUND_DOWN
    return {"stride_nd": strides, "dilation_nd": dilations, "pre_padding": pads[:axes], "post_padding": pads[axes:],
            "padding_mode": mode}


def _placeholder(shape: Sequence[int], dtype: Any) -> np.ndarray:
    return np.zeros(tuple(shape), numpy_dtype(dtype))


class _Weighted:
    """What Conv and ConvTranspose share: the input, the weights' static shape (checked against
    kernel_shape), the groups, and how the layer is added with placeholder weights of the right
    shape before it reads the real ones (so constants and computed weights take one path)."""

    def __init__(self, ctx: ImporterContext, node: Node) -> None:
        self.ctx, self.node = ctx, node
        self.x = _spatial_input(ctx, node)
        self.axes = len(self.x.shape) - 2
        self.weights = ctx.require(node, 1, "W")
        self.w_shape = tuple(int(d) for d in ctx.shape_of(self.weights))
        if len(self.w_shape) != self.axes + 2 or any(d < 0 for d in self.w_shape):
            raise invalid(f"{node.op_type} weights W have shape {self.w_shape}; a static shape of rank "
                          f"{self.axes + 2} is needed")
        self.window = tuple(int(v) for v in node.attr("kernel_shape", self.w_shape[2:]))
        if self.window != self.w_shape[2:]:
            raise invalid(f"{node.op_type} attribute kernel_shape {list(self.window)} disagrees with the weights' "
                          f"shape {self.w_shape}")
        self.groups = int(node.attr("group", 1))
        if self.groups <= 0:
            raise invalid(f"{node.op_type} attribute group {self.groups} must be positive")

    def add(self, add_layer: Any, maps: int, attributes: Dict[str, Any]) -> Any:
        ctx, x = self.ctx, self.x
        w_tensor = ctx.tensor(self.weights, x.dtype)
        bias = ctx.input(self.node, 2)
        b_tensor = None
        if bias is not None:
            if tuple(ctx.shape_of(bias)) != (maps,):
                raise invalid(f"{self.node.op_type} bias B has shape {tuple(ctx.shape_of(bias))}; ({maps},) expected")
            b_tensor = ctx.tensor(bias, x.dtype)
        # The layer API takes weights of the kernel's shape, set to the real tensor just below.
        ctx.check_made_constant(int(np.prod(self.w_shape, dtype=np.float64)),
                                f"{self.node.op_type}'s kernel of shape {list(self.w_shape)}")
        layer = ctx.track(add_layer(x, maps, self.window, _placeholder(self.w_shape, x.dtype),
                                    _placeholder((maps,), x.dtype) if b_tensor is not None else None,
                                    num_groups=self.groups, **attributes))
        layer.set_input(1, w_tensor)
        if b_tensor is not None:
            layer.set_input(2, b_tensor)
        return layer.get_output(0)


@importer("Conv", notes="1-D and 2-D; group (depthwise included), dilations, strides, pads, auto_pad "
          "(NOTSET, VALID, SAME_UPPER, SAME_LOWER), optional bias; weights and bias constant or computed. "
          "FLOAT and FLOAT16. 3-D convolutions are refused.")
def conv(ctx: ImporterContext, node: Node) -> List[Value]:
    weighted = _Weighted(ctx, node)
    attributes = _window_attributes(node, weighted.axes, weighted.window)
    return [weighted.add(ctx.network.add_convolution_nd, weighted.w_shape[0], attributes)]


@importer("ConvTranspose", notes="1-D and 2-D; group, dilations, strides, pads, output_padding, output_shape "
          "(static input extents), auto_pad (NOTSET, VALID, SAME_UPPER, SAME_LOWER), optional bias; weights and "
          "bias constant or computed. FLOAT and FLOAT16.")
def conv_transpose(ctx: ImporterContext, node: Node) -> List[Value]:
    weighted = _Weighted(ctx, node)
    axes = weighted.axes
    attributes = _window_attributes(node, axes, weighted.window)
    if attributes["padding_mode"] == PM.EXPLICIT_ROUND_UP:
        raise invalid("ConvTranspose has no ceil_mode")
    extra = _per_axis(node, "output_padding", axes, 0)
    if any(v < 0 for v in extra):
        raise invalid(f"ConvTranspose attribute output_padding {list(extra)} must not be negative")
    attributes["output_padding"] = extra
    output_shape = node.attr("output_shape")
    if output_shape is not None:
        attributes.update(_cropping_for(node, weighted.x, list(output_shape)[-axes:], weighted.window, attributes))
    return [weighted.add(ctx.network.add_deconvolution_nd, weighted.w_shape[1] * weighted.groups, attributes)]


def _cropping_for(node: Node, x: Any, output_shape: Sequence[int], window: Sequence[int],
                  attributes: Dict[str, Any]) -> Dict[str, Any]:
    """Explicit cropping that yields ``output_shape``: what the full output has beyond it is cropped
    in front as auto_pad says (SAME_UPPER: the smaller half; SAME_LOWER: the larger; NOTSET and
    VALID: the pads in front) and the rest at the end; a shortfall becomes output padding."""
    spatial = [int(d) for d in x.shape[2:]]
    if any(d < 0 for d in spatial):
        raise unsupported("ConvTranspose with output_shape needs static spatial input extents",
                          ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    if len(output_shape) != len(spatial):
        raise invalid(f"ConvTranspose attribute output_shape {list(output_shape)} does not have one extent per "
                      f"spatial axis ({len(spatial)})")
    mode = attributes["padding_mode"]
    pre, post, extra = [], [], []
    for i, (extent, target) in enumerate(zip(spatial, output_shape)):
        stride, dilation = attributes["stride_nd"][i], attributes["dilation_nd"][i]
        full = stride * (extent - 1) + dilation * (window[i] - 1) + 1 + attributes["output_padding"][i]
        total = full - int(target)
        if mode == PM.SAME_UPPER:
            front = total // 2
        elif mode == PM.SAME_LOWER:
            front = total - total // 2
        else:
            front = attributes["pre_padding"][i]
        back = total - front
        if front < 0 or int(target) <= 0:
            raise invalid(f"ConvTranspose attribute output_shape {list(output_shape)} cannot be reached on spatial "
                          f"axis {i} (full output {full})")
        pre.append(front)
        post.append(max(back, 0))
        extra.append(attributes["output_padding"][i] + max(-back, 0))
    return {"pre_padding": tuple(pre), "post_padding": tuple(post), "output_padding": tuple(extra),
            "padding_mode": PM.EXPLICIT_ROUND_DOWN}


def _pool(ctx: ImporterContext, node: Node, kind: Any, count_include_pad: Optional[bool] = None, x: Any = None) -> Any:
    """The node's pooling layer on its input (or on ``x``); ``count_include_pad`` overrides the node's."""
    x = _spatial_input(ctx, node) if x is None else x
    axes = len(x.shape) - 2
    if node.attr("kernel_shape") is None:
        raise invalid(f"{node.op_type} needs the kernel_shape attribute")
    window = tuple(int(v) for v in node.attr("kernel_shape"))
    if len(window) != axes:
        raise invalid(f"{node.op_type} attribute kernel_shape has {len(window)} entries for {axes} spatial axes")
    include_pad = bool(node.attr("count_include_pad", 0)) if count_include_pad is None else count_include_pad
    layer = ctx.track(ctx.network.add_pooling_nd(
        x, kind, window, average_count_excludes_padding=not include_pad, **_window_attributes(node, axes, window)))
    return layer.get_output(0)


@importer("MaxPool", notes="1-D and 2-D; kernel_shape, strides, pads, auto_pad, ceil_mode, dilations. The "
          "Indices output and storage_order=1 are refused.")
def max_pool(ctx: ImporterContext, node: Node) -> List[Value]:
    if len(node.outputs) > 1 and node.outputs[1]:
        raise unsupported("MaxPool's Indices output is not supported", ErrorCode.UNSUPPORTED_NODE)
    if node.attr("storage_order", 0):
        raise unsupported("MaxPool with storage_order=1 is not supported", ErrorCode.UNSUPPORTED_NODE_ATTR)
    return [_pool(ctx, node, PT.MAX)]


@importer("AveragePool", notes="1-D and 2-D; kernel_shape, strides, pads, auto_pad, ceil_mode, "
          "count_include_pad, dilations.")
def average_pool(ctx: ImporterContext, node: Node) -> List[Value]:
    return [_pool(ctx, node, PT.AVERAGE)]


@importer("LpPool", notes="1-D and 2-D; p, kernel_shape, strides, pads, auto_pad, ceil_mode, dilations. Composed: "
          "|x|^p averaged over each window with the padding counted, times the window's size, to the power 1/p.")
def lp_pool(ctx: ImporterContext, node: Node) -> List[Value]:
    p = float(node.attr("p", 2))
    if p <= 0:
        raise invalid(f"LpPool attribute p = {p} must be positive")
    x = _spatial_input(ctx, node)
    EW, Un = _core.ElementWiseOperation, _core.UnaryOperation
    if p == 2:
        powered = ctx.elementwise(x, x, EW.PROD)
    else:
        magnitude = ctx.unary(x, Un.ABS)
        powered = magnitude if p == 1 else ctx.elementwise(magnitude, np.array(p, np.float32), EW.POW)
    average = _pool(ctx, node, PT.AVERAGE, count_include_pad=True, x=powered)
    window = int(np.prod([int(v) for v in node.attr("kernel_shape")]))
    total = ctx.elementwise(average, np.array(window, np.float32), EW.PROD)
    if p == 1:
        return [total]
    if p == 2:
        return [ctx.unary(total, Un.SQRT)]
    return [ctx.elementwise(total, np.array(1.0 / p, np.float32), EW.POW)]


def _global_pool(ctx: ImporterContext, node: Node, op: Any) -> Any:
    value = ctx.require(node, 0, "X")
    if isinstance(value, ShapeValue):
        raise unsupported(f"{node.op_type} of a shape value is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    x = ctx.tensor(value)
    rank = len(x.shape)
    if rank < 3:
        raise invalid(f"{node.op_type} needs an input of rank 3 or more (N, C, spatial...), got {tuple(x.shape)}")
    mask = sum(1 << a for a in range(2, rank))
    return ctx.track(ctx.network.add_reduce(x, op, mask, True)).get_output(0)


@importer("GlobalAveragePool", notes="Mean over every spatial axis (a reduction), any rank >= 3.")
def global_average_pool(ctx: ImporterContext, node: Node) -> List[Value]:
    return [_global_pool(ctx, node, RO.AVG)]


@importer("GlobalMaxPool", notes="Max over every spatial axis (a reduction), any rank >= 3.")
def global_max_pool(ctx: ImporterContext, node: Node) -> List[Value]:
    return [_global_pool(ctx, node, RO.MAX)]


_COORDINATES = {
    "half_pixel": (_core.ResizeCoordinateTransformation.HALF_PIXEL, _core.ResizeSelector.FORMULA),
    "pytorch_half_pixel": (_core.ResizeCoordinateTransformation.HALF_PIXEL, _core.ResizeSelector.UPPER),
    "align_corners": (_core.ResizeCoordinateTransformation.ALIGN_CORNERS, _core.ResizeSelector.FORMULA),
    "asymmetric": (_core.ResizeCoordinateTransformation.ASYMMETRIC, _core.ResizeSelector.FORMULA),
}
_NEAREST = {"round_prefer_floor": _core.ResizeRoundMode.HALF_DOWN, "round_prefer_ceil": _core.ResizeRoundMode.HALF_UP,
            "floor": _core.ResizeRoundMode.FLOOR, "ceil": _core.ResizeRoundMode.CEIL}
_MODES = {"nearest": _core.InterpolationMode.NEAREST, "linear": _core.InterpolationMode.LINEAR,
          "cubic": _core.InterpolationMode.CUBIC}


def _text(node: Node, name: str, default: str) -> str:
    value = node.attr(name, default)
    return value.decode() if isinstance(value, bytes) else str(value)


@importer("Resize", since=10, notes="nearest (round_prefer_floor/ceil, floor, ceil), linear and cubic "
          "(cubic_coeff_a, exclude_outside) over up to 3 axes; coordinate_transformation_mode half_pixel, "
          "pytorch_half_pixel, align_corners, asymmetric; scales or sizes, constant or computed from shapes "
          "(an axis of run-time extent must keep it); axes (opset 18). Refused: tf_crop_and_resize, "
          "half_pixel_symmetric, tf_half_pixel_for_nn, antialias, keep_aspect_ratio_policy other than stretch.")
def resize(ctx: ImporterContext, node: Node) -> List[Value]:
    value = ctx.require(node, 0, "X")
    if isinstance(value, ShapeValue):
        raise unsupported("Resize of a shape value is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    x = ctx.tensor(value)
    if x.dtype not in (_core.DataType.FLOAT, _core.DataType.HALF):
        raise unsupported(f"Resize of {x.dtype.name} tensors is not supported (FLOAT and HALF are)",
                          ErrorCode.UNSUPPORTED_NODE_DATATYPE)
    rank = len(x.shape)
    mode = _text(node, "mode", "nearest")
    default_transform = "asymmetric" if node.opset < 11 else "half_pixel"
    transform = _text(node, "coordinate_transformation_mode", default_transform)
    nearest = _text(node, "nearest_mode", "round_prefer_floor")
    if mode not in _MODES:
        raise invalid(f"Resize mode '{mode}' is not nearest, linear or cubic")
    if transform not in _COORDINATES:
        raise unsupported(f"Resize coordinate_transformation_mode '{transform}' is not supported (half_pixel, "
                          "pytorch_half_pixel, align_corners and asymmetric are)", ErrorCode.UNSUPPORTED_NODE_ATTR)
    if nearest not in _NEAREST:
        raise invalid(f"Resize nearest_mode '{nearest}' is not round_prefer_floor, round_prefer_ceil, floor or ceil")
    if int(node.attr("antialias", 0)):
        raise unsupported("Resize with antialias=1 is not supported", ErrorCode.UNSUPPORTED_NODE_ATTR)
    if _text(node, "keep_aspect_ratio_policy", "stretch") != "stretch":
        raise unsupported("Resize keep_aspect_ratio_policy other than stretch is not supported",
                          ErrorCode.UNSUPPORTED_NODE_ATTR)
    axes = [normalize_axis(int(a), rank) for a in node.attr("axes", list(range(rank)))]
    if node.opset < 11:
        scales_in, sizes_in = ctx.input(node, 1), None
    else:
        scales_in = ctx.input(node, 2) if node.has_input(2) else None
        sizes_in = ctx.input(node, 3) if node.has_input(3) else None
    scales_array = _known_array(node, scales_in, "scales", float)
    sizes_elems = _size_elements(node, sizes_in)
    if scales_array is not None and scales_array.size == 0:
        scales_array = None
    if (scales_array is None) == (sizes_elems is None):
        raise invalid("Resize needs exactly one of scales and sizes")
    dims = ctx.shape_of(x)
    shape: List[int] = [-1] * rank
    scales: List[float] = [1.0] * rank
    if scales_array is not None:
        if scales_array.size != len(axes):
            raise invalid(f"Resize scales have {scales_array.size} entries for {len(axes)} axes")
        for a, s in zip(axes, scales_array.reshape(-1)):
            scales[a] = float(s)
        kwargs: Dict[str, Any] = {"scales": scales}
    else:
        assert sizes_elems is not None
        if len(sizes_elems) != len(axes):
            raise invalid(f"Resize sizes have {len(sizes_elems)} entries for {len(axes)} axes")
        for a, d in enumerate(dims):
            if isinstance(d, int) and d >= 0:
                shape[a] = d
        for a, size in zip(axes, sizes_elems):
            d = dims[a]
            if isinstance(size, int):
                if not (isinstance(d, int) and d >= 0):
                    raise unsupported(f"Resize to a fixed size on axis {a}, whose extent is known only at run time, "
                                      "is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
                shape[a] = size
                scales[a] = size / d if d > 0 else 1.0
            elif size == d:
                shape[a] = -1  # the same run-time extent (sizes computed from this tensor's shape)
            else:
                raise unsupported(f"Resize size of axis {a} is known only at run time", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
        kwargs = {"shape": shape, "scales": scales}
    coordinates, selector = _COORDINATES[transform]
    layer = ctx.network.add_resize(
        x, resize_mode=_MODES[mode], coordinate_transformation=coordinates, selector_for_single_pixel=selector,
        nearest_rounding=_NEAREST[nearest], cubic_coeff=float(node.attr("cubic_coeff_a", -0.75)),
        exclude_outside=bool(node.attr("exclude_outside", 0)), **kwargs)
    out = ctx.track(layer).get_output(0)
    for a in range(rank):
        if scales[a] == 1.0 and (scales_array is not None or shape[a] < 0):
            ctx.same_extent(out, a, x, a)  # a run-time extent (the batch) that the resize keeps
    return [out]


def _known_array(node: Node, value: Any, what: str, kind: type) -> Any:
    if value is None:
        return None
    if isinstance(value, ShapeValue):
        if not value.is_known():
            raise unsupported(f"Resize {what} depend on extents known only at run time; they must be known at "
                              "parse time", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
        return value.to_array().astype(np.float64 if kind is float else np.int64)
    if not isinstance(value, np.ndarray):
        raise unsupported(f"Resize {what} must be known at parse time; they are computed at run time",
                          ErrorCode.UNSUPPORTED_NODE_INPUT)
    return value.astype(np.float64 if kind is float else np.int64)


def _size_elements(node: Node, value: Any) -> Any:
    """Sizes as a list of ints and symbolic extents (from a shape computation), or None."""
    if value is None:
        return None
    if isinstance(value, ShapeValue):
        return list(value.elems) if value.elems else None
    array = _known_array(node, value, "sizes", int)
    return [int(v) for v in array.reshape(-1)] if array.size else None


@importer("Upsample", since=7, notes="Opsets 7 to 9 (deprecated since 10): nearest (floor) and linear, asymmetric "
          "coordinates; scales as attribute or a constant input.")
def upsample(ctx: ImporterContext, node: Node) -> List[Value]:
    value = ctx.require(node, 0, "X")
    if isinstance(value, ShapeValue):
        raise unsupported("Upsample of a shape value is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    x = ctx.tensor(value)
    mode = _text(node, "mode", "nearest")
    if mode not in ("nearest", "linear", "bilinear"):
        raise invalid(f"Upsample mode '{mode}' is not nearest or linear")
    scales = node.attr("scales")
    if scales is None:
        scales = _known_array(node, ctx.input(node, 1), "scales", float)
    scales = [float(s) for s in np.asarray(scales).reshape(-1)]
    if len(scales) != len(x.shape):
        raise invalid(f"Upsample has {len(scales)} scales for a rank-{len(x.shape)} input")
    layer = ctx.network.add_resize(
        x, scales=scales, resize_mode=_core.InterpolationMode.NEAREST if mode == "nearest" else _core.InterpolationMode.LINEAR,
        coordinate_transformation=_core.ResizeCoordinateTransformation.ASYMMETRIC,
        nearest_rounding=_core.ResizeRoundMode.FLOOR)
    return [ctx.track(layer).get_output(0)]


def _float_input(ctx: ImporterContext, node: Node, what: str) -> Any:
    value = ctx.require(node, 0, what)
    if isinstance(value, ShapeValue):
        raise unsupported(f"{node.op_type} of a shape value is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    x = ctx.tensor(value)
    if x.dtype not in (_core.DataType.FLOAT, _core.DataType.HALF):
        raise unsupported(f"{node.op_type} of {x.dtype.name} tensors is not supported (FLOAT and HALF are)",
                          ErrorCode.UNSUPPORTED_NODE_DATATYPE)
    return x


@importer("LRN", notes="Across channels (an LRN layer): size, alpha, beta, bias; any rank >= 3.")
def lrn(ctx: ImporterContext, node: Node) -> List[Value]:
    x = _float_input(ctx, node, "X")
    if len(x.shape) < 3:
        raise invalid(f"LRN needs an input of rank 3 or more (N, C, ...), got {tuple(x.shape)}")
    if node.attr("size") is None or int(node.attr("size")) <= 0:
        raise invalid("LRN needs a positive size attribute")
    layer = ctx.network.add_lrn(x, int(node.attr("size")), float(node.attr("alpha", 1e-4)),
                                float(node.attr("beta", 0.75)), float(node.attr("bias", 1.0)))
    return [ctx.track(layer).get_output(0)]


def _channel_vector(ctx: ImporterContext, node: Node, i: int, what: str, rank: int, dtype: Any) -> Any:
    """Input ``i`` (one value per channel) shaped (1, C, 1, ...) to broadcast over (N, C, ...)."""
    value = ctx.require(node, i, what)
    if isinstance(value, np.ndarray):
        return np.asarray(value).reshape((1, -1) + (1,) * (rank - 2)).astype(numpy_dtype(dtype))
    return ctx.reshape(ctx.tensor(value, dtype), [1, -1] + [1] * (rank - 2))


@importer("InstanceNormalization", notes="A normalization layer over the spatial axes with per-channel scale and "
          "B (constant or computed); epsilon.")
def instance_normalization(ctx: ImporterContext, node: Node) -> List[Value]:
    x = _float_input(ctx, node, "input")
    rank = len(x.shape)
    if rank < 3:
        raise invalid(f"InstanceNormalization needs an input of rank 3 or more, got {tuple(x.shape)}")
    scale = ctx.tensor(_channel_vector(ctx, node, 1, "scale", rank, x.dtype), x.dtype)
    bias = ctx.tensor(_channel_vector(ctx, node, 2, "B", rank, x.dtype), x.dtype)
    layer = ctx.network.add_normalization(x, scale, bias, sum(1 << a for a in range(2, rank)))
    layer.epsilon = float(node.attr("epsilon", 1e-5))
    return [ctx.track(layer).get_output(0)]


@importer("GroupNormalization", since=18, notes="num_groups, epsilon; scale and bias per group (opset 18) or per "
          "channel (opset 21); channels and spatial extents known at parse time.")
def group_normalization(ctx: ImporterContext, node: Node) -> List[Value]:
    x = _float_input(ctx, node, "X")
    dims = ctx.shape_of(x)
    rank = len(dims)
    groups = int(node.attr("num_groups", 0))
    if rank < 3 or groups <= 0:
        raise invalid(f"GroupNormalization needs an input of rank 3 or more and a positive num_groups, got "
                      f"{tuple(x.shape)} and {groups}")
    if not all(isinstance(d, int) and d >= 0 for d in dims[1:]):
        raise unsupported("GroupNormalization needs channel and spatial extents known at parse time",
                          ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    channels = int(dims[1])
    if channels % groups:
        raise invalid(f"GroupNormalization: {channels} channels are not divisible by num_groups {groups}")
    grouped = ctx.reshape(x, [dims[0], groups, -1])
    ones = np.ones((1, 1, 1), numpy_dtype(x.dtype))
    layer = ctx.network.add_normalization(grouped, ctx.tensor(ones), ctx.tensor(np.zeros_like(ones)), 1 << 2)
    layer.epsilon = float(node.attr("epsilon", 1e-5))
    normalized = ctx.reshape(ctx.track(layer).get_output(0), list(dims))
    values = []
    for i, what in ((1, "scale"), (2, "bias")):
        v = ctx.require(node, i, what)
        size = int(np.prod(ctx.shape_of(v)))
        if size == groups and groups != channels:  # opset 18: one value per group, repeated over its channels
            if not isinstance(v, np.ndarray):
                raise unsupported(f"GroupNormalization per-group {what} must be a constant",
                                  ErrorCode.UNSUPPORTED_NODE_INPUT)
            v = np.repeat(np.asarray(v).reshape(-1), channels // groups)
        elif size != channels:
            raise invalid(f"GroupNormalization {what} has {size} values for {channels} channels and {groups} groups")
        values.append(v if not isinstance(v, np.ndarray) else np.asarray(v))
    shape = [1, channels] + [1] * (rank - 2)
    scale, bias = (np.asarray(v).reshape(shape).astype(numpy_dtype(x.dtype)) if isinstance(v, np.ndarray)
                   else ctx.reshape(ctx.tensor(v, x.dtype), shape) for v in values)
    return [ctx.elementwise(ctx.elementwise(normalized, scale, _core.ElementWiseOperation.PROD), bias,
                            _core.ElementWiseOperation.SUM)]


@importer("LpNormalization", notes="p = 1 (sum of |x|) or 2 (root of the sum of squares) along any axis: a reduction "
          "and a division; a zero vector stays zero.")
def lp_normalization(ctx: ImporterContext, node: Node) -> List[Value]:
    x = _float_input(ctx, node, "input")
    rank = len(x.shape)
    axis = normalize_axis(int(node.attr("axis", -1)), rank)
    p = int(node.attr("p", 2))
    EW, Un = _core.ElementWiseOperation, _core.UnaryOperation
    if p == 1:
        magnitude = ctx.unary(x, Un.ABS)
    elif p == 2:
        magnitude = ctx.elementwise(x, x, EW.PROD)
    else:
        raise invalid(f"LpNormalization p must be 1 or 2, got {p}")
    norm = ctx.track(ctx.network.add_reduce(magnitude, RO.SUM, 1 << axis, True)).get_output(0)
    if p == 2:
        norm = ctx.unary(norm, Un.SQRT)
    # A zero vector stays zero (as onnx's reference and ONNX Runtime give), not 0 / 0: its norm
    # is replaced by 1.
    zero = ctx.elementwise(norm, np.zeros((), numpy_dtype(x.dtype)), EW.EQUAL)
    one = ctx.tensor(np.ones([1] * rank, numpy_dtype(x.dtype)))
    safe = ctx.track(ctx.network.add_select(zero, one, norm)).get_output(0)
    return [ctx.elementwise(x, safe, EW.DIV)]


def _block_rearrangement(ctx: ImporterContext, node: Node, to_depth: bool) -> Any:
    value = ctx.require(node, 0, "input")
    if isinstance(value, ShapeValue):
        raise unsupported(f"{node.op_type} of a shape value is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    x = ctx.tensor(value)
    dims = ctx.shape_of(x)
    if len(dims) != 4:
        raise invalid(f"{node.op_type} needs a rank-4 input (N, C, H, W), got {tuple(x.shape)}")
    b = int(node.attr("blocksize", 0))
    if b <= 0:
        raise invalid(f"{node.op_type} needs a positive blocksize, got {b}")
    n, c, h, w = dims
    if not all(isinstance(d, int) and d >= 0 for d in (c, h, w)):
        raise unsupported(f"{node.op_type} needs channel and spatial extents known at parse time",
                          ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    mode = _text(node, "mode", "DCR")
    if mode not in ("DCR", "CRD"):
        raise invalid(f"{node.op_type} mode '{mode}' is not DCR or CRD")
    if to_depth:
        if h % b or w % b:
            raise invalid(f"SpaceToDepth: H {h} and W {w} must be multiples of blocksize {b}")
        blocks = ctx.reshape(x, [n, c, h // b, b, w // b, b])
        # Output channels (block row, block column, channel) in DCR order, (channel, row, column) in CRD.
        moved = ctx.transpose(blocks, [0, 3, 5, 1, 2, 4] if mode == "DCR" else [0, 1, 3, 5, 2, 4])
        return ctx.reshape(moved, [n, c * b * b, h // b, w // b])
    if c % (b * b):
        raise invalid(f"DepthToSpace: {c} channels are not a multiple of blocksize^2 = {b * b}")
    if mode == "DCR":
        blocks = ctx.reshape(x, [n, b, b, c // (b * b), h, w])
        moved = ctx.transpose(blocks, [0, 3, 4, 1, 5, 2])
    elif mode == "CRD":
        blocks = ctx.reshape(x, [n, c // (b * b), b, b, h, w])
        moved = ctx.transpose(blocks, [0, 1, 4, 2, 5, 3])
    return ctx.reshape(moved, [n, c // (b * b), h * b, w * b])


@importer("DepthToSpace", notes="DCR and CRD (reshape, transpose, reshape); channel and spatial extents known at "
          "parse time.")
def depth_to_space(ctx: ImporterContext, node: Node) -> List[Value]:
    return [_block_rearrangement(ctx, node, to_depth=False)]


@importer("SpaceToDepth", notes="DCR and CRD (reshape, transpose, reshape); channel and spatial extents known at parse time.")
def space_to_depth(ctx: ImporterContext, node: Node) -> List[Value]:
    return [_block_rearrangement(ctx, node, to_depth=True)]
