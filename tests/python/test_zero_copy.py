"""Zero-copy inputs and outputs: pinned host arrays bound with set_tensor_address.

Kernels that can (the fused MLP) read and write pinned memory through its address where the
device allows it (the probe of host_access.h: PoCL's CPU device does); everything else, and every
device where the probe fails or MLPRT_HOST_ADDRESSING=0, is copied through the device. Either
way the results are exactly those of the tutorial's memcpy path.
"""
from __future__ import annotations

import gc
import json
from typing import Callable, Dict, List, Tuple

import numpy as np
import pytest

import mlprt
import mlprt.driver as cuda
from mlprt import cudart

from engine_helpers import RecordingLogger, build, infer

IN, OUT = 784, 10


def mlp_weights(rng: np.random.Generator) -> Dict[str, np.ndarray]:
    return {"w1": rng.standard_normal((IN, 32)).astype(np.float32) * 0.05,
            "b1": rng.standard_normal((1, 32)).astype(np.float32),
            "w2": rng.standard_normal((32, OUT)).astype(np.float32) * 0.2,
            "b2": rng.standard_normal((1, OUT)).astype(np.float32)}


def dense(network: mlprt.INetworkDefinition, x: mlprt.ITensor, w: np.ndarray, b: np.ndarray) -> mlprt.ITensor:
    weights = network.add_constant(w.shape, w).get_output(0)
    product = network.add_matrix_multiply(x, mlprt.MatrixOperation.NONE, weights,
                                          mlprt.MatrixOperation.NONE).get_output(0)
    bias = network.add_constant(b.shape, b).get_output(0)
    return network.add_elementwise(product, bias, mlprt.ElementWiseOperation.SUM).get_output(0)


def tutorial_mlp(weights: Dict[str, np.ndarray]) -> Callable[[mlprt.INetworkDefinition], None]:
    """The tutorial's 784-32-10 MLP, which the builder may run as one FusedMLP step."""
    def populate(network: mlprt.INetworkDefinition) -> None:
        x = network.add_input("x", mlprt.DataType.FLOAT, (-1, IN))
        hidden = network.add_activation(dense(network, x, weights["w1"], weights["b1"]),
                                        mlprt.ActivationType.RELU).get_output(0)
        y = dense(network, hidden, weights["w2"], weights["b2"])
        y.name = "y"
        network.mark_output(y)
    return populate


def softmax_net(network: mlprt.INetworkDefinition) -> None:
    """A network no kernel of which reads pinned memory directly: always copied."""
    x = network.add_input("x", mlprt.DataType.FLOAT, (-1, 37))
    layer = network.add_softmax(x)
    layer.axes = 1 << 1
    y = layer.get_output(0)
    y.name = "y"
    network.mark_output(y)


def reference_mlp(x: np.ndarray, weights: Dict[str, np.ndarray]) -> np.ndarray:
    hidden = np.maximum(x.astype(np.float64) @ weights["w1"] + weights["b1"], 0)
    return hidden @ weights["w2"] + weights["b2"]


PROFILE = {"x": ((1, IN), (8, IN), (64, IN))}


@pytest.fixture(scope="module")
def weights() -> Dict[str, np.ndarray]:
    return mlp_weights(np.random.default_rng(20261121))


@pytest.fixture(scope="module", params=["fp32", "fp16"])
def mlp_plan(request: pytest.FixtureRequest, weights: Dict[str, np.ndarray]) -> Tuple[bytes, str]:
    plan = build(tutorial_mlp(weights), [PROFILE], fp16=request.param == "fp16")
    assert plan is not None
    return bytes(plan), request.param


def load(plan: bytes) -> Tuple[mlprt.ICudaEngine, RecordingLogger]:
    logger = RecordingLogger()
    engine = mlprt.Runtime(logger).deserialize_cuda_engine(plan)
    assert engine is not None, logger.errors()
    return engine, logger


def fused_at(engine: mlprt.ICudaEngine, elements: int) -> bool:
    """Whether the engine's fused MLP step runs its fused kernel (not its products one at a time)
    for an output of ``elements`` elements, by its tactic ranges."""
    inspector = engine.create_engine_inspector()
    for index in range(engine.num_layers):
        layer = json.loads(inspector.get_layer_information(index, mlprt.LayerInformationFormat.JSON))
        if layer["LayerType"] != "FusedMLP":
            continue
        tactic = layer["TacticName"]
        for entry in layer["TacticRanges"]:
            if entry["UpToOutputElements"] is None or elements <= entry["UpToOutputElements"]:
                tactic = entry["Tactic"]
                break
        return tactic.startswith("fused_mlp_r")
    return False


def transfer_lines(logger: RecordingLogger, since: int = 0) -> List[str]:
    return [m for _, m in logger.messages[since:] if "': pinned host memory" in m]


def zero_copy_infer(context: mlprt.IExecutionContext, x: np.ndarray, stream: cuda.Stream,
                    use_device_pointer: bool = False) -> np.ndarray:
    """One inference with pinned arrays bound as the I/O tensors: no memcpy calls."""
    assert context.set_input_shape("x", x.shape)
    h_in = cuda.pagelocked_empty(x.shape, np.float32, mem_flags=cuda.host_alloc_flags.DEVICEMAP)
    h_out = cuda.pagelocked_empty(tuple(context.get_tensor_shape("y")), np.float32)
    h_in[...] = x
    h_out.fill(np.nan)
    address_in = h_in.base.get_device_pointer() if use_device_pointer else h_in.ctypes.data
    assert address_in == h_in.ctypes.data   # pinned memory is addressed by its host address
    assert context.set_tensor_address("x", address_in)
    assert context.set_tensor_address("y", h_out.ctypes.data)
    assert context.execute_async_v3(stream.handle)
    stream.synchronize()
    return h_out.copy()


@pytest.mark.parametrize("addressing", ["on", "off"])
def test_pinned_io_equals_the_memcpy_path_exactly(mlp_plan: Tuple[bytes, str], weights: Dict[str, np.ndarray],
                                                  addressing: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches 1, 7 and 64 (awkward and full) of random inputs: bit-for-bit the tutorial's
    result, within tolerance of NumPy, through the direct path or the copies as logged: direct
    where the fused kernel runs at that batch (a fused step may run its products at others)."""
    if addressing == "off":
        monkeypatch.setenv("MLPRT_HOST_ADDRESSING", "0")
    plan, precision = mlp_plan
    engine, logger = load(plan)
    zero_copy, tutorial = engine.create_execution_context(), engine.create_execution_context()
    stream = cuda.Stream()
    rng = np.random.default_rng(7)
    for batch in (1, 7, 64, 7):
        since = len(logger.messages)
        x = rng.standard_normal((batch, IN)).astype(np.float32)
        got = zero_copy_infer(zero_copy, x, stream, use_device_pointer=batch == 7)
        want = infer(tutorial, {"x": x}, stream)["y"]
        np.testing.assert_array_equal(got, want)
        expected = reference_mlp(x, weights)
        tolerance = 1e-5 if precision == "fp32" else 1e-2
        assert np.abs(got - expected).max() <= tolerance * np.abs(expected).max()
        lines = transfer_lines(logger, since)
        direct = addressing == "on" and fused_at(engine, batch * OUT)
        wanted = "read and written by the kernels directly" if direct else "copied through the device"
        assert lines and all(wanted in line for line in lines), (batch, lines)
        assert any(line.startswith("input 'x'") for line in lines) and any(line.startswith("output 'y'") for line in lines)


def test_steps_that_cannot_read_pinned_memory_get_copies(rng: np.random.Generator) -> None:
    """Softmax reads device buffers only: its pinned input and output are copied, correctly."""
    plan = build(softmax_net, [{"x": ((1, 37), (5, 37), (13, 37))}])
    engine, logger = load(bytes(plan))
    context = engine.create_execution_context()
    stream = cuda.Stream()
    for batch in (1, 13):
        x = rng.standard_normal((batch, 37)).astype(np.float32)
        h_in, h_out = cuda.pagelocked_empty(x.shape, np.float32), cuda.pagelocked_empty(x.shape, np.float32)
        h_in[...] = x
        assert context.set_input_shape("x", x.shape)
        context.set_tensor_address("x", h_in.ctypes.data)
        context.set_tensor_address("y", h_out.ctypes.data)
        assert context.execute_async_v3(stream.handle)
        stream.synchronize()
        e = np.exp(x - x.max(axis=1, keepdims=True))
        np.testing.assert_allclose(h_out, e / e.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-7)
    lines = transfer_lines(logger)
    assert lines and all("copied through the device" in line for line in lines), lines


def test_pinned_input_with_device_output(mlp_plan: Tuple[bytes, str], weights: Dict[str, np.ndarray]) -> None:
    """Bindings mix: a pinned input and a device-allocation output."""
    engine, _ = load(mlp_plan[0])
    context = engine.create_execution_context()
    stream = cuda.Stream()
    x = np.random.default_rng(3).standard_normal((5, IN)).astype(np.float32)
    h_in = cuda.pagelocked_empty(x.shape, np.float32)
    h_in[...] = x
    d_out = cuda.mem_alloc(5 * OUT * 4)
    assert context.set_input_shape("x", x.shape)
    context.set_tensor_address("x", h_in.ctypes.data)
    context.set_tensor_address("y", int(d_out))
    context.execute_async_v3(stream.handle)
    out = np.empty((5, OUT), np.float32)
    cuda.memcpy_dtoh_async(out, d_out, stream)
    stream.synchronize()
    np.testing.assert_array_equal(out, infer(engine.create_execution_context(), {"x": x}, stream)["y"])


def test_rebinding_to_other_arrays_and_offsets(mlp_plan: Tuple[bytes, str]) -> None:
    """A new address (another array, or an offset inside one) takes effect on the next call."""
    engine, _ = load(mlp_plan[0])
    context = engine.create_execution_context()
    stream = cuda.Stream()
    rng = np.random.default_rng(11)
    big_in = cuda.pagelocked_empty((3, 4, IN), np.float32)
    big_in[...] = rng.standard_normal(big_in.shape)
    big_out = cuda.pagelocked_zeros((3, 4, OUT), np.float32)
    assert context.set_input_shape("x", (4, IN))
    for i in (2, 0, 1):
        context.set_tensor_address("x", big_in[i].ctypes.data)
        context.set_tensor_address("y", big_out[i].ctypes.data)
        context.execute_async_v3(stream.handle)
    stream.synchronize()
    for i in range(3):
        want = infer(engine.create_execution_context(), {"x": np.array(big_in[i])}, stream)["y"]
        np.testing.assert_array_equal(big_out[i], want)


def test_dropping_the_arrays_before_synchronize_is_safe(mlp_plan: Tuple[bytes, str]) -> None:
    """The stream keeps pinned memory that queued kernels use alive until they have run."""
    engine, _ = load(mlp_plan[0])
    context = engine.create_execution_context()
    stream = cuda.Stream()
    for _ in range(3):
        h_in = cuda.pagelocked_empty((64, IN), np.float32)
        h_in[...] = 1.0
        h_out = cuda.pagelocked_empty((64, OUT), np.float32)
        assert context.set_input_shape("x", h_in.shape)
        context.set_tensor_address("x", h_in.ctypes.data)
        context.set_tensor_address("y", h_out.ctypes.data)
        context.execute_async_v3(stream.handle)
        del h_in, h_out
        gc.collect()
    stream.synchronize()
    x = np.full((2, IN), 0.5, np.float32)
    assert np.isfinite(zero_copy_infer(context, x, stream)).all()   # still usable


def test_too_small_pinned_array_is_refused_naming_the_tensor(mlp_plan: Tuple[bytes, str]) -> None:
    engine, _ = load(mlp_plan[0])
    context = engine.create_execution_context()
    stream = cuda.Stream()
    small = cuda.pagelocked_empty((3, IN), np.float32)
    out = cuda.pagelocked_empty((64, OUT), np.float32)
    assert context.set_input_shape("x", (4, IN))
    context.set_tensor_address("x", small.ctypes.data)
    context.set_tensor_address("y", out.ctypes.data)
    with pytest.raises(ValueError, match=r"input 'x': needs 12544 bytes at shape \(4, 784\).* has only 9408 bytes"):
        context.execute_async_v3(stream.handle)
    # An offset near the end of a big enough array is refused the same way.
    context.set_tensor_address("x", out.ctypes.data + out.nbytes - 8)
    with pytest.raises(ValueError, match=r"input 'x': needs 12544 bytes"):
        context.execute_async_v3(stream.handle)
    x = np.random.default_rng(5).standard_normal((4, IN)).astype(np.float32)
    np.testing.assert_array_equal(zero_copy_infer(context, x, stream),
                                  infer(engine.create_execution_context(), {"x": x}, stream)["y"])


def test_pageable_and_freed_memory_is_refused(mlp_plan: Tuple[bytes, str]) -> None:
    """Ordinary NumPy memory is not addressable by kernels; neither is freed pinned memory."""
    engine, _ = load(mlp_plan[0])
    context = engine.create_execution_context()
    stream = cuda.Stream()
    pageable = np.zeros((4, IN), np.float32)
    with pytest.raises(ValueError, match=r"address of 'x': 0x[0-9a-f]+ is neither in a live device allocation "
                                          r"nor in pinned host memory"):
        context.set_tensor_address("x", pageable.ctypes.data)
    pinned = cuda.pagelocked_empty((4, IN), np.float32)
    out = cuda.pagelocked_empty((4, OUT), np.float32)
    assert context.set_input_shape("x", (4, IN))
    context.set_tensor_address("x", pinned.ctypes.data)
    context.set_tensor_address("y", out.ctypes.data)
    del pinned
    gc.collect()
    with pytest.raises(ValueError, match=r"input 'x': address 0x[0-9a-f]+ is neither in a live device allocation "
                                          r"nor in pinned host memory"):
        context.execute_async_v3(stream.handle)
    x = np.ones((4, IN), np.float32)
    assert np.isfinite(zero_copy_infer(context, x, stream)).all()


def test_driver_copies_refuse_pinned_addresses_with_a_reason() -> None:
    """memcpy_* take device addresses; a pinned host address is named as such."""
    pinned = cuda.pagelocked_empty((16,), np.float32)
    with pytest.raises(ValueError, match=r"is pinned host memory, not a device allocation"):
        cuda.memcpy_htod(pinned.ctypes.data, np.zeros(16, np.float32))


def test_host_alloc_flags_and_device_pointer() -> None:
    """pycuda's DEVICEMAP spelling works; unknown bits are refused."""
    array = cuda.pagelocked_zeros((3, 5), np.float16,
                                  mem_flags=cuda.host_alloc_flags.DEVICEMAP | cuda.host_alloc_flags.PORTABLE)
    assert array.base.get_device_pointer() == array.ctypes.data == array.base.ptr
    with pytest.raises(ValueError, match="unknown mem_flags bits 0x10"):
        cuda.pagelocked_empty((3,), np.float32, mem_flags=16)


def test_cudart_mapped_host_memory(mlp_plan: Tuple[bytes, str], weights: Dict[str, np.ndarray]) -> None:
    """cuda-python's zero-copy spelling: cudaHostAlloc(Mapped) + cudaHostGetDevicePointer."""
    engine, _ = load(mlp_plan[0])
    context = engine.create_execution_context()
    err, h_in = cudart.cudaHostAlloc(2 * IN * 4, cudart.cudaHostAllocMapped)
    assert err == cudart.cudaError_t.cudaSuccess
    err, h_out = cudart.cudaHostAlloc(2 * OUT * 4, cudart.cudaHostAllocDefault)
    assert err == cudart.cudaError_t.cudaSuccess
    err, d_in = cudart.cudaHostGetDevicePointer(h_in, 0)
    assert err == cudart.cudaError_t.cudaSuccess and d_in == h_in
    err, d_out = cudart.cudaHostGetDevicePointer(h_out, 0)
    x = np.random.default_rng(9).standard_normal((2, IN)).astype(np.float32)
    err, = cudart.cudaMemcpy(h_in, x, x.nbytes, cudart.cudaMemcpyKind.cudaMemcpyHostToHost)
    assert err == cudart.cudaError_t.cudaSuccess
    err, stream = cudart.cudaStreamCreate()
    assert context.set_input_shape("x", (2, IN))
    context.set_tensor_address("x", d_in)
    context.set_tensor_address("y", d_out)
    assert context.execute_async_v3(stream)
    assert cudart.cudaStreamSynchronize(stream) == (cudart.cudaError_t.cudaSuccess,)
    out = np.empty((2, OUT), np.float32)
    err, = cudart.cudaMemcpy(out, h_out, out.nbytes, cudart.cudaMemcpyKind.cudaMemcpyHostToHost)
    expected = reference_mlp(x, weights)
    tolerance = 1e-5 if mlp_plan[1] == "fp32" else 1e-2
    assert np.abs(out - expected).max() <= tolerance * np.abs(expected).max()
    err, _ = cudart.cudaHostGetDevicePointer(np.zeros(4, np.float32), 0)
    assert err == cudart.cudaError_t.cudaErrorInvalidValue
    err, _ = cudart.cudaHostAlloc(16, 64)
    assert err == cudart.cudaError_t.cudaErrorInvalidValue
    for pointer in (h_in, h_out):
        assert cudart.cudaFreeHost(pointer) == (cudart.cudaError_t.cudaSuccess,)
    cudart.cudaStreamDestroy(stream)
