"""Check an mlprt engine against ONNX Runtime, for pytest and for ``mlprt compare``.

>>> report = mlprt.testing.compare_with_onnxruntime("model.onnx", fp16=True)
>>> report.assert_passed()          # AssertionError with the whole report when an output differs

**The pass rule** (numpy.allclose's, with ONNX Runtime as the reference): an output passes when
its shape and dtype equal ONNX Runtime's and every element satisfies

    |mlprt - onnxruntime| <= atol + rtol * |onnxruntime|

NaN passes only where both have NaN, and an infinity only where both have the same one. Default
tolerances: ``atol = rtol = 1e-5`` for FP32 engines, ``1e-2`` each with ``fp16=True`` (FP16
stores every interior tensor in half precision, 11 significant bits).

The statistics reported next to the verdict: the absolute difference ``|a - b|`` and the
relative difference ``|a - b| / |b|`` (``a`` mlprt, ``b`` ONNX Runtime; 0 where both are 0,
infinite where only ``b`` is 0), each as maximum (with the index where it occurs) and mean,
computed in float64.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

import mlprt
from mlprt.engine_tools import (EngineRunner, ShapeRange, build_engine, default_profile,
                                model_inputs)

__all__ = ["ComparisonReport", "OutputComparison", "compare_with_onnxruntime",
           "default_tolerances", "random_inputs"]

ModelSource = Union[str, os.PathLike, bytes]
Profiles = Union[Mapping[str, ShapeRange], Sequence[Mapping[str, ShapeRange]], None]

FP32_TOLERANCE = 1e-5
FP16_TOLERANCE = 1e-2


def default_tolerances(fp16: bool) -> Tuple[float, float]:
    """``(atol, rtol)`` used when none are given: 1e-5 each for FP32, 1e-2 each for FP16."""
    value = FP16_TOLERANCE if fp16 else FP32_TOLERANCE
    return value, value


@dataclass
class OutputComparison:
    """One output of mlprt compared with ONNX Runtime's (see the module's pass rule)."""

    name: str
    dtype: str                       # mlprt's dtype name, e.g. "float32"
    shape: Tuple[int, ...]           # mlprt's shape
    reference_dtype: str
    reference_shape: Tuple[int, ...]
    atol: float
    rtol: float
    max_abs: float = 0.0
    max_abs_index: Tuple[int, ...] = ()
    mean_abs: float = 0.0
    max_rel: float = 0.0
    max_rel_index: Tuple[int, ...] = ()
    mean_rel: float = 0.0
    mismatches: int = 0              # elements outside the tolerance
    size: int = 0
    worst_index: Tuple[int, ...] = ()  # the element furthest outside (or closest to) the tolerance
    worst_values: Tuple[float, float] = (0.0, 0.0)  # (mlprt, onnxruntime) at worst_index
    problem: str = ""                # shape or dtype mismatch, empty otherwise

    @property
    def passed(self) -> bool:
        """True when shapes and dtypes agree and no element is outside the tolerance."""
        return not self.problem and self.mismatches == 0

    def __str__(self) -> str:
        lines = [f"output '{self.name}': {self.dtype} {self.shape}"]
        if self.problem:
            lines.append(f"  FAILED: {self.problem}")
            return "\n".join(lines)
        lines.append(f"  absolute difference: max {self.max_abs:.6g} at {self.max_abs_index}, "
                     f"mean {self.mean_abs:.6g}")
        lines.append(f"  relative difference: max {self.max_rel:.6g} at {self.max_rel_index}, "
                     f"mean {self.mean_rel:.6g}")
        rule = f"|mlprt - onnxruntime| <= {self.atol:g} + {self.rtol:g} * |onnxruntime|"
        if self.passed:
            lines.append(f"  PASSED: {rule} for all {self.size} elements")
        else:
            got, want = self.worst_values
            lines.append(f"  FAILED: {self.mismatches} of {self.size} elements break {rule}; "
                         f"worst at {self.worst_index}: mlprt {got:.6g}, onnxruntime {want:.6g}")
        return "\n".join(lines)


@dataclass
class ComparisonReport:
    """What :func:`compare_with_onnxruntime` found: the inputs used and one
    :class:`OutputComparison` per output, in the model's output order."""

    inputs: Dict[str, np.ndarray]
    outputs: List[OutputComparison]
    atol: float
    rtol: float
    results: Dict[str, np.ndarray] = field(default_factory=dict, repr=False)    # mlprt's
    reference: Dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # ONNX Runtime's

    @property
    def passed(self) -> bool:
        """True when every output passed."""
        return all(o.passed for o in self.outputs)

    def __getitem__(self, name: str) -> OutputComparison:
        for output in self.outputs:
            if output.name == name:
                return output
        raise KeyError(f"no output '{name}'; the outputs are {[o.name for o in self.outputs]}")

    def __str__(self) -> str:
        lines = ["inputs: " + ", ".join(f"{n} {v.dtype.name} {'x'.join(map(str, v.shape)) or 'scalar'}"
                                        for n, v in self.inputs.items())]
        lines += [str(output) for output in self.outputs]
        failed = [o.name for o in self.outputs if not o.passed]
        if failed:
            lines.append(f"FAILED: {len(failed)} of {len(self.outputs)} outputs differ from "
                         f"ONNX Runtime ({', '.join(failed)})")
        else:
            lines.append(f"PASSED: {len(self.outputs)} of {len(self.outputs)} outputs match "
                         f"ONNX Runtime (atol {self.atol:g}, rtol {self.rtol:g})")
        return "\n".join(lines)

    def assert_passed(self) -> None:
        """Raises AssertionError holding the report unless every output passed."""
        if not self.passed:
            raise AssertionError("mlprt differs from ONNX Runtime:\n" + str(self))


def compare_arrays(name: str, got: np.ndarray, expected: np.ndarray, atol: float,
                   rtol: float) -> OutputComparison:
    """Compares one mlprt output ``got`` with ONNX Runtime's ``expected`` under the pass rule."""
    got, expected = np.asarray(got), np.asarray(expected)
    result = OutputComparison(name, got.dtype.name, tuple(got.shape), expected.dtype.name,
                              tuple(expected.shape), atol, rtol, size=int(got.size))
    if got.shape != expected.shape:
        result.problem = f"shape {tuple(got.shape)} differs from ONNX Runtime's {tuple(expected.shape)}"
        return result
    if got.dtype != expected.dtype:
        result.problem = f"dtype {got.dtype.name} differs from ONNX Runtime's {expected.dtype.name}"
        return result
    if got.size == 0:
        return result
    a, b = got.astype(np.float64), expected.astype(np.float64)
    both_nan = np.isnan(a) & np.isnan(b)
    same_inf = np.isinf(a) & (a == b)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        diff = np.where(both_nan | same_inf, 0.0, np.abs(a - b))
        diff = np.where(np.isnan(diff), np.inf, diff)            # NaN on one side only
        rel = np.where(diff == 0, 0.0, diff / np.abs(b))
        rel = np.where(np.isnan(rel), np.inf, rel)
        allowed = atol + rtol * np.abs(b)
        excess = np.where(np.isfinite(allowed), diff - allowed, np.where(diff == 0, -np.inf, np.inf))
    bad = excess > 0
    index = lambda flat: tuple(int(i) for i in np.unravel_index(int(flat), got.shape))  # noqa: E731
    result.max_abs_index = index(np.argmax(diff))
    result.max_abs = float(diff[result.max_abs_index])
    result.mean_abs = float(np.mean(diff))
    result.max_rel_index = index(np.argmax(rel))
    result.max_rel = float(rel[result.max_rel_index])
    result.mean_rel = float(np.mean(rel))
    result.mismatches = int(np.count_nonzero(bad))
    result.worst_index = index(np.argmax(excess))
    result.worst_values = (float(a[result.worst_index]), float(b[result.worst_index]))
    return result


def random_inputs(specs: Mapping[str, Tuple[Tuple[int, ...], np.dtype]], seed: int = 0) -> Dict[str, np.ndarray]:
    """Random inputs, name -> (shape, dtype), drawn in order from ``numpy.random.default_rng(seed)``:
    floats uniform in [-1, 1), integers in [0, 10), booleans fair coins."""
    rng = np.random.default_rng(seed)
    arrays: Dict[str, np.ndarray] = {}
    for name, (shape, dtype) in specs.items():
        dtype = np.dtype(dtype)
        if dtype.kind == "f":
            arrays[name] = rng.uniform(-1.0, 1.0, size=shape).astype(dtype)
        elif dtype.kind == "b":
            arrays[name] = rng.random(size=shape) < 0.5
        else:
            arrays[name] = rng.integers(0, 10, size=shape).astype(dtype)
    return arrays


def _normalize_profiles(profiles: Profiles) -> List[Dict[str, ShapeRange]]:
    if profiles is None:
        return []
    if isinstance(profiles, Mapping):
        profiles = [profiles]
    return [{name: tuple(tuple(int(d) for d in s) for s in shapes)  # type: ignore[misc]
             for name, shapes in spec.items()} for spec in profiles]


def _inference_shape(engine: mlprt.ICudaEngine, name: str, given: Optional[Sequence[int]]) -> Tuple[int, ...]:
    """``given`` if any, else the engine's shape with dynamic dimensions at profile 0's opt (1
    where the engine has no profile)."""
    if given is not None:
        return tuple(int(d) for d in given)
    shape = tuple(engine.get_tensor_shape(name))
    if all(d >= 0 for d in shape):
        return shape
    opt: Sequence[int] = ()
    if engine.num_optimization_profiles > 0:
        opt = tuple(engine.get_tensor_profile_shape(name, 0)[1])
    return tuple(d if d >= 0 else (opt[i] if len(opt) == len(shape) else 1) for i, d in enumerate(shape))


def _load_engine(engine: Union[mlprt.ICudaEngine, bytes, bytearray, memoryview]) -> mlprt.ICudaEngine:
    if isinstance(engine, mlprt.ICudaEngine):
        return engine
    errors: List[str] = []

    class _Keep(mlprt.ILogger):
        def log(self, severity: "mlprt.Logger.Severity", msg: str) -> None:
            if severity in (mlprt.Logger.ERROR, mlprt.Logger.INTERNAL_ERROR):
                errors.append(msg)

    logger = _Keep()
    loaded = mlprt.Runtime(logger).deserialize_cuda_engine(bytes(engine))
    if loaded is None:
        raise ValueError("the engine could not be loaded: " + ("; ".join(errors) or "unknown reason"))
    return loaded


def compare_with_onnxruntime(model: ModelSource, engine: Union[mlprt.ICudaEngine, bytes, None] = None,
                             inputs: Optional[Mapping[str, np.ndarray]] = None,
                             rtol: Optional[float] = None, atol: Optional[float] = None,
                             fp16: bool = False, profiles: Profiles = None, seed: int = 0,
                             input_shapes: Optional[Mapping[str, Sequence[int]]] = None,
                             logger: Optional[mlprt.ILogger] = None) -> ComparisonReport:
    """Runs an mlprt engine and ONNX Runtime (CPU) on the same inputs and compares every output.

    ``model``: the ONNX model, a path or its bytes. ``engine``: an ``ICudaEngine`` or a serialized
    engine; when None it is built from ``model`` with ``fp16`` and ``profiles`` (one mapping
    ``input -> (min, opt, max)`` or a list of them; a dynamic model without profiles gets
    :func:`mlprt.engine_tools.default_profile`, widened to the inference shapes). ``inputs``: a
    dict of arrays; when None, :func:`random_inputs` draws them with ``seed`` at ``input_shapes``
    (name -> shape), where static inputs take their own shape and dynamic dimensions not given
    take profile 0's opt. ``atol``/``rtol`` default to :func:`default_tolerances` (``fp16``).

    Returns a :class:`ComparisonReport` (``.passed``, ``.assert_passed()``). Raises
    :class:`mlprt.engine_tools.BuildFailed` when the build fails, ValueError for inputs the
    engine cannot take.
    """
    import onnxruntime

    default_atol, default_rtol = default_tolerances(fp16)
    atol = default_atol if atol is None else float(atol)
    rtol = default_rtol if rtol is None else float(rtol)
    model_bytes = bytes(model) if isinstance(model, (bytes, bytearray, memoryview)) else open(model, "rb").read()

    if engine is None:
        specs = _normalize_profiles(profiles)
        if not specs:
            known = {n: tuple(np.shape(v)) for n, v in inputs.items()} if inputs is not None else None
            if known is None and input_shapes:
                known = {n: tuple(int(d) for d in s) for n, s in input_shapes.items()}
            profile = default_profile(model_inputs(model_bytes), known)
            specs = [profile] if profile else []
        engine = build_engine(model_bytes, fp16=fp16, profiles=specs, logger=logger)
    loaded = _load_engine(engine)
    runner = EngineRunner(loaded)

    session = onnxruntime.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    if inputs is None:
        shapes = dict(input_shapes or {})
        unknown = [n for n in shapes if n not in runner.input_names]
        if unknown:
            raise ValueError(f"shape given for unknown input(s) {unknown}; the inputs are {runner.input_names}")
        specs_in = {n: (_inference_shape(loaded, n, shapes.get(n)),
                        np.dtype(mlprt.nptype(loaded.get_tensor_dtype(n)))) for n in runner.input_names}
        feeds = random_inputs(specs_in, seed)
    else:
        feeds = {n: np.asarray(v) for n, v in inputs.items()}

    results = runner.run(feeds)
    ort_types = {i.name: i.type for i in session.get_inputs()}
    ort_feeds = {n: v.astype(_ORT_TYPES.get(ort_types.get(n, ""), v.dtype), copy=False) for n, v in feeds.items()}
    output_names = [o.name for o in session.get_outputs()]
    reference = dict(zip(output_names, session.run(output_names, ort_feeds)))
    comparisons = []
    for name in output_names:
        if name not in results:
            comparison = OutputComparison(name, "-", (), reference[name].dtype.name,
                                          tuple(reference[name].shape), atol, rtol,
                                          problem="the engine has no such output")
        else:
            comparison = compare_arrays(name, results[name], reference[name], atol, rtol)
        comparisons.append(comparison)
    return ComparisonReport(feeds, comparisons, atol, rtol, results, reference)


_ORT_TYPES: Dict[str, np.dtype] = {
    "tensor(float)": np.dtype(np.float32), "tensor(float16)": np.dtype(np.float16),
    "tensor(double)": np.dtype(np.float64), "tensor(int64)": np.dtype(np.int64),
    "tensor(int32)": np.dtype(np.int32), "tensor(int8)": np.dtype(np.int8),
    "tensor(uint8)": np.dtype(np.uint8), "tensor(bool)": np.dtype(np.bool_),
}
