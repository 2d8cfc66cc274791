"""A driver-API module shaped like cuda-python's ``from cuda import cuda``, on mlprt.

cuda-python tutorials port by changing the import::

    from mlprt import cudart, cuda        # was: from cuda import cudart, cuda

    err, = cuda.cuInit(0)
    err, device = cuda.cuDeviceGet(0)
    err, context = cuda.cuCtxCreate(0, device)
    err, d_input = cuda.cuMemAlloc(h_input.nbytes)          # a CUdeviceptr (an int)
    err, stream = cuda.cuStreamCreate(0)
    err, = cuda.cuMemcpyHtoDAsync(d_input, h_input, h_input.nbytes, stream)
    err, = cuda.cuStreamSynchronize(stream)

Every call returns a tuple whose first item is a :class:`CUresult` (``(err,)`` when the call has
no value, ``(err, value)`` otherwise, ``value`` None after a failure); failures are returned,
never raised, as in cuda-python. The calls are the driver-API names of what :mod:`mlprt.cudart`
does, on the same memory: an address from :func:`cuMemAlloc` can be freed with
``cudart.cudaFree`` and the other way round, a stream from :func:`cuStreamCreate` is an mlprt
stream handle (``execute_async_v3`` takes it), and host memory is a NumPy array or an address
from :func:`cuMemAllocHost` / ``cudart.cudaMallocHost``.

OpenCL has no context stack: :func:`cuCtxCreate` makes the device current for what is made
afterwards (as :func:`cudart.cudaSetDevice` does) and returns a handle that
:func:`cuCtxDestroy` accepts. :func:`cuInit` checks that an OpenCL device exists; the other
calls do not require it first (CUDA would answer ``CUDA_ERROR_NOT_INITIALIZED``).
"""
from __future__ import annotations

import enum
import threading
from typing import Any, Callable, Dict, Optional, Tuple

from mlprt import _core, cudart
from mlprt.cudart import cudaError_t, cudaMemcpyKind

__all__ = [
    "CUcontext",
    "CUdevice",
    "CUdeviceptr",
    "CUresult",
    "CUstream",
    "CUstream_flags",
    "cuCtxCreate",
    "cuCtxDestroy",
    "cuCtxGetCurrent",
    "cuCtxGetDevice",
    "cuCtxSetCurrent",
    "cuCtxSynchronize",
    "cuDeviceGet",
    "cuDeviceGetCount",
    "cuDeviceGetName",
    "cuDevicePrimaryCtxRelease",
    "cuDevicePrimaryCtxRetain",
    "cuDeviceTotalMem",
    "cuDriverGetVersion",
    "cuGetErrorName",
    "cuGetErrorString",
    "cuInit",
    "cuMemAlloc",
    "cuMemAllocHost",
    "cuMemFree",
    "cuMemFreeHost",
    "cuMemcpyDtoD",
    "cuMemcpyDtoDAsync",
    "cuMemcpyDtoH",
    "cuMemcpyDtoHAsync",
    "cuMemcpyHtoD",
    "cuMemcpyHtoDAsync",
    "cuMemsetD8",
    "cuMemsetD8Async",
    "cuStreamCreate",
    "cuStreamDestroy",
    "cuStreamQuery",
    "cuStreamSynchronize",
]


class CUresult(enum.IntEnum):
    """The result codes mlprt's driver calls return (names and values as in CUDA's driver API)."""

    CUDA_SUCCESS = 0
    CUDA_ERROR_INVALID_VALUE = 1
    CUDA_ERROR_OUT_OF_MEMORY = 2
    CUDA_ERROR_NOT_INITIALIZED = 3
    CUDA_ERROR_NO_DEVICE = 100
    CUDA_ERROR_INVALID_DEVICE = 101
    CUDA_ERROR_INVALID_CONTEXT = 201
    CUDA_ERROR_INVALID_HANDLE = 400
    CUDA_ERROR_NOT_READY = 600
    CUDA_ERROR_UNKNOWN = 999


_RESULT_TEXT: Dict[CUresult, str] = {
    CUresult.CUDA_SUCCESS: "no error",
    CUresult.CUDA_ERROR_INVALID_VALUE: "invalid argument",
    CUresult.CUDA_ERROR_OUT_OF_MEMORY: "out of memory",
    CUresult.CUDA_ERROR_NOT_INITIALIZED: "initialization error",
    CUresult.CUDA_ERROR_NO_DEVICE: "no CUDA-capable device is detected",
    CUresult.CUDA_ERROR_INVALID_DEVICE: "invalid device ordinal",
    CUresult.CUDA_ERROR_INVALID_CONTEXT: "invalid device context",
    CUresult.CUDA_ERROR_INVALID_HANDLE: "invalid resource handle",
    CUresult.CUDA_ERROR_NOT_READY: "device not ready",
    CUresult.CUDA_ERROR_UNKNOWN: "unknown error",
}

# The runtime error a shared cudart helper raised -> the driver's result for it.
_FROM_RUNTIME: Dict[cudaError_t, CUresult] = {
    cudaError_t.cudaSuccess: CUresult.CUDA_SUCCESS,
    cudaError_t.cudaErrorInvalidValue: CUresult.CUDA_ERROR_INVALID_VALUE,
    cudaError_t.cudaErrorMemoryAllocation: CUresult.CUDA_ERROR_OUT_OF_MEMORY,
    cudaError_t.cudaErrorInitializationError: CUresult.CUDA_ERROR_NOT_INITIALIZED,
    cudaError_t.cudaErrorInvalidDevicePointer: CUresult.CUDA_ERROR_INVALID_VALUE,
    cudaError_t.cudaErrorInvalidMemcpyDirection: CUresult.CUDA_ERROR_INVALID_VALUE,
    cudaError_t.cudaErrorInvalidDevice: CUresult.CUDA_ERROR_INVALID_DEVICE,
    cudaError_t.cudaErrorInvalidResourceHandle: CUresult.CUDA_ERROR_INVALID_HANDLE,
    cudaError_t.cudaErrorUnknown: CUresult.CUDA_ERROR_UNKNOWN,
}


class CUstream_flags(enum.IntEnum):  # noqa: N801 (cuda-python's name)
    """Flags of :func:`cuStreamCreate`; mlprt streams never wait for the default stream, so
    both behave as ``CU_STREAM_NON_BLOCKING``."""

    CU_STREAM_DEFAULT = 0
    CU_STREAM_NON_BLOCKING = 1


class _Handle(int):
    """An integer handle that prints with its type's name, as cuda-python's handle types do;
    ``int(handle)`` is the address or index it stands for."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {int(self):#x}>"

    def getPtr(self) -> int:  # noqa: N802 (cuda-python's name)
        """The handle's value (cuda-python returns the address of the handle; mlprt's handles
        are plain integers, so their value is what every call takes)."""
        return int(self)


class CUdeviceptr(_Handle):
    """A device address (an mlprt device address: ``set_tensor_address`` takes it)."""


class CUstream(_Handle):
    """A stream (an mlprt stream handle: ``execute_async_v3`` takes it; 0 is the default
    stream)."""


class CUdevice(_Handle):
    """A device, by its flat index in ``mlprt.devices()``."""

    def __repr__(self) -> str:
        return f"<CUdevice {int(self)}>"


class CUcontext(_Handle):
    """What :func:`cuCtxCreate` returns: the device it made current (index + 1; 0 is no
    context)."""


_lock = threading.Lock()
_contexts: Dict[int, int] = {}  # context handle -> device index, for the contexts made here


def _run(function: Callable[..., Any], *args: Any, has_value: bool = False) -> Tuple[Any, ...]:
    """``function(*args)`` with failures turned into results, as cudart's calls do, without
    touching cudart's last error (the driver API has none)."""
    failed: Optional[CUresult] = None
    try:
        value = function(*args)
    except cudart._Failure as failure:  # noqa: SLF001 (one implementation of memory)
        failed = _FROM_RUNTIME[failure.code]
    except MemoryError:
        failed = CUresult.CUDA_ERROR_OUT_OF_MEMORY
    except (ValueError, TypeError, OverflowError, IndexError):
        failed = CUresult.CUDA_ERROR_INVALID_VALUE
    except _core.Error:
        failed = CUresult.CUDA_ERROR_UNKNOWN
    if failed is not None:
        return (failed, None) if has_value else (failed,)
    return (CUresult.CUDA_SUCCESS, value) if has_value else (CUresult.CUDA_SUCCESS,)


def _invalid(detail: str) -> cudart._Failure:  # noqa: SLF001
    return cudart._Failure(cudaError_t.cudaErrorInvalidValue, detail)  # noqa: SLF001


def _flags_zero(flags: Any, call: str) -> None:
    if isinstance(flags, bool) or not hasattr(flags, "__index__") or int(flags) != 0:
        raise _invalid(f"{call}: flags must be 0, got {flags!r}")


# Initialization, devices, contexts -----------------------------------------------------------

def _init(flags: Any) -> None:
    _flags_zero(flags, "cuInit")
    if not _core.devices():
        raise cudart._Failure(cudaError_t.cudaErrorInitializationError, "no OpenCL device")  # noqa: SLF001


def cuInit(Flags: int) -> Tuple[CUresult]:  # noqa: N802,N803 (CUDA's names)
    """Checks that an OpenCL device exists; ``(err,)``. ``Flags`` must be 0, as in CUDA."""
    result = _run(_init, Flags)
    if result[0] == CUresult.CUDA_ERROR_NOT_INITIALIZED:
        return (CUresult.CUDA_ERROR_NO_DEVICE,)
    return result


def cuDriverGetVersion() -> Tuple[CUresult, int]:  # noqa: N802
    """``(err, version)``: the CUDA driver version this module mirrors (12000: CUDA 12's calls
    and names)."""
    return (CUresult.CUDA_SUCCESS, 12000)


def _device_index(device: Any) -> int:
    if isinstance(device, bool) or not hasattr(device, "__index__"):
        raise _invalid(f"a device is an integer, not {device!r}")
    index = int(device)
    if not 0 <= index < len(_core.devices()):
        raise cudart._Failure(cudaError_t.cudaErrorInvalidDevice,  # noqa: SLF001
                              f"no device {index}: there are {len(_core.devices())}")
    return index


def cuDeviceGet(ordinal: int) -> Tuple[CUresult, Optional[CUdevice]]:  # noqa: N802
    """``(err, device)`` for the device with flat index ``ordinal``."""
    return _run(lambda: CUdevice(_device_index(ordinal)), has_value=True)


def cuDeviceGetCount() -> Tuple[CUresult, int]:  # noqa: N802
    """``(err, count)``: the number of OpenCL devices."""
    return _run(lambda: len(_core.devices()), has_value=True)


def cuDeviceGetName(length: int, dev: Any) -> Tuple[CUresult, Optional[bytes]]:  # noqa: N802
    """``(err, name)``: the device's name as bytes, at most ``length`` of them (cuda-python
    pads to ``length`` with NULs; mlprt does not)."""
    def name() -> bytes:
        if isinstance(length, bool) or not hasattr(length, "__index__") or int(length) < 0:
            raise _invalid(f"cuDeviceGetName: length is a non-negative integer, not {length!r}")
        return _core.devices()[_device_index(dev)].name.encode()[:int(length)]
    return _run(name, has_value=True)


def cuDeviceTotalMem(dev: Any) -> Tuple[CUresult, Optional[int]]:  # noqa: N802
    """``(err, bytes)``: the device's global memory."""
    return _run(lambda: int(_core.devices()[_device_index(dev)].global_memory), has_value=True)


def _context_create(args: Tuple[Any, ...]) -> CUcontext:
    # cuda-python 12: cuCtxCreate(flags, dev); 13: cuCtxCreate(ctxCreateParams, flags, dev).
    if len(args) not in (2, 3):
        raise _invalid(f"cuCtxCreate takes (flags, dev) or (params, flags, dev), got {len(args)} "
                       f"arguments")
    device = _device_index(args[-1])
    _core.select_device(device)
    handle = CUcontext(device + 1)
    with _lock:
        _contexts[int(handle)] = device
    return handle


def cuCtxCreate(*args: Any) -> Tuple[CUresult, Optional[CUcontext]]:  # noqa: N802
    """``(err, context)``: makes device ``dev`` current for what is made afterwards.
    Takes cuda-python 12's ``(flags, dev)`` and 13's ``(ctxCreateParams, flags, dev)``."""
    return _run(_context_create, args, has_value=True)


def cuDevicePrimaryCtxRetain(dev: Any) -> Tuple[CUresult, Optional[CUcontext]]:  # noqa: N802
    """``(err, context)``: the device's context (what :func:`cuCtxCreate` gives), not yet
    current; :func:`cuCtxSetCurrent` makes it so."""
    def retain() -> CUcontext:
        device = _device_index(dev)
        with _lock:
            _contexts[device + 1] = device
        return CUcontext(device + 1)
    return _run(retain, has_value=True)


def _known_context(ctx: Any) -> int:
    if isinstance(ctx, bool) or not hasattr(ctx, "__index__"):
        raise cudart._Failure(cudaError_t.cudaErrorInvalidResourceHandle,  # noqa: SLF001
                              f"a context is a CUcontext, not {ctx!r}")
    with _lock:
        device = _contexts.get(int(ctx))
    if device is None:
        raise cudart._Failure(cudaError_t.cudaErrorInvalidResourceHandle,  # noqa: SLF001
                              f"context {int(ctx)} did not come from cuCtxCreate or was destroyed")
    return device


def cuDevicePrimaryCtxRelease(dev: Any) -> Tuple[CUresult]:  # noqa: N802
    """Releases the context :func:`cuDevicePrimaryCtxRetain` gave; ``(err,)``."""
    return _run(lambda: _known_context(CUcontext(_device_index(dev) + 1)))[:1]


def cuCtxSetCurrent(ctx: Any) -> Tuple[CUresult]:  # noqa: N802
    """Makes the context's device current; ``(err,)``."""
    return _run(lambda: _core.select_device(_known_context(ctx)))[:1]


def cuCtxGetCurrent() -> Tuple[CUresult, CUcontext]:  # noqa: N802
    """``(err, context)`` of the current device."""
    return _run(lambda: CUcontext(int(_core.current_device().index) + 1), has_value=True)


def cuCtxGetDevice() -> Tuple[CUresult, CUdevice]:  # noqa: N802
    """``(err, device)``: the current device."""
    return _run(lambda: CUdevice(int(_core.current_device().index)), has_value=True)


def _context_destroy(ctx: Any) -> None:
    device = _known_context(ctx)
    cudart._device_synchronize()  # noqa: SLF001
    with _lock:
        _contexts.pop(int(ctx), None)
    del device


def cuCtxDestroy(ctx: Any) -> Tuple[CUresult]:  # noqa: N802
    """Waits for queued work and forgets a context from :func:`cuCtxCreate` (memory stays
    allocated until it is freed); ``(err,)``."""
    return _run(_context_destroy, ctx)


def cuCtxSynchronize() -> Tuple[CUresult]:  # noqa: N802
    """Waits for every stream cudart or this module created and the default stream; ``(err,)``."""
    return _run(cudart._device_synchronize)  # noqa: SLF001


# Memory --------------------------------------------------------------------------------------

def cuMemAlloc(bytesize: int) -> Tuple[CUresult, Optional[CUdeviceptr]]:  # noqa: N802
    """``(err, dptr)``: ``bytesize`` bytes of device memory until :func:`cuMemFree` (or
    ``cudart.cudaFree``). A size of 0 is ``CUDA_ERROR_INVALID_VALUE``, as in CUDA."""
    def allocate() -> CUdeviceptr:
        if cudart._size(bytesize) == 0:  # noqa: SLF001
            raise _invalid("cuMemAlloc: a size of 0 bytes")
        return CUdeviceptr(cudart._malloc(bytesize))  # noqa: SLF001
    return _run(allocate, has_value=True)


def cuMemFree(dptr: Any) -> Tuple[CUresult]:  # noqa: N802
    """Frees memory from :func:`cuMemAlloc` or ``cudart.cudaMalloc``; ``(err,)``."""
    return _run(cudart._free, dptr)  # noqa: SLF001


def cuMemAllocHost(bytesize: int) -> Tuple[CUresult, Optional[int]]:  # noqa: N802
    """``(err, address)``: pinned host memory, as ``cudart.cudaMallocHost``."""
    return _run(cudart._malloc_host, bytesize, has_value=True)  # noqa: SLF001


def cuMemFreeHost(p: Any) -> Tuple[CUresult]:  # noqa: N802
    """Frees memory from :func:`cuMemAllocHost` or ``cudart.cudaMallocHost``; ``(err,)``."""
    return _run(cudart._free_host, p)  # noqa: SLF001


def _stream(handle: Any) -> Any:
    """A stream argument (a CUstream, an mlprt stream handle, an mlprt Stream, 0) for cudart."""
    if handle is None:
        return 0
    return handle


def cuMemcpyHtoD(dstDevice: Any, srcHost: Any, ByteCount: int) -> Tuple[CUresult]:  # noqa: N802,N803
    """Copies ``ByteCount`` bytes from host memory (a NumPy array or pinned address) to the
    device; returns when done. ``(err,)``."""
    return _run(cudart._copy, dstDevice, srcHost, ByteCount,  # noqa: SLF001
                cudaMemcpyKind.cudaMemcpyHostToDevice, None, False)


def cuMemcpyHtoDAsync(dstDevice: Any, srcHost: Any, ByteCount: int,  # noqa: N802,N803
                      hStream: Any) -> Tuple[CUresult]:
    """Queues a host-to-device copy on ``hStream``; pinned host memory is read when the stream
    gets to it. ``(err,)``."""
    return _run(cudart._copy, dstDevice, srcHost, ByteCount,  # noqa: SLF001
                cudaMemcpyKind.cudaMemcpyHostToDevice, _stream(hStream), True)


def cuMemcpyDtoH(dstHost: Any, srcDevice: Any, ByteCount: int) -> Tuple[CUresult]:  # noqa: N802,N803
    """Copies ``ByteCount`` bytes from the device to host memory; returns when done. ``(err,)``."""
    return _run(cudart._copy, dstHost, srcDevice, ByteCount,  # noqa: SLF001
                cudaMemcpyKind.cudaMemcpyDeviceToHost, None, False)


def cuMemcpyDtoHAsync(dstHost: Any, srcDevice: Any, ByteCount: int,  # noqa: N802,N803
                      hStream: Any) -> Tuple[CUresult]:
    """Queues a device-to-host copy on ``hStream``; pinned host memory holds the data after
    :func:`cuStreamSynchronize`. ``(err,)``."""
    return _run(cudart._copy, dstHost, srcDevice, ByteCount,  # noqa: SLF001
                cudaMemcpyKind.cudaMemcpyDeviceToHost, _stream(hStream), True)


def cuMemcpyDtoD(dstDevice: Any, srcDevice: Any, ByteCount: int) -> Tuple[CUresult]:  # noqa: N802,N803
    """Copies ``ByteCount`` bytes between device addresses; returns when done. ``(err,)``."""
    return _run(cudart._copy, dstDevice, srcDevice, ByteCount,  # noqa: SLF001
                cudaMemcpyKind.cudaMemcpyDeviceToDevice, None, False)


def cuMemcpyDtoDAsync(dstDevice: Any, srcDevice: Any, ByteCount: int,  # noqa: N802,N803
                      hStream: Any) -> Tuple[CUresult]:
    """Queues a device-to-device copy on ``hStream``; ``(err,)``."""
    return _run(cudart._copy, dstDevice, srcDevice, ByteCount,  # noqa: SLF001
                cudaMemcpyKind.cudaMemcpyDeviceToDevice, _stream(hStream), True)


def cuMemsetD8(dstDevice: Any, uc: int, N: int) -> Tuple[CUresult]:  # noqa: N802,N803
    """Sets ``N`` bytes of device memory to ``uc``; ``(err,)``."""
    return _run(cudart._memset, dstDevice, uc, N, None, False)  # noqa: SLF001


def cuMemsetD8Async(dstDevice: Any, uc: int, N: int, hStream: Any) -> Tuple[CUresult]:  # noqa: N802,N803
    """Queues setting ``N`` bytes of device memory to ``uc`` on ``hStream``; ``(err,)``."""
    return _run(cudart._memset, dstDevice, uc, N, _stream(hStream), True)  # noqa: SLF001


# Streams -------------------------------------------------------------------------------------

def _stream_create(flags: Any) -> CUstream:
    if isinstance(flags, bool) or not hasattr(flags, "__index__") or int(flags) not in (0, 1):
        raise _invalid(f"cuStreamCreate: unknown flags {flags!r} (CUstream_flags has 0 and 1)")
    return CUstream(cudart._stream_create())  # noqa: SLF001


def cuStreamCreate(Flags: int) -> Tuple[CUresult, Optional[CUstream]]:  # noqa: N802,N803
    """``(err, stream)``: a new stream (``Flags`` from :class:`CUstream_flags`)."""
    return _run(_stream_create, Flags, has_value=True)


def cuStreamSynchronize(hStream: Any) -> Tuple[CUresult]:  # noqa: N802,N803
    """Waits until everything queued on ``hStream`` has run; ``(err,)``."""
    return _run(cudart._stream_synchronize, _stream(hStream))  # noqa: SLF001


def _stream_query(handle: Any) -> bool:
    queue = cudart._stream_of(_stream(handle))  # noqa: SLF001
    assert queue is not None
    return bool(queue.is_done())


def cuStreamQuery(hStream: Any) -> Tuple[CUresult]:  # noqa: N802,N803
    """``(CUDA_SUCCESS,)`` when everything queued on ``hStream`` has run, else
    ``(CUDA_ERROR_NOT_READY,)``."""
    result = _run(_stream_query, hStream, has_value=True)
    if result[0] != CUresult.CUDA_SUCCESS:
        return (result[0],)
    return (CUresult.CUDA_SUCCESS,) if result[1] else (CUresult.CUDA_ERROR_NOT_READY,)


def cuStreamDestroy(hStream: Any) -> Tuple[CUresult]:  # noqa: N802,N803
    """Destroys a stream from :func:`cuStreamCreate` (or ``cudart.cudaStreamCreate``) once its
    queued work has run; ``(err,)``."""
    return _run(cudart._stream_destroy, hStream)  # noqa: SLF001


# Errors --------------------------------------------------------------------------------------

def cuGetErrorName(error: Any) -> Tuple[CUresult, Optional[bytes]]:  # noqa: N802
    """``(CUDA_SUCCESS, b"CUDA_ERROR_INVALID_VALUE")`` for a result code, as cuda-python returns
    it; ``(CUDA_ERROR_INVALID_VALUE, None)`` for a number that is no result code."""
    try:
        code = CUresult(int(error))
    except (ValueError, TypeError):
        return (CUresult.CUDA_ERROR_INVALID_VALUE, None)
    return (CUresult.CUDA_SUCCESS, code.name.encode())


def cuGetErrorString(error: Any) -> Tuple[CUresult, Optional[bytes]]:  # noqa: N802
    """``(CUDA_SUCCESS, b"invalid argument")``: the description of a result code;
    ``(CUDA_ERROR_INVALID_VALUE, None)`` for a number that is no result code."""
    try:
        code = CUresult(int(error))
    except (ValueError, TypeError):
        return (CUresult.CUDA_ERROR_INVALID_VALUE, None)
    return (CUresult.CUDA_SUCCESS, _RESULT_TEXT[code].encode())
