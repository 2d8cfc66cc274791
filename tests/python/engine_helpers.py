"""Helpers for engine tests: build from a network, run with pinned buffers the tutorial way."""
from __future__ import annotations

import re
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

import mlprt
import mlprt.driver as cuda
from mlprt.engine_tools import build_engine, create_config

Shape = Tuple[int, ...]
ProfileSpec = Dict[str, Tuple[Shape, Shape, Shape]]


class RecordingLogger(mlprt.ILogger):
    """Keeps every message, so tests can check what the builder and runtime said."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: List[Tuple[mlprt.Logger.Severity, str]] = []

    def log(self, severity: "mlprt.Logger.Severity", msg: str) -> None:
        self.messages.append((severity, msg))

    def errors(self) -> str:
        return "\n".join(m for s, m in self.messages if s in (mlprt.Logger.ERROR, mlprt.Logger.INTERNAL_ERROR))

    def summary_count(self, what: str) -> int:
        """The count before ``what`` in the builder's summary line ("2 shuffles that changed nothing
        dropped"); fails the test when no message says it."""
        for _, message in self.messages:
            found = re.search(r"(\d+) " + re.escape(what), message)
            if found:
                return int(found.group(1))
        raise AssertionError(f"the builder did not say how many {what}")


def build(populate: Callable[[mlprt.INetworkDefinition], None], profiles: Sequence[ProfileSpec] = (),
          fp16: bool = False, logger: Optional[mlprt.ILogger] = None,
          cache: Optional[mlprt.ITimingCache] = None) -> Optional[mlprt.IHostMemory]:
    """Builds a network that ``populate`` fills, with the given profiles; the plan or None."""
    builder = mlprt.Builder(logger or RecordingLogger())
    network = builder.create_network(1 << int(mlprt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    populate(network)
    config = create_config(builder, fp16=fp16, profiles=profiles)
    if cache is not None:
        assert config.set_timing_cache(cache, ignore_mismatch=False)
    return builder.build_serialized_network(network, config)


def chained_products(network: mlprt.INetworkDefinition, weights: Sequence[np.ndarray]) -> None:
    """input (2, 8, K) times each square K x K constant of ``weights`` in turn, marked "output" (rank 3,
    so that no fused MLP takes the products: each is timed as a product)."""
    width = weights[0].shape[0]
    x = network.add_input("input", mlprt.DataType.FLOAT, (2, 8, width))
    for w in weights:
        constant = network.add_constant(w.shape, w).get_output(0)
        product = network.add_matrix_multiply(x, mlprt.MatrixOperation.NONE, constant, mlprt.MatrixOperation.NONE)
        x = product.get_output(0)
    x.name = "output"
    network.mark_output(x)


def load(plan: bytes, logger: Optional[mlprt.ILogger] = None) -> mlprt.ICudaEngine:
    engine = mlprt.Runtime(logger or RecordingLogger()).deserialize_cuda_engine(plan)
    assert engine is not None
    return engine


def build_onnx(path, spec, batch_profile: Optional[Tuple[Shape, Shape, Shape]] = None,
                fp16: bool = False) -> mlprt.ICudaEngine:
    """Parses and builds a zoo export (``spec``: its ZooModel) and loads the engine from its bytes,
    as a saved file would be. ``batch_profile``: the (min, opt, max) leading extents of every
    input's profile, for dynamic exports; raises BuildFailed with the parser's or builder's
    reasons."""
    profiles = []
    if batch_profile is not None:
        profiles.append({name: tuple(batch + shape for batch in batch_profile) for name, shape in spec.inputs})
    return load(build_engine(path, fp16=fp16, profiles=profiles, logger=RecordingLogger()))


def infer(context: mlprt.IExecutionContext, inputs: Dict[str, np.ndarray],
          stream: Optional[cuda.Stream] = None) -> Dict[str, np.ndarray]:
    """One inference as the TensorRT tutorials do it: pinned host buffers, device buffers,
    set_tensor_address, async copies, execute_async_v3, synchronize."""
    engine = context.engine
    stream = stream or cuda.Stream()
    keep = []
    for name, value in inputs.items():
        assert context.set_input_shape(name, value.shape), f"shape {value.shape} rejected for {name}"
    outputs: Dict[str, np.ndarray] = {}
    copies_back = []
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        dtype = mlprt.nptype(engine.get_tensor_dtype(name))
        shape = tuple(context.get_tensor_shape(name))
        host = cuda.pagelocked_empty(shape, dtype)
        device = cuda.mem_alloc(max(host.nbytes, 1))
        keep.append(device)
        context.set_tensor_address(name, int(device))
        if engine.get_tensor_mode(name) == mlprt.TensorIOMode.INPUT:
            host[...] = inputs[name]
            cuda.memcpy_htod_async(device, host, stream)
        else:
            outputs[name] = host
            copies_back.append((host, device))
    assert context.execute_async_v3(stream.handle)
    for host, device in copies_back:
        cuda.memcpy_dtoh_async(host, device, stream)
    stream.synchronize()
    return {name: np.array(value) for name, value in outputs.items()}


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """max |actual - expected| / max |expected|: the error measure of the quality bar."""
    scale = max(float(np.abs(expected).max()), 1e-30)
    return float(np.abs(actual.astype(np.float64) - expected).max()) / scale


def check_detections(got: np.ndarray, expected: np.ndarray, bound: float, reference: str,
                     score_tolerance: float = 1e-5) -> None:
    """Rows (box x1, y1, x2, y2, score, class) as a set: each row of ``got`` must match a distinct
    row of ``expected`` with the same class, a score within ``score_tolerance`` and a box within
    ``bound`` of the boxes' scale. Rows of nearly equal score swap places with rounding (TopK orders them), so the
    order is not compared; the sorted scores are. For the same reason, at TopK's cut, where
    anchors whose scores differ by rounding compete for the last places (a YOLO with random
    weights has 150 scores within 1e-5 of its 300th), a row with no counterpart may stand for a
    reference row that has none either, as long as both scores are within ``score_tolerance`` of
    the reference's lowest kept score."""
    scores, expected_scores = np.sort(got[..., 4], axis=-1), np.sort(expected[..., 4], axis=-1)
    assert relative_error(scores, expected_scores) <= bound, f"sorted scores against {reference}"
    scale = max(float(np.abs(expected[..., :4]).max()), 1e-30)
    for image, expected_rows in zip(got, expected):
        unmatched = list(range(len(expected_rows)))
        leftover = []
        for row in image:
            match = [j for j in unmatched if expected_rows[j, 5] == row[5] and abs(expected_rows[j, 4] - row[4]) <= score_tolerance
                     and np.abs(expected_rows[j, :4] - row[:4]).max() <= bound * scale]
            if match:
                unmatched.remove(match[0])
            else:
                leftover.append(row)
        cut = float(expected_rows[:, 4].min()) if len(expected_rows) else 0.0
        for row in leftover:
            at_cut = [j for j in unmatched if abs(expected_rows[j, 4] - cut) <= score_tolerance]
            assert abs(row[4] - cut) <= score_tolerance and at_cut, \
                f"detection {row} has no counterpart in {reference}'s output (nor is it at TopK's cut, score {cut:.7g})"
            unmatched.remove(at_cut[0])
