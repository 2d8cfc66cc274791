"""Shared building blocks of the tools around engines (``mlprt exec``, ``mlprt compare``,
``mlprt.Session``, ``mlprt.testing``): build an engine from an ONNX model in one call, parse
trtexec-style shape arguments, and run an engine with pinned buffers that are reused across
calls and grow only when a larger shape arrives.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

import mlprt
import mlprt.driver as cuda

Shape = Tuple[int, ...]
ShapeRange = Tuple[Shape, Shape, Shape]

__all__ = ["BuildFailed", "EngineRunner", "build_engine", "default_profile", "model_inputs", "model_io",
           "parse_shapes", "profile_from_shapes"]

#: The range given to every dynamic dimension when no profile is passed (see default_profile).
DEFAULT_DYNAMIC_MIN, DEFAULT_DYNAMIC_OPT, DEFAULT_DYNAMIC_MAX = 1, 1, 64


class BuildFailed(RuntimeError):
    """Parsing or building failed; the message holds every reason the parser or builder gave."""


class _CollectingLogger(mlprt.ILogger):
    """Forwards to another logger and keeps the errors for exceptions."""

    def __init__(self, forward: Optional[mlprt.ILogger]) -> None:
        super().__init__()
        self.forward = forward
        self.errors: List[str] = []

    def log(self, severity: "mlprt.Logger.Severity", msg: str) -> None:
        if severity in (mlprt.Logger.ERROR, mlprt.Logger.INTERNAL_ERROR):
            self.errors.append(msg)
        if self.forward is not None:
            self.forward.log(severity, msg)


def parse_shapes(text: str) -> Dict[str, Shape]:
    """``"input:1x784,mask:1x16"`` (trtexec's syntax) -> ``{"input": (1, 784), "mask": (1, 16)}``.
    A scalar is written ``name:`` with nothing after the colon. Raises ValueError naming the
    part that is wrong."""
    shapes: Dict[str, Shape] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, dims = part.rpartition(":")
        if not sep or not name:
            raise ValueError(f"shape '{part}' is not NAME:DIMS (for example input:1x784)")
        try:
            shape = tuple(int(d) for d in dims.split("x")) if dims else ()
        except ValueError:
            raise ValueError(f"shape '{part}': dimensions must be integers joined by 'x'") from None
        if any(d < 0 for d in shape):
            raise ValueError(f"shape '{part}': dimensions cannot be negative")
        shapes[name.strip("'\"")] = shape
    return shapes


def profile_from_shapes(min_shapes: Mapping[str, Shape], opt_shapes: Mapping[str, Shape],
                        max_shapes: Mapping[str, Shape]) -> Dict[str, ShapeRange]:
    """Joins trtexec's --minShapes/--optShapes/--maxShapes into one profile. An input named in
    only some of them takes the opt shape (or the one given) for the missing ones."""
    names = list(dict.fromkeys([*min_shapes, *opt_shapes, *max_shapes]))
    profile: Dict[str, ShapeRange] = {}
    for name in names:
        opt = opt_shapes.get(name) or max_shapes.get(name) or min_shapes[name]
        profile[name] = (min_shapes.get(name, opt), opt, max_shapes.get(name, opt))
    return profile


Dims = Tuple[Union[int, str, None], ...]


def model_io(model: Union[str, os.PathLike, bytes]) -> Tuple[Dict[str, Dims], Dict[str, Dims]]:
    """The graph inputs (initializers left out) and outputs of an ONNX model, each name -> dims
    in order: an int for a fixed dimension, the dimension's name (``"batch"``) for a named
    dynamic one, None for an unnamed dynamic one. Raises BuildFailed when the model cannot be
    read."""
    import onnx

    try:
        proto = (onnx.load_model_from_string(bytes(model)) if isinstance(model, (bytes, bytearray, memoryview))
                 else onnx.load(os.fspath(model), load_external_data=False))
    except Exception as error:  # noqa: BLE001  (protobuf's DecodeError, OSError)
        raise BuildFailed(f"the ONNX model could not be parsed: {error}") from None
    initializers = {init.name for init in proto.graph.initializer}

    def dims_of(values: Sequence["onnx.ValueInfoProto"]) -> Dict[str, Dims]:
        result: Dict[str, Dims] = {}
        for value in values:
            if value.name in initializers:
                continue
            dims: List[Union[int, str, None]] = []
            for dim in value.type.tensor_type.shape.dim:
                if dim.HasField("dim_value") and dim.dim_value > 0:
                    dims.append(int(dim.dim_value))
                else:
                    dims.append(dim.dim_param or None)
            result[value.name] = tuple(dims)
        return result

    return dims_of(proto.graph.input), dims_of(proto.graph.output)


def model_inputs(model: Union[str, os.PathLike, bytes]) -> Dict[str, Dims]:
    """The graph inputs of an ONNX model, as :func:`model_io` describes them."""
    return model_io(model)[0]


def default_profile(inputs: Mapping[str, Sequence[Union[int, str, None]]],
                    shapes: Optional[Mapping[str, Shape]] = None) -> Dict[str, ShapeRange]:
    """The profile used when a dynamic model gets none: every dynamic dimension ranges over
    ``DEFAULT_DYNAMIC_MIN..DEFAULT_DYNAMIC_MAX`` (1..64) with opt ``DEFAULT_DYNAMIC_OPT`` (1),
    like trtexec's default of 1 widened to a useful batch range. ``shapes`` (inference shapes
    already known, e.g. given inputs) become the opt shape and widen max when larger than 64.
    Static inputs are left out. ``inputs`` is what :func:`model_inputs` returns."""
    profile: Dict[str, ShapeRange] = {}
    for name, dims in inputs.items():
        if all(isinstance(d, int) for d in dims):
            continue
        known = (shapes or {}).get(name)
        if known is not None and len(known) != len(dims):
            raise ValueError(f"input '{name}' has {len(dims)} dimensions, the shape given for it "
                             f"{tuple(known)} has {len(known)}")
        low, opt, high = [], [], []
        for i, dim in enumerate(dims):
            if isinstance(dim, int):
                low.append(dim), opt.append(dim), high.append(dim)
            else:
                want = int(known[i]) if known is not None else DEFAULT_DYNAMIC_OPT
                low.append(min(DEFAULT_DYNAMIC_MIN, want))
                opt.append(want)
                high.append(max(DEFAULT_DYNAMIC_MAX, want))
        profile[name] = (tuple(low), tuple(opt), tuple(high))
    return profile


def create_config(builder: mlprt.Builder, *, fp16: bool = False,
                  profiles: Sequence[Mapping[str, ShapeRange]] = (),
                  workspace: Optional[int] = None,
                  optimization_level: Optional[int] = None) -> mlprt.IBuilderConfig:
    """A builder config with the FP16 flag, the workspace limit, the builder optimization level
    (``builder_optimization_level``, 0-5; None keeps the default, 3) and one optimization profile
    per mapping of ``profiles`` (input name -> (min, opt, max)) set."""
    config = builder.create_builder_config()
    if optimization_level is not None:
        config.builder_optimization_level = int(optimization_level)
    if workspace is not None:
        config.set_memory_pool_limit(mlprt.MemoryPoolType.WORKSPACE, int(workspace))
    if fp16:
        config.set_flag(mlprt.BuilderFlag.FP16)
    for spec in profiles:
        profile = builder.create_optimization_profile()
        for name, (low, opt, high) in spec.items():
            profile.set_shape(name, low, opt, high)
        config.add_optimization_profile(profile)
    return config


def build_engine(model: Union[str, os.PathLike, bytes], *, fp16: bool = False,
                 profiles: Sequence[Mapping[str, ShapeRange]] = (),
                 workspace: Optional[int] = None, timing_cache: Optional[Union[str, os.PathLike]] = None,
                 logger: Optional[mlprt.ILogger] = None,
                 cache_stats: Optional[Dict[str, int]] = None,
                 optimization_level: Optional[int] = None,
                 configure: Optional[Callable[[mlprt.IBuilderConfig], None]] = None) -> bytes:
    """Parses an ONNX model (a path, or the model's bytes) and builds a serialized engine.

    ``profiles``: one mapping per optimization profile, input name -> (min, opt, max). A dynamic
    model without profiles gets one profile per dynamic input only if ``profiles`` names it:
    otherwise the builder's error says which input needs one. ``timing_cache``: a file read when
    it exists and written back after the build. ``cache_stats``: a dict that receives the timing
    cache's ``hits`` and ``misses`` of this build (left untouched without a cache).
    ``optimization_level``: the config's ``builder_optimization_level`` (None: the default, 3).
    ``configure``: called with the config before the build, for any other setting (flags,
    ``profiling_verbosity``, ...). Raises BuildFailed with every reason."""
    collector = _CollectingLogger(logger)
    builder = mlprt.Builder(collector)
    network = builder.create_network(1 << int(mlprt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = mlprt.OnnxParser(network, collector)
    if isinstance(model, (bytes, bytearray, memoryview)):
        parsed = parser.parse(bytes(model))
    else:
        parsed = parser.parse_from_file(os.fspath(model))
    if not parsed:
        raise BuildFailed("the ONNX model could not be parsed:\n" +
                          "\n".join(str(parser.get_error(i)) for i in range(parser.num_errors)))
    config = create_config(builder, fp16=fp16, profiles=profiles, workspace=workspace,
                           optimization_level=optimization_level)
    if configure is not None:
        configure(config)
    cache = None
    if timing_cache is not None:
        data = open(timing_cache, "rb").read() if os.path.exists(timing_cache) else b""
        cache = config.create_timing_cache(data)
        config.set_timing_cache(cache, ignore_mismatch=True)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise BuildFailed("building the engine failed:\n" + "\n".join(collector.errors))
    if cache is not None and timing_cache is not None:
        with open(timing_cache, "wb") as f:
            f.write(cache.serialize())
        if cache_stats is not None:
            cache_stats.update(hits=int(cache.hits), misses=int(cache.misses))
    return bytes(plan)


@dataclass
class _Binding:
    host: np.ndarray            # pinned, flat, capacity elements
    device: cuda.DeviceAllocation
    capacity: int               # elements


@dataclass
class EngineRunner:
    """Runs an engine with pinned host buffers and device buffers that are kept between calls
    and grow only when a larger shape arrives. Not thread-safe: one runner per thread."""

    engine: mlprt.ICudaEngine
    context: mlprt.IExecutionContext = field(init=False)
    stream: cuda.Stream = field(init=False)
    _bindings: Dict[str, _Binding] = field(init=False, default_factory=dict)
    #: How many (host, device) buffer pairs were allocated so far: stays put while shapes fit.
    allocations: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.context = self.engine.create_execution_context()
        self.stream = cuda.Stream()
        self.input_names = [n for n in self.engine if self.engine.get_tensor_mode(n) == mlprt.TensorIOMode.INPUT]
        self.output_names = [n for n in self.engine if self.engine.get_tensor_mode(n) == mlprt.TensorIOMode.OUTPUT]

    def _binding(self, name: str, shape: Shape) -> _Binding:
        count = max(int(np.prod(shape, dtype=np.int64)), 1)
        binding = self._bindings.get(name)
        if binding is None or binding.capacity < count:
            dtype = mlprt.nptype(self.engine.get_tensor_dtype(name))
            host = cuda.pagelocked_empty(count, dtype)
            binding = _Binding(host, cuda.mem_alloc(host.nbytes), count)
            self.allocations += 1
            self._bindings[name] = binding
        self.context.set_tensor_address(name, int(binding.device))
        return binding

    def set_inputs(self, feeds: Mapping[str, np.ndarray]) -> None:
        """Sets input shapes, binds buffers and stages ``feeds`` in pinned memory."""
        missing = [n for n in self.input_names if n not in feeds]
        if missing:
            raise ValueError(f"missing input(s) {missing}; the engine's inputs are {self.input_names}")
        unknown = [n for n in feeds if n not in self.input_names]
        if unknown:
            raise ValueError(f"unknown input(s) {unknown}; the engine's inputs are {self.input_names}")
        for name in self.input_names:
            value = np.asarray(feeds[name])
            dtype = mlprt.nptype(self.engine.get_tensor_dtype(name))
            if value.dtype != dtype:
                raise ValueError(f"input '{name}' must be {np.dtype(dtype).name}, got {value.dtype.name}")
            if not self.context.set_input_shape(name, value.shape):
                low, _, high = self.engine.get_tensor_profile_shape(name, self.context.active_optimization_profile)
                raise ValueError(f"input '{name}' shape {value.shape} is outside the engine's profile "
                                 f"(min {low}, max {high}); rebuild with a wider profile")
            binding = self._binding(name, value.shape)
            binding.host[: value.size] = value.ravel()
        for name in self.output_names:
            self._binding(name, tuple(self.context.get_tensor_shape(name)))

    def capacity(self, name: str) -> int:
        """Elements the buffers of tensor ``name`` hold now (0 before the first run)."""
        binding = self._bindings.get(name)
        return 0 if binding is None else binding.capacity

    def copy_inputs(self) -> None:
        for name in self.input_names:
            binding = self._bindings[name]
            shape = tuple(self.context.get_tensor_shape(name))
            cuda.memcpy_htod_async(binding.device, binding.host[: max(int(np.prod(shape)), 1)], self.stream)

    def execute(self) -> None:
        self.context.execute_async_v3(self.stream.handle)

    def copy_outputs(self) -> None:
        for name in self.output_names:
            binding = self._bindings[name]
            shape = tuple(self.context.get_tensor_shape(name))
            cuda.memcpy_dtoh_async(binding.host[: max(int(np.prod(shape)), 1)], binding.device, self.stream)

    def outputs(self) -> Dict[str, np.ndarray]:
        """Copies of the outputs of the last run, shaped (call after the stream synchronized)."""
        result = {}
        for name in self.output_names:
            shape = tuple(self.context.get_tensor_shape(name))
            count = int(np.prod(shape, dtype=np.int64))
            result[name] = self._bindings[name].host[:count].reshape(shape).copy()
        return result

    def run(self, feeds: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
        """One inference: stage, copy in, execute, copy out, synchronize; returns the outputs."""
        self.set_inputs(feeds)
        self.copy_inputs()
        self.execute()
        self.copy_outputs()
        self.stream.synchronize()
        return self.outputs()
