"""``mlprt.Session``: ONNX Runtime's calling convention on an mlprt engine, for notebooks.

>>> sess = mlprt.Session("model.onnx", profiles={"input": [(1, 784), (32, 784), (64, 784)]})
>>> probs, = sess.run(None, {"input": x})

The engine is built once and cached on disk (``cache_dir``; default ``$MLPRT_CACHE_DIR/engines``,
else ``~/.cache/mlprt/engines``) under a key made of the model's bytes (SHA-256), the device's
fingerprint, the mlprt version and the build flags (``fp16``, the profile); a second Session with
the same arguments loads the file instead of building.

**A dynamic model without ``profiles``** gets a default profile: every dynamic dimension ranges
over 1..64 with opt 1 (:func:`mlprt.engine_tools.default_profile`). ``sess.profile`` shows it;
pass ``profiles=`` for another range. Shapes outside the profile raise ValueError naming the
input, the shape and the range.

Pinned host buffers and device buffers are kept across ``run`` calls and grow only when a larger
shape arrives. A Session is not thread-safe: use one per thread.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

import mlprt
from mlprt.engine_tools import EngineRunner, ShapeRange, build_engine, default_profile, model_io

__all__ = ["NodeArg", "Session", "default_cache_dir"]

_ENGINE_MAGIC = b"MLPRTENG"
_ENGINE_SUFFIXES = (".engine", ".plan", ".trt")

_ORT_TYPE_NAMES: Dict[str, str] = {
    "float32": "tensor(float)", "float16": "tensor(float16)", "float64": "tensor(double)",
    "int64": "tensor(int64)", "int32": "tensor(int32)", "int8": "tensor(int8)",
    "uint8": "tensor(uint8)", "bool": "tensor(bool)",
}

Dim = Union[int, str, None]


@dataclass(frozen=True)
class NodeArg:
    """An input or output as ``get_inputs()``/``get_outputs()`` describe it, like ONNX Runtime's
    NodeArg: ``shape`` has an int for a fixed dimension, the dimension's name from the ONNX model
    (``"batch"``) for a named dynamic one, and None for a dynamic one without a name (always
    None for Sessions made from an engine file, which keeps no names); ``type`` is ONNX Runtime's
    type string (``"tensor(float)"``)."""

    name: str
    shape: List[Dim]
    type: str


def default_cache_dir() -> Path:
    """``$MLPRT_CACHE_DIR/engines`` when the variable is set, else ``~/.cache/mlprt/engines``."""
    root = os.environ.get("MLPRT_CACHE_DIR")
    return Path(root) / "engines" if root else Path.home() / ".cache" / "mlprt" / "engines"


def _quiet_logger(errors: List[str]) -> mlprt.ILogger:
    class _Keep(mlprt.ILogger):
        def log(self, severity: "mlprt.Logger.Severity", msg: str) -> None:
            if severity in (mlprt.Logger.ERROR, mlprt.Logger.INTERNAL_ERROR):
                errors.append(msg)
    return _Keep()


class Session:
    """Runs an ONNX model (built into an engine once, cached) or an engine with
    ``run(output_names, input_feed)`` like ``onnxruntime.InferenceSession``.

    ``model``: a path to an ONNX model or an engine file (``.engine``/``.plan``/``.trt``, or any
    file that starts with the engine magic), or the bytes of either. ``fp16``: build with
    ``BuilderFlag.FP16``. ``profiles``: one optimization profile, input name -> ``(min, opt, max)``
    shapes; a dynamic model without it gets 1..64 (opt 1) on each dynamic dimension. ``cache_dir``:
    where built engines are kept (see :func:`default_cache_dir`); ``use_cache=False`` always
    builds and writes nothing. ``fp16`` and ``profiles`` cannot be given with an engine, which is
    already built. Build failures raise :class:`mlprt.engine_tools.BuildFailed`.
    """

    def __init__(self, model: Union[str, os.PathLike, bytes], fp16: bool = False,
                 profiles: Optional[Mapping[str, Sequence[Sequence[int]]]] = None,
                 cache_dir: Optional[Union[str, os.PathLike]] = None, use_cache: bool = True,
                 logger: Optional[mlprt.ILogger] = None) -> None:
        data, is_engine, source = self._read(model)
        self.source: str = source
        #: True when this Session built its engine, False when it loaded one (file or cache).
        self.built: bool = False
        #: The engine file in the cache, None for engines given directly or use_cache=False.
        self.cache_path: Optional[Path] = None
        self._dims: Dict[str, Tuple[Dim, ...]] = {}        # inputs and outputs, from the model
        self._input_dims: Dict[str, Tuple[Dim, ...]] = {}
        if is_engine:
            if fp16 or profiles is not None:
                raise ValueError("fp16= and profiles= apply when building from an ONNX model; "
                                 f"{source} is an engine that is already built: drop them, or pass "
                                 "the ONNX model instead")
            self.profile: Dict[str, ShapeRange] = {}
            engine = self._deserialize(data, source)
        else:
            inputs, outputs = model_io(data)
            self._dims = {**outputs, **inputs}
            self._input_dims = inputs
            self.profile = self._profile(profiles)
            engine = self._build_or_load(data, fp16, cache_dir, use_cache, logger)
        self.engine: mlprt.ICudaEngine = engine
        self._runner = EngineRunner(engine)
        if not self.profile and engine.num_optimization_profiles > 0:
            self.profile = {n: tuple(tuple(s) for s in engine.get_tensor_profile_shape(n, 0))  # type: ignore[misc]
                            for n in self._runner.input_names
                            if any(d < 0 for d in engine.get_tensor_shape(n))}

    # -- construction ------------------------------------------------------------------------

    @staticmethod
    def _read(model: Union[str, os.PathLike, bytes]) -> Tuple[bytes, bool, str]:
        if isinstance(model, (bytes, bytearray, memoryview)):
            data = bytes(model)
            is_engine = data.startswith(_ENGINE_MAGIC)
            return data, is_engine, "the engine bytes" if is_engine else "the model bytes"
        path = Path(model)
        if not path.is_file():
            raise FileNotFoundError(f"no such model or engine file: {path}")
        data = path.read_bytes()
        is_engine = data.startswith(_ENGINE_MAGIC) or path.suffix.lower() in _ENGINE_SUFFIXES
        return data, is_engine, str(path)

    def _profile(self, profiles: Optional[Mapping[str, Sequence[Sequence[int]]]]) -> Dict[str, ShapeRange]:
        if profiles is None:
            return default_profile(self._input_dims)
        if not isinstance(profiles, Mapping):
            raise TypeError("profiles= is one profile: a dict input name -> (min, opt, max) shapes, "
                            "e.g. {'input': [(1, 784), (32, 784), (64, 784)]}")
        profile: Dict[str, ShapeRange] = {}
        for name, shapes in profiles.items():
            if name not in self._input_dims:
                raise ValueError(f"profiles= names '{name}', which is not an input of the model; "
                                 f"the inputs are {list(self._input_dims)}")
            if len(shapes) != 3:
                raise ValueError(f"profiles['{name}'] must be three shapes (min, opt, max), got {len(shapes)}")
            profile[name] = tuple(tuple(int(d) for d in s) for s in shapes)  # type: ignore[assignment]
        return profile

    @staticmethod
    def _deserialize(data: bytes, source: str) -> mlprt.ICudaEngine:
        errors: List[str] = []
        engine = mlprt.Runtime(_quiet_logger(errors)).deserialize_cuda_engine(data)
        if engine is None:
            raise ValueError(f"{source} could not be loaded as an engine: "
                             f"{'; '.join(errors) or 'unknown reason'}")
        return engine

    def cache_key(self, data: bytes, fp16: bool) -> str:
        """The cache key: SHA-256 of the model bytes, device fingerprint, mlprt version and flags."""
        profile = {n: [list(s) for s in r] for n, r in sorted(self.profile.items())}
        flags = json.dumps({"fp16": bool(fp16), "profile": profile},
                           sort_keys=True)
        digest = hashlib.sha256()
        for part in (hashlib.sha256(data).hexdigest(), mlprt.current_device().fingerprint,
                     mlprt.__version__, flags):
            digest.update(part.encode())
            digest.update(b"\0")
        return digest.hexdigest()

    def _build_or_load(self, data: bytes, fp16: bool, cache_dir: Optional[Union[str, os.PathLike]],
                       use_cache: bool, logger: Optional[mlprt.ILogger]) -> mlprt.ICudaEngine:
        if use_cache:
            directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
            self.cache_path = directory / f"{self.cache_key(data, fp16)}.engine"
            if self.cache_path.is_file():
                errors: List[str] = []
                engine = mlprt.Runtime(_quiet_logger(errors)).deserialize_cuda_engine(self.cache_path.read_bytes())
                if engine is not None:
                    return engine            # a damaged cache entry falls through and is rebuilt
        plan = build_engine(data, fp16=fp16, profiles=[self.profile] if self.profile else [], logger=logger)
        self.built = True
        if self.cache_path is not None:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.cache_path.parent, suffix=".tmp")
            with os.fdopen(handle, "wb") as f:
                f.write(plan)
            os.replace(temporary, self.cache_path)   # atomic: readers never see half a file
        return self._deserialize(plan, "the engine just built")

    # -- ONNX Runtime's interface ------------------------------------------------------------

    def _node_args(self, names: Sequence[str]) -> List[NodeArg]:
        args = []
        for name in names:
            shape = tuple(self.engine.get_tensor_shape(name))
            named = self._dims.get(name, ())
            dims: List[Dim] = [d if d >= 0 else (named[i] if len(named) == len(shape) and
                                                 not isinstance(named[i], int) else None)
                               for i, d in enumerate(shape)]
            dtype = np.dtype(mlprt.nptype(self.engine.get_tensor_dtype(name))).name
            args.append(NodeArg(name, dims, _ORT_TYPE_NAMES.get(dtype, f"tensor({dtype})")))
        return args

    def get_inputs(self) -> List[NodeArg]:
        """The inputs, in the engine's order."""
        return self._node_args(self._runner.input_names)

    def get_outputs(self) -> List[NodeArg]:
        """The outputs, in the engine's order."""
        return self._node_args(self._runner.output_names)

    def _check(self, feeds: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
        inputs = self._runner.input_names
        missing = [n for n in inputs if n not in feeds]
        if missing:
            raise ValueError(f"missing input(s) {missing}: run() needs a value for every input "
                             f"{inputs} in its input_feed dict")
        unknown = [n for n in feeds if n not in inputs]
        if unknown:
            raise ValueError(f"unknown input(s) {unknown}; the model's inputs are {inputs}")
        arrays: Dict[str, np.ndarray] = {}
        for name in inputs:
            value = np.asarray(feeds[name])
            want = np.dtype(mlprt.nptype(self.engine.get_tensor_dtype(name)))
            if value.dtype != want:
                raise TypeError(f"input '{name}' must be {want.name} ({_ORT_TYPE_NAMES.get(want.name, want.name)}), "
                                f"got {value.dtype.name}: convert it with .astype(numpy.{want.name})")
            declared = tuple(self.engine.get_tensor_shape(name))
            if len(value.shape) != len(declared) or any(d >= 0 and d != v for d, v in zip(declared, value.shape)):
                pattern = "x".join("?" if d < 0 else str(d) for d in declared) or "scalar"
                raise ValueError(f"input '{name}' has shape {tuple(value.shape)}, the model takes {pattern} "
                                 f"(? = any size within the profile)")
            if self.engine.num_optimization_profiles > 0 and any(d < 0 for d in declared):
                low, opt, high = (tuple(s) for s in self.engine.get_tensor_profile_shape(name, 0))
                if any(v < lo or v > hi for v, lo, hi in zip(value.shape, low, high)):
                    raise ValueError(
                        f"input '{name}' has shape {tuple(value.shape)}, outside the engine's profile "
                        f"{low}..{high}: pass a wider profiles= to Session, e.g. profiles={{'{name}': "
                        f"[{_widen(low, value.shape, min)}, {opt}, "
                        f"{_widen(high, value.shape, max)}]}}")
            arrays[name] = value
        return arrays

    def run(self, output_names: Optional[Sequence[str]], input_feed: Mapping[str, np.ndarray],
            run_options: object = None) -> List[np.ndarray]:
        """Runs the engine on ``input_feed`` (input name -> NumPy array of the input's dtype) and
        returns the outputs named in ``output_names`` in that order (all, in the engine's order,
        when None) as NumPy arrays. ``run_options`` is accepted for ONNX Runtime compatibility
        and ignored."""
        names = list(self._runner.output_names) if output_names is None else list(output_names)
        unknown = [n for n in names if n not in self._runner.output_names]
        if unknown:
            raise ValueError(f"unknown output(s) {unknown}; the model's outputs are {self._runner.output_names}")
        results = self._runner.run(self._check(input_feed))
        return [results[n] for n in names]

    def __repr__(self) -> str:
        return (f"Session({self.source!r}, inputs={[(a.name, a.shape) for a in self.get_inputs()]}, "
                f"{'built' if self.built else 'loaded'}{f', cache {self.cache_path}' if self.cache_path else ''})")


def _widen(bound: Sequence[int], shape: Sequence[int], pick: object) -> Tuple[int, ...]:
    return tuple(int(pick(b, s)) for b, s in zip(bound, shape))  # type: ignore[operator]
