"""mlprt.cuda: cuda-python's driver-API names (``from cuda import cuda``) on mlprt.cudart's
memory, with (err, value) results and the tutorials' error helper."""
from __future__ import annotations

import ctypes

import numpy as np
import pytest

from mlprt import cuda, cudart

rng = np.random.default_rng(77)
OK = cuda.CUresult.CUDA_SUCCESS


def check_cuda_err(err):
    """The cuda-python tutorials' helper, handling both result types."""
    if isinstance(err, cuda.CUresult):
        if err != cuda.CUresult.CUDA_SUCCESS:
            raise RuntimeError("Cuda Error: {}".format(cuda.cuGetErrorName(err)[1].decode()))
    elif isinstance(err, cudart.cudaError_t):
        if err != cudart.cudaError_t.cudaSuccess:
            raise RuntimeError("Cuda Runtime Error: {}".format(cudart.cudaGetErrorString(err)[1].decode()))
    else:
        raise RuntimeError("Unknown error type: {}".format(err))


def cuda_call(call):
    err, res = call[0], call[1:]
    check_cuda_err(err)
    return res[0] if len(res) == 1 else (res or None)


def test_result_types_are_distinct_and_named_as_in_cuda():
    assert cuda.CUresult.CUDA_SUCCESS == 0 and cuda.CUresult.CUDA_ERROR_INVALID_VALUE == 1
    assert cuda.CUresult.CUDA_ERROR_OUT_OF_MEMORY == 2 and cuda.CUresult.CUDA_ERROR_INVALID_HANDLE == 400
    err, = cuda.cuInit(0)
    assert isinstance(err, cuda.CUresult) and not isinstance(err, cudart.cudaError_t)
    runtime_err = cudart.cudaGetDeviceCount()[0]
    assert isinstance(runtime_err, cudart.cudaError_t) and not isinstance(runtime_err, cuda.CUresult)
    assert cuda.cuGetErrorName(cuda.CUresult.CUDA_ERROR_INVALID_VALUE) == (OK, b"CUDA_ERROR_INVALID_VALUE")
    assert cuda.cuGetErrorString(cuda.CUresult.CUDA_ERROR_OUT_OF_MEMORY) == (OK, b"out of memory")
    assert cuda.cuGetErrorName(12345) == (cuda.CUresult.CUDA_ERROR_INVALID_VALUE, None)


def test_the_error_helper_passes_success_and_raises_failures():
    check_cuda_err(cuda.cuInit(0)[0])
    check_cuda_err(cudart.cudaGetDeviceCount()[0])
    with pytest.raises(RuntimeError, match="Cuda Error: CUDA_ERROR_INVALID_VALUE"):
        cuda_call(cuda.cuMemFree(0x1234))
    with pytest.raises(RuntimeError, match="Cuda Runtime Error: invalid device pointer"):
        cuda_call(cudart.cudaFree(0x1234))
    with pytest.raises(RuntimeError, match="Unknown error type"):
        check_cuda_err(0)


def test_devices_and_contexts():
    count = cuda_call(cuda.cuDeviceGetCount())
    assert count >= 1
    device = cuda_call(cuda.cuDeviceGet(0))
    assert isinstance(device, cuda.CUdevice) and int(device) == 0
    assert cuda_call(cuda.cuDeviceGetName(256, device))
    assert cuda_call(cuda.cuDeviceTotalMem(device)) > 0
    assert cuda.cuDeviceGet(count)[0] == cuda.CUresult.CUDA_ERROR_INVALID_DEVICE
    context = cuda_call(cuda.cuCtxCreate(0, device))
    assert int(cuda_call(cuda.cuCtxGetDevice())) == 0
    assert cuda_call(cuda.cuCtxGetCurrent()) == context
    assert cuda.cuCtxSynchronize() == (OK,)
    params_form = cuda_call(cuda.cuCtxCreate(None, 0, device))  # cuda-python 13's signature
    assert params_form == context
    assert cuda.cuCtxDestroy(context) == (OK,)
    assert cuda.cuCtxDestroy(context) == (cuda.CUresult.CUDA_ERROR_INVALID_HANDLE,)
    assert cuda.cuInit(1) == (cuda.CUresult.CUDA_ERROR_INVALID_VALUE,)


def test_round_trip_through_device_memory_on_a_stream():
    data = rng.standard_normal(1000).astype(np.float32)
    out = np.zeros_like(data)
    stream = cuda_call(cuda.cuStreamCreate(0))
    assert isinstance(stream, cuda.CUstream)
    first = cuda_call(cuda.cuMemAlloc(data.nbytes))
    second = cuda_call(cuda.cuMemAlloc(data.nbytes))
    assert isinstance(first, cuda.CUdeviceptr) and int(first) != 0
    cuda_call(cuda.cuMemcpyHtoDAsync(first, data, data.nbytes, stream))
    cuda_call(cuda.cuMemcpyDtoDAsync(second, first, data.nbytes, stream))
    cuda_call(cuda.cuMemcpyDtoHAsync(out, second, data.nbytes, stream))
    cuda_call(cuda.cuStreamSynchronize(stream))
    assert cuda.cuStreamQuery(stream) == (OK,)
    np.testing.assert_array_equal(out, data)
    cuda_call(cuda.cuMemsetD8(first, 0, data.nbytes))
    cuda_call(cuda.cuMemcpyDtoH(out, first, data.nbytes))
    assert not out.any()
    cuda_call(cuda.cuMemcpyHtoD(first, data, data.nbytes))
    cuda_call(cuda.cuMemcpyDtoH(out, first, data.nbytes))
    np.testing.assert_array_equal(out, data)
    cuda_call(cuda.cuMemFree(first))
    cuda_call(cuda.cuMemFree(second))
    cuda_call(cuda.cuStreamDestroy(stream))
    assert cuda.cuStreamDestroy(stream) == (cuda.CUresult.CUDA_ERROR_INVALID_HANDLE,)


def test_one_memory_shared_with_cudart():
    data = rng.integers(0, 255, 64, dtype=np.uint8)
    # Driver allocation, runtime copy and free; runtime pinned memory, driver copies.
    pointer = cuda_call(cuda.cuMemAlloc(64))
    host = cuda_call(cudart.cudaMallocHost(64))
    view = np.ctypeslib.as_array(ctypes.cast(host, ctypes.POINTER(ctypes.c_uint8)), (64,))
    view[:] = data
    stream = cuda_call(cudart.cudaStreamCreate())
    cuda_call(cuda.cuMemcpyHtoDAsync(pointer, host, 64, stream))
    back = np.zeros(64, np.uint8)
    cuda_call(cudart.cudaMemcpy(back, pointer, 64, cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost))
    np.testing.assert_array_equal(back, data)
    cuda_call(cudart.cudaFree(pointer))
    assert cuda.cuMemFree(pointer) == (cuda.CUresult.CUDA_ERROR_INVALID_VALUE,)
    cuda_call(cuda.cuMemFreeHost(host))
    cuda_call(cuda.cuStreamDestroy(stream))


@pytest.mark.parametrize("call, expected", [
    (lambda: cuda.cuMemAlloc(0), cuda.CUresult.CUDA_ERROR_INVALID_VALUE),
    (lambda: cuda.cuMemAlloc(-5), cuda.CUresult.CUDA_ERROR_INVALID_VALUE),
    (lambda: cuda.cuMemAlloc(1 << 62), cuda.CUresult.CUDA_ERROR_OUT_OF_MEMORY),
    (lambda: cuda.cuStreamCreate(7), cuda.CUresult.CUDA_ERROR_INVALID_VALUE),
    (lambda: cuda.cuStreamSynchronize(987654), cuda.CUresult.CUDA_ERROR_INVALID_HANDLE),
    (lambda: cuda.cuMemcpyHtoD(0, np.zeros(4, np.float32), 16), cuda.CUresult.CUDA_ERROR_INVALID_VALUE),
    (lambda: cuda.cuMemcpyDtoH(np.zeros(2, np.float32), 0x10, 16), cuda.CUresult.CUDA_ERROR_INVALID_VALUE),
])
def test_failures_are_results_not_exceptions(call, expected):
    cudart.cudaGetLastError()  # clears it
    result = call()
    assert result[0] == expected
    if len(result) == 2:
        assert result[1] is None
    # The driver API keeps no last error: cudart's is not touched.
    assert cudart.cudaPeekAtLastError() == (cudart.cudaError_t.cudaSuccess,)
