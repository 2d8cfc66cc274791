"""Launch capture and replay (csrc/backend/opencl/launch_capture.h).

An execution context runs each step's launcher once with the prepared operands and captures its
kernel launches; later calls with the same shapes and bindings enqueue the captured kernels
without the launcher. These tests hold replay to the launchers' results bit for bit, over many
calls with new input values, and check that a new shape or binding starts a new capture instead
of replaying stale addresses. MLPRT_LAUNCH_CAPTURE=0 gives the launcher-only context compared
against.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Tuple

import numpy as np
import pytest

import mlprt
import mlprt.driver as cuda

from engine_helpers import RecordingLogger, build, infer

IN, HIDDEN, OUT = 37, 29, 11
PROFILE = {"x": ((1, IN), (8, IN), (64, IN))}


def weights_for(seed: int) -> Dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"w": rng.standard_normal((IN, HIDDEN)).astype(np.float32) * 0.2,
            "b": rng.standard_normal((1, HIDDEN)).astype(np.float32),
            "v": rng.standard_normal((HIDDEN, OUT)).astype(np.float32) * 0.3}


def several_steps(w: Dict[str, np.ndarray]) -> Callable[[mlprt.INetworkDefinition], None]:
    """x -> MatMul + bias -> ReLU -> MatMul -> transpose -> Softmax: several steps of several kinds."""
    def populate(network: mlprt.INetworkDefinition) -> None:
        x = network.add_input("x", mlprt.DataType.FLOAT, (-1, IN))
        none = mlprt.MatrixOperation.NONE

        def const(a: np.ndarray) -> mlprt.ITensor:
            return network.add_constant(a.shape, a).get_output(0)
        h = network.add_matrix_multiply(x, none, const(w["w"]), none).get_output(0)
        h = network.add_elementwise(h, const(w["b"]), mlprt.ElementWiseOperation.SUM).get_output(0)
        h = network.add_activation(h, mlprt.ActivationType.RELU).get_output(0)
        o = network.add_matrix_multiply(h, none, const(w["v"]), none).get_output(0)
        shuffle = network.add_shuffle(o)
        shuffle.first_transpose = (1, 0)
        softmax = network.add_softmax(shuffle.get_output(0))
        softmax.axes = 1 << 0
        y = softmax.get_output(0)
        y.name = "y"
        network.mark_output(y)
    return populate


def reference(x: np.ndarray, w: Dict[str, np.ndarray]) -> np.ndarray:
    h = np.maximum(x.astype(np.float64) @ w["w"] + w["b"], 0)
    o = (h @ w["v"]).T
    e = np.exp(o - o.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


@pytest.fixture(scope="module", params=["fp32", "fp16"])
def plan(request: pytest.FixtureRequest) -> Tuple[bytes, str, Dict[str, np.ndarray]]:
    w = weights_for(5)
    built = build(several_steps(w), [PROFILE], fp16=request.param == "fp16")
    assert built is not None
    return bytes(built), request.param, w


def load(plan_bytes: bytes) -> Tuple[mlprt.ICudaEngine, RecordingLogger]:
    logger = RecordingLogger()
    engine = mlprt.Runtime(logger).deserialize_cuda_engine(plan_bytes)
    assert engine is not None, logger.errors()
    return engine, logger


class Bound:
    """A context with device buffers (or pinned arrays) bound once at the largest shape, then
    called again and again with new input values written in place: the replay case."""

    def __init__(self, context: mlprt.IExecutionContext, batch: int, pinned: bool, stream: cuda.Stream) -> None:
        self.context, self.stream, self.pinned = context, stream, pinned
        assert context.set_input_shape("x", (batch, IN))
        self.h_in = cuda.pagelocked_empty((batch, IN), np.float32)
        self.h_out = cuda.pagelocked_empty(tuple(context.get_tensor_shape("y")), np.float32)
        if pinned:
            context.set_tensor_address("x", self.h_in.ctypes.data)
            context.set_tensor_address("y", self.h_out.ctypes.data)
        else:
            self.d_in, self.d_out = cuda.mem_alloc(self.h_in.nbytes), cuda.mem_alloc(self.h_out.nbytes)
            context.set_tensor_address("x", int(self.d_in))
            context.set_tensor_address("y", int(self.d_out))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.h_in[...] = x
        self.h_out.fill(np.nan)
        if not self.pinned:
            cuda.memcpy_htod_async(self.d_in, self.h_in, self.stream)
        assert self.context.execute_async_v3(self.stream.handle)
        if not self.pinned:
            cuda.memcpy_dtoh_async(self.h_out, self.d_out, self.stream)
        self.stream.synchronize()
        return self.h_out.copy()


def capture_lines(logger: RecordingLogger) -> List[str]:
    return [m for _, m in logger.messages if "kernel launch(es) captured" in m or "runs its launcher on every call" in m]


@pytest.mark.parametrize("pinned", [False, True], ids=["device", "pinned"])
@pytest.mark.parametrize("batch", [1, 7, 64])
def test_replays_equal_the_launchers_bit_for_bit(plan: Tuple[bytes, str, Dict[str, np.ndarray]], batch: int,
                                                 pinned: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    plan_bytes, precision, w = plan
    engine, logger = load(plan_bytes)
    stream = cuda.Stream()
    replaying = Bound(engine.create_execution_context(), batch, pinned, stream)
    monkeypatch.setenv("MLPRT_LAUNCH_CAPTURE", "0")
    launching = Bound(engine.create_execution_context(), batch, pinned, stream)
    rng = np.random.default_rng(batch)
    tolerance = 1e-5 if precision == "fp32" else 1e-2
    for _ in range(6):
        x = rng.standard_normal((batch, IN)).astype(np.float32)
        got = replaying(x)
        np.testing.assert_array_equal(got, launching(x))
        expected = reference(x, w)
        assert np.abs(got - expected).max() <= tolerance * np.abs(expected).max()
    # One capture per step, made by the replaying context's first call; none by the other.
    lines = capture_lines(logger)
    assert len(lines) == engine.num_layers, lines
    assert len({line.split("'")[1] for line in lines}) == engine.num_layers, lines


def test_a_new_binding_after_replays_writes_to_the_new_memory(plan: Tuple[bytes, str, Dict[str, np.ndarray]]) -> None:
    engine, _ = load(plan[0])
    stream = cuda.Stream()
    bound = Bound(engine.create_execution_context(), 5, False, stream)
    rng = np.random.default_rng(3)
    first = rng.standard_normal((5, IN)).astype(np.float32)
    for _ in range(3):
        before = bound(first)
    moved_out = cuda.mem_alloc(bound.h_out.nbytes)
    bound.context.set_tensor_address("y", int(moved_out))
    second = rng.standard_normal((5, IN)).astype(np.float32)
    bound.h_in[...] = second
    cuda.memcpy_htod_async(bound.d_in, bound.h_in, stream)
    assert bound.context.execute_async_v3(stream.handle)
    new, old = np.empty_like(bound.h_out), np.empty_like(bound.h_out)
    cuda.memcpy_dtoh_async(new, moved_out, stream)
    cuda.memcpy_dtoh_async(old, bound.d_out, stream)
    stream.synchronize()
    np.testing.assert_array_equal(old, before)  # the old output was not written again
    np.testing.assert_array_equal(new, infer(engine.create_execution_context(), {"x": second}, stream)["y"])


def test_a_new_shape_after_replays_captures_again(plan: Tuple[bytes, str, Dict[str, np.ndarray]]) -> None:
    engine, logger = load(plan[0])
    context = engine.create_execution_context()
    stream = cuda.Stream()
    rng = np.random.default_rng(4)
    reference_context = engine.create_execution_context()
    for batch in (3, 3, 3, 17, 17, 3):
        x = rng.standard_normal((batch, IN)).astype(np.float32)
        got = infer(context, {"x": x}, stream)["y"]  # new allocations each call: new bindings
        assert got.shape == (OUT, batch)
        np.testing.assert_array_equal(got, infer(reference_context, {"x": x}, stream)["y"])
    bound = Bound(context, 17, False, stream)
    messages_before = len(capture_lines(logger))
    x = rng.standard_normal((17, IN)).astype(np.float32)
    results = [bound(x) for _ in range(4)]
    assert all(np.array_equal(results[0], r) for r in results[1:])
    # Binding once and calling four times captures once per step, not once per call.
    new_lines = capture_lines(logger)[messages_before:]
    assert len(new_lines) == engine.num_layers, new_lines
