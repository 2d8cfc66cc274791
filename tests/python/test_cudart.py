"""mlprt.cudart: cuda-python's cudart calls on mlprt memory, errors as codes, copies round-trip."""
from __future__ import annotations

import ctypes

import numpy as np
import pytest

import mlprt
import mlprt.driver as cuda
from mlprt import cudart
from engine_helpers import infer
from zoo import STATIC_BATCH, ZOO, zoo_exports  # noqa: F401  (zoo_exports: fixture)

OK = cudart.cudaError_t.cudaSuccess
KIND = cudart.cudaMemcpyKind


def ok(result):
    """The value of a successful call (asserts success)."""
    assert result[0] == OK, (result, cudart.last_error_detail())
    return result[1] if len(result) > 1 else None


def host_array(ptr: int, count: int, ctype=ctypes.c_float) -> np.ndarray:
    """The tutorials' view of cudaMallocHost memory."""
    return np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctype)), (count,))


@pytest.fixture(autouse=True)
def clear_last_error():
    cudart.cudaGetLastError()
    yield
    cudart.cudaGetLastError()


def test_malloc_host_memory_is_pinned_and_viewable(rng):
    ptr = ok(cudart.cudaMallocHost(4 * 100))
    assert isinstance(ptr, int) and ptr != 0
    view = host_array(ptr, 100)
    data = rng.standard_normal(100).astype(np.float32)
    view[:] = data
    np.testing.assert_array_equal(host_array(ptr, 100), data)
    # The memory is an mlprt pinned buffer.
    assert any(cuda.is_pinned(a) and a.ctypes.data == ptr for a in cudart._state.host.values())
    assert ok(cudart.cudaFreeHost(ptr)) is None


def test_device_pointer_is_mlprt_address(rng):
    ptr = ok(cudart.cudaMalloc(256))
    data = rng.integers(0, 255, 256, dtype=np.uint8)
    cuda.memcpy_htod(ptr, data)          # usable with mlprt.driver
    np.testing.assert_array_equal(cuda.from_device(ptr, (256,), np.uint8), data)
    ok(cudart.cudaFree(ptr))
    with pytest.raises(ValueError):
        cuda.memcpy_htod(ptr, data)      # freed: mlprt refuses the address


@pytest.mark.parametrize("n", [1, 7, 1000, 65537])
def test_round_trip_sync_pinned(rng, n):
    src = ok(cudart.cudaMallocHost(4 * n))
    dst = ok(cudart.cudaMallocHost(4 * n))
    dev = ok(cudart.cudaMalloc(4 * n))
    data = rng.standard_normal(n).astype(np.float32)
    host_array(src, n)[:] = data
    host_array(dst, n)[:] = 0
    ok(cudart.cudaMemcpy(dev, src, 4 * n, KIND.cudaMemcpyHostToDevice))
    ok(cudart.cudaMemcpy(dst, dev, 4 * n, KIND.cudaMemcpyDeviceToHost))
    np.testing.assert_array_equal(host_array(dst, n), data)
    for p in (src, dst):
        ok(cudart.cudaFreeHost(p))
    ok(cudart.cudaFree(dev))


def test_round_trip_async_on_stream_with_dtod_and_offsets(rng):
    n = 4096
    stream = ok(cudart.cudaStreamCreate())
    assert isinstance(stream, int)
    src, dst = ok(cudart.cudaMallocHost(n)), ok(cudart.cudaMallocHost(n))
    a, b = ok(cudart.cudaMalloc(n)), ok(cudart.cudaMalloc(n))
    data = rng.integers(0, 256, n, dtype=np.uint8)
    host_array(src, n, ctypes.c_uint8)[:] = data
    host_array(dst, n, ctypes.c_uint8)[:] = 0
    ok(cudart.cudaMemcpyAsync(a, src, n, KIND.cudaMemcpyHostToDevice, stream))
    ok(cudart.cudaMemcpyAsync(b, a, n, KIND.cudaMemcpyDeviceToDevice, stream))
    # Second half of b back into the first half of dst (pointer arithmetic on both sides).
    ok(cudart.cudaMemcpyAsync(dst, b + n // 2, n // 2, KIND.cudaMemcpyDeviceToHost, stream))
    ok(cudart.cudaStreamSynchronize(stream))
    out = host_array(dst, n, ctypes.c_uint8)
    np.testing.assert_array_equal(out[:n // 2], data[n // 2:])
    assert not out[n // 2:].any()
    ok(cudart.cudaMemcpyAsync(dst + 100, a + 200, 50, KIND.cudaMemcpyDefault, stream))
    ok(cudart.cudaStreamSynchronize(stream))
    np.testing.assert_array_equal(out[100:150], data[200:250])
    ok(cudart.cudaStreamDestroy(stream))
    for p in (src, dst):
        ok(cudart.cudaFreeHost(p))
    for p in (a, b):
        ok(cudart.cudaFree(p))


def test_numpy_arrays_as_host_operands(rng):
    n = 333
    data = rng.standard_normal(n)
    dev = ok(cudart.cudaMalloc(data.nbytes))
    stream = ok(cudart.cudaStreamCreate())
    ok(cudart.cudaMemcpyAsync(dev, data, data.nbytes, KIND.cudaMemcpyHostToDevice, stream))
    pageable = np.zeros_like(data)
    ok(cudart.cudaMemcpyAsync(pageable, dev, data.nbytes, KIND.cudaMemcpyDeviceToHost, stream))
    ok(cudart.cudaStreamSynchronize(stream))
    np.testing.assert_array_equal(pageable, data)
    # An as_array view of cudaMallocHost memory (what tutorials pass as "host") works too.
    ptr = ok(cudart.cudaMallocHost(data.nbytes))
    view = np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_double)), (n,))
    ok(cudart.cudaMemcpyAsync(view, dev, data.nbytes, KIND.cudaMemcpyDeviceToHost, stream))
    ok(cudart.cudaStreamSynchronize(stream))
    np.testing.assert_array_equal(view, data)
    ok(cudart.cudaStreamDestroy(stream))
    ok(cudart.cudaFreeHost(ptr))
    ok(cudart.cudaFree(dev))


def test_host_to_host_and_memset(rng):
    data = rng.standard_normal(64).astype(np.float32)
    ptr = ok(cudart.cudaMallocHost(data.nbytes))
    ok(cudart.cudaMemcpy(ptr, data, data.nbytes, KIND.cudaMemcpyHostToHost))
    other = np.zeros_like(data)
    ok(cudart.cudaMemcpy(other.ctypes.data, ptr, data.nbytes, KIND.cudaMemcpyHostToHost))
    np.testing.assert_array_equal(other, data)
    dev = ok(cudart.cudaMalloc(16))
    ok(cudart.cudaMemset(dev, 0xAB, 16))
    np.testing.assert_array_equal(cuda.from_device(dev, (16,), np.uint8), np.full(16, 0xAB, np.uint8))
    ok(cudart.cudaFreeHost(ptr))
    ok(cudart.cudaFree(dev))


def test_zero_sizes_and_null_frees():
    assert cudart.cudaMalloc(0) == (OK, 0)
    assert cudart.cudaMallocHost(0) == (OK, 0)
    assert cudart.cudaFree(0) == (OK,)
    assert cudart.cudaFreeHost(0) == (OK,)


def test_errors_are_codes_and_module_stays_usable(rng):
    E = cudart.cudaError_t
    dev = ok(cudart.cudaMalloc(64))
    host = ok(cudart.cudaMallocHost(64))
    cases = [
        (lambda: cudart.cudaMalloc(-1), E.cudaErrorInvalidValue),
        (lambda: cudart.cudaMalloc("64"), E.cudaErrorInvalidValue),
        (lambda: cudart.cudaMalloc(1 << 50), E.cudaErrorMemoryAllocation),
        (lambda: cudart.cudaMallocHost(1 << 50), E.cudaErrorMemoryAllocation),
        (lambda: cudart.cudaFree(dev + 8), E.cudaErrorInvalidDevicePointer),
        (lambda: cudart.cudaFree(12345), E.cudaErrorInvalidDevicePointer),
        (lambda: cudart.cudaFreeHost(host + 1), E.cudaErrorInvalidValue),
        (lambda: cudart.cudaMemcpy(dev, host, 65, KIND.cudaMemcpyHostToDevice), E.cudaErrorInvalidValue),
        (lambda: cudart.cudaMemcpy(dev + 32, host, 64, KIND.cudaMemcpyHostToDevice), E.cudaErrorInvalidValue),
        (lambda: cudart.cudaMemcpy(dev, 0x1234, 4, KIND.cudaMemcpyHostToDevice), E.cudaErrorInvalidValue),
        (lambda: cudart.cudaMemcpy(host, 0x1234 + (1 << 52), 4, KIND.cudaMemcpyDeviceToHost), E.cudaErrorInvalidValue),
        (lambda: cudart.cudaMemcpy(dev, host, -4, KIND.cudaMemcpyHostToDevice), E.cudaErrorInvalidValue),
        (lambda: cudart.cudaMemcpy(dev, host, 4, 17), E.cudaErrorInvalidMemcpyDirection),
        (lambda: cudart.cudaMemcpy(dev, np.zeros(2, np.float32), 16, KIND.cudaMemcpyHostToDevice),
         E.cudaErrorInvalidValue),
        (lambda: cudart.cudaMemcpy(0, host, 4, KIND.cudaMemcpyHostToHost), E.cudaErrorInvalidValue),
        (lambda: cudart.cudaMemcpy(host, dev, 4, KIND.cudaMemcpyHostToHost), E.cudaErrorInvalidValue),
        (lambda: cudart.cudaMemcpyAsync(dev, host, 4, KIND.cudaMemcpyHostToDevice, 987654321),
         E.cudaErrorInvalidResourceHandle),
        (lambda: cudart.cudaStreamSynchronize(987654321), E.cudaErrorInvalidResourceHandle),
        (lambda: cudart.cudaStreamDestroy(987654321), E.cudaErrorInvalidResourceHandle),
    ]
    for call, expected in cases:
        result = call()
        assert result[0] == expected, (result, expected)
        assert cudart.cudaPeekAtLastError() == (expected,)
        assert cudart.cudaGetLastError() == (expected,)
        assert cudart.cudaGetLastError() == (OK,)
    # Value-returning calls keep their two-item shape on failure, so `err, ptr = ...` works.
    err, value = cudart.cudaMalloc(-1)
    assert err == E.cudaErrorInvalidValue and value is None
    # Still usable: the same buffers work.
    data = rng.integers(0, 256, 64, dtype=np.uint8)
    host_array(host, 64, ctypes.c_uint8)[:] = data
    ok(cudart.cudaMemcpy(dev, host, 64, KIND.cudaMemcpyHostToDevice))
    np.testing.assert_array_equal(cuda.from_device(dev, (64,), np.uint8), data)
    ok(cudart.cudaFree(dev))
    assert cudart.cudaFree(dev) == (E.cudaErrorInvalidDevicePointer,)
    ok(cudart.cudaFreeHost(host))
    assert cudart.cudaFreeHost(host) == (E.cudaErrorInvalidValue,)
    assert cudart.cudaMemcpy(dev, data, 4, KIND.cudaMemcpyHostToDevice)[0] == E.cudaErrorInvalidValue


def test_error_names_and_strings():
    assert cudart.cudaGetErrorName(cudart.cudaError_t.cudaErrorInvalidValue) == (OK, b"cudaErrorInvalidValue")
    assert cudart.cudaGetErrorString(cudart.cudaError_t.cudaErrorMemoryAllocation) == (OK, b"out of memory")
    assert cudart.cudaGetErrorName(123456)[0] == cudart.cudaError_t.cudaErrorInvalidValue


def test_streams_and_device_calls():
    stream = ok(cudart.cudaStreamCreate())
    assert stream != 0 and stream == cuda.Stream.from_handle(stream).handle
    ok(cudart.cudaStreamSynchronize(stream))
    ok(cudart.cudaStreamSynchronize(0))
    ok(cudart.cudaDeviceSynchronize())
    ok(cudart.cudaStreamDestroy(stream))
    assert ok(cudart.cudaGetDeviceCount()) == len(mlprt.devices())
    index = ok(cudart.cudaGetDevice())
    assert index == mlprt.current_device().index
    ok(cudart.cudaSetDevice(index))
    assert cudart.cudaSetDevice(10_000) == (cudart.cudaError_t.cudaErrorInvalidDevice,)


def test_cudart_buffers_run_an_engine_like_tensorrt10(zoo_exports):
    """cudaMalloc addresses and cudaStreamCreate handles work with set_tensor_address and
    execute_async_v3, and give the same outputs as mlprt.driver buffers."""
    spec = ZOO["simple_mlp"]
    logger = mlprt.Logger(mlprt.Logger.WARNING)
    builder = mlprt.Builder(logger)
    network = builder.create_network(0)
    parser = mlprt.OnnxParser(network, logger)
    assert parser.parse_from_file(str(zoo_exports.get("simple_mlp", "legacy", False)))
    plan = builder.build_serialized_network(network, builder.create_builder_config())
    engine = mlprt.Runtime(logger).deserialize_cuda_engine(bytes(plan))
    feeds = spec.example_inputs(STATIC_BATCH, seed=11)
    expected = infer(engine.create_execution_context(), feeds)["output"]

    context = engine.create_execution_context()
    stream = ok(cudart.cudaStreamCreate())
    x, y = feeds["input"], np.empty((STATIC_BATCH, 10), np.float32)
    h_in, h_out = ok(cudart.cudaMallocHost(x.nbytes)), ok(cudart.cudaMallocHost(y.nbytes))
    d_in, d_out = ok(cudart.cudaMalloc(x.nbytes)), ok(cudart.cudaMalloc(y.nbytes))
    host_array(h_in, x.size)[:] = x.ravel()
    context.set_tensor_address("input", d_in)
    context.set_tensor_address("output", d_out)
    ok(cudart.cudaMemcpyAsync(d_in, h_in, x.nbytes, KIND.cudaMemcpyHostToDevice, stream))
    assert context.execute_async_v3(stream)
    ok(cudart.cudaMemcpyAsync(h_out, d_out, y.nbytes, KIND.cudaMemcpyDeviceToHost, stream))
    ok(cudart.cudaStreamSynchronize(stream))
    np.testing.assert_array_equal(host_array(h_out, y.size).reshape(y.shape), expected)
    for p in (h_in, h_out):
        ok(cudart.cudaFreeHost(p))
    for p in (d_in, d_out):
        ok(cudart.cudaFree(p))
    ok(cudart.cudaStreamDestroy(stream))
