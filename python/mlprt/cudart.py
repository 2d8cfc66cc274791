"""A ``cudart``-shaped module (as in cuda-python's ``from cuda import cudart``) on mlprt.

Tutorials written for cuda-python port by changing the import::

    from mlprt import cudart

    err, host_ptr = cudart.cudaMallocHost(nbytes)      # pinned host memory, an integer address
    err, device_ptr = cudart.cudaMalloc(nbytes)        # an mlprt device address
    err, stream = cudart.cudaStreamCreate()            # an mlprt stream handle
    err, = cudart.cudaMemcpyAsync(device_ptr, host_ptr, nbytes,
                                  cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, stream)

Every call returns a tuple whose first item is a :class:`cudaError_t` (``(err,)`` when the call
has no value). As in cuda-python, failures are reported through the error code, never raised: a
bad pointer, size or handle gives ``cudaErrorInvalidValue``, ``cudaErrorInvalidDevicePointer`` or
``cudaErrorInvalidResourceHandle``, an allocation that does not fit ``cudaErrorMemoryAllocation``,
and the module stays usable. ``cudaGetLastError()`` returns (and clears) the last error.

Pointers:

* host pointers from :func:`cudaMallocHost` are addresses of mlprt pinned buffers, kept alive
  until :func:`cudaFreeHost`; ``np.ctypeslib.as_array(ctypes.cast(ptr, ...), shape)`` views
  them. Copies between them and the device are asynchronous on a stream.
* NumPy arrays are accepted wherever a host pointer is (as cuda-python accepts buffers). An
  array over memory from :func:`cudaMallocHost` is copied as pinned memory; any other array as
  pageable memory (the copy completes before the call returns).
* device pointers are mlprt device addresses (``int(mlprt.driver.mem_alloc(n))`` and offsets
  into it), so they also work with ``set_tensor_address`` and ``mlprt.driver``.
* streams are mlprt stream handles (integers accepted by ``execute_async_v3``); ``0`` is the
  default stream.

Host-to-host copies between raw addresses that mlprt did not hand out are done with
``ctypes.memmove`` and, as in CUDA, are not checked. Copies between the device and a raw host
address that neither came from :func:`cudaMallocHost` nor is a NumPy array are refused with
``cudaErrorInvalidValue``.
"""
from __future__ import annotations

import bisect
import ctypes
import enum
import threading
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from mlprt import _core
from mlprt._core import DeviceAllocation, Stream

__all__ = [
    "cudaError_t",
    "cudaMemcpyKind",
    "cudaDeviceSynchronize",
    "cudaFree",
    "cudaFreeHost",
    "cudaGetDevice",
    "cudaGetDeviceCount",
    "cudaGetErrorName",
    "cudaGetErrorString",
    "cudaGetLastError",
    "cudaMalloc",
    "cudaMallocHost",
    "cudaHostAlloc",
    "cudaHostAllocDefault",
    "cudaHostAllocPortable",
    "cudaHostAllocMapped",
    "cudaHostAllocWriteCombined",
    "cudaHostGetDevicePointer",
    "cudaMemcpy",
    "cudaMemcpyAsync",
    "cudaMemset",
    "cudaMemsetAsync",
    "cudaPeekAtLastError",
    "cudaSetDevice",
    "cudaStreamCreate",
    "cudaStreamDestroy",
    "cudaStreamSynchronize",
]


class cudaError_t(enum.IntEnum):
    """The error codes mlprt's cudart returns (values as in the CUDA runtime)."""

    cudaSuccess = 0
    cudaErrorInvalidValue = 1
    cudaErrorMemoryAllocation = 2
    cudaErrorInitializationError = 3
    cudaErrorInvalidDevicePointer = 17
    cudaErrorInvalidMemcpyDirection = 21
    cudaErrorInvalidDevice = 101
    cudaErrorInvalidResourceHandle = 400
    cudaErrorUnknown = 999


class cudaMemcpyKind(enum.IntEnum):
    """Copy directions; ``cudaMemcpyDefault`` infers the direction from the pointers."""

    cudaMemcpyHostToHost = 0
    cudaMemcpyHostToDevice = 1
    cudaMemcpyDeviceToHost = 2
    cudaMemcpyDeviceToDevice = 3
    cudaMemcpyDefault = 4


_ERROR_TEXT: Dict[cudaError_t, str] = {
    cudaError_t.cudaSuccess: "no error",
    cudaError_t.cudaErrorInvalidValue: "invalid argument",
    cudaError_t.cudaErrorMemoryAllocation: "out of memory",
    cudaError_t.cudaErrorInitializationError: "initialization error",
    cudaError_t.cudaErrorInvalidDevicePointer: "invalid device pointer",
    cudaError_t.cudaErrorInvalidMemcpyDirection: "invalid copy direction for memcpy",
    cudaError_t.cudaErrorInvalidDevice: "invalid device ordinal",
    cudaError_t.cudaErrorInvalidResourceHandle: "invalid resource handle",
    cudaError_t.cudaErrorUnknown: "unknown error",
}


class _Failure(Exception):
    """Internal: a call failed with ``code``; ``detail`` says why (kept for debugging)."""

    def __init__(self, code: cudaError_t, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class _State:
    """What the module handed out, so pointers can be checked and kept alive."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.host: Dict[int, np.ndarray] = {}          # address -> pinned uint8 array
        self.host_starts: List[int] = []                 # sorted addresses of self.host
        self.device: Dict[int, DeviceAllocation] = {}  # address -> allocation
        self.device_starts: List[int] = []               # sorted addresses of self.device
        self.streams: Dict[int, Stream] = {}           # handle -> stream
        self.last_error = cudaError_t.cudaSuccess
        self.last_detail = ""


_state = _State()


def _find(starts: List[int], table: Dict[int, Any], address: int) -> Optional[Tuple[int, Any]]:
    """The (start, object) whose range holds ``address``, or None."""
    position = bisect.bisect_right(starts, address) - 1
    if position < 0:
        return None
    start = starts[position]
    item = table[start]
    size = item.nbytes
    if start <= address < start + max(size, 1):
        return start, item
    return None


def _result(code: cudaError_t, detail: str = "", *values: Any) -> Tuple[Any, ...]:
    if code != cudaError_t.cudaSuccess:
        with _state.lock:
            _state.last_error = code
            _state.last_detail = detail
    return (code,) + values


def _call(function: Any, *args: Any, has_value: bool = False) -> Tuple[Any, ...]:
    """Runs ``function(*args)`` and turns failures into error codes: ``(err,)``, or
    ``(err, value)`` when ``has_value`` (``value`` is None after a failure, as in cuda-python)."""
    failed: Optional[Tuple[cudaError_t, str]] = None
    try:
        value = function(*args)
    except _Failure as failure:
        failed = (failure.code, str(failure))
    except MemoryError as error:
        failed = (cudaError_t.cudaErrorMemoryAllocation, str(error))
    except (ValueError, TypeError, OverflowError, IndexError) as error:
        failed = (cudaError_t.cudaErrorInvalidValue, str(error))
    except _core.Error as error:
        failed = (cudaError_t.cudaErrorUnknown, str(error))
    if failed is not None:
        return _result(failed[0], failed[1], *((None,) if has_value else ()))
    return (cudaError_t.cudaSuccess, value) if has_value else (cudaError_t.cudaSuccess,)


def _size(nbytes: Any) -> int:
    if isinstance(nbytes, bool) or not hasattr(nbytes, "__index__"):
        raise _Failure(cudaError_t.cudaErrorInvalidValue, f"a size is an integer, not {nbytes!r}")
    size = int(nbytes)
    if size < 0:
        raise _Failure(cudaError_t.cudaErrorInvalidValue, f"negative size {size}")
    return size


def _address(pointer: Any) -> int:
    if isinstance(pointer, DeviceAllocation):
        return int(pointer)
    if isinstance(pointer, bool) or not hasattr(pointer, "__index__"):
        raise _Failure(cudaError_t.cudaErrorInvalidValue,
                       f"a pointer is an integer, not {pointer!r}")
    return int(pointer)


# Memory --------------------------------------------------------------------------------------

def _malloc_host(nbytes: Any) -> int:
    size = _size(nbytes)
    if size == 0:
        return 0
    try:
        array = _core.pagelocked_empty((size,), np.dtype(np.uint8), "C")
    except (_core.Error, ValueError, OverflowError) as error:
        raise _Failure(cudaError_t.cudaErrorMemoryAllocation, str(error)) from error
    address = int(array.ctypes.data)
    with _state.lock:
        _state.host[address] = array
        bisect.insort(_state.host_starts, address)
    return address


def cudaMallocHost(size: int) -> Tuple[cudaError_t, int]:
    """Allocates ``size`` bytes of pinned host memory; ``(err, address)``. The memory stays
    allocated until :func:`cudaFreeHost`. A size of 0 gives address 0."""
    return _call(_malloc_host, size, has_value=True)


cudaHostAllocDefault = 0
cudaHostAllocPortable = 1
cudaHostAllocMapped = 2
cudaHostAllocWriteCombined = 4
_HOST_ALLOC_FLAGS = cudaHostAllocPortable | cudaHostAllocMapped | cudaHostAllocWriteCombined


def _host_alloc(nbytes: Any, flags: Any) -> int:
    if isinstance(flags, bool) or not hasattr(flags, "__index__") or int(flags) & ~_HOST_ALLOC_FLAGS:
        raise _Failure(cudaError_t.cudaErrorInvalidValue, f"cudaHostAlloc: unknown flags {flags!r}")
    return _malloc_host(nbytes)


def cudaHostAlloc(size: int, flags: int) -> Tuple[cudaError_t, int]:
    """Allocates pinned host memory like :func:`cudaMallocHost`; ``(err, address)``. Every mlprt
    pinned allocation is portable and mapped, so the flags (``cudaHostAlloc*``) change nothing."""
    return _call(_host_alloc, size, flags, has_value=True)


def _host_device_pointer(pointer: Any, flags: Any) -> int:
    if flags != 0:
        raise _Failure(cudaError_t.cudaErrorInvalidValue, "cudaHostGetDevicePointer: flags must be 0")
    address = _raw_host_address(pointer)
    if not _core.is_pinned_address(address):
        raise _Failure(cudaError_t.cudaErrorInvalidValue,
                       f"{address:#x} is not in pinned host memory (cudaMallocHost, cudaHostAlloc, "
                       f"mlprt.driver.pagelocked_empty)")
    return address


def cudaHostGetDevicePointer(pHost: Any, flags: int) -> Tuple[cudaError_t, int]:
    """The address kernels use for pinned host memory; ``(err, device_ptr)``. As under CUDA's
    unified addressing it equals the host address: bind it with ``set_tensor_address`` and the
    execution context reads or writes the host memory itself (zero-copy)."""
    return _call(_host_device_pointer, pHost, flags, has_value=True)


def _free_host(pointer: Any) -> None:
    address = _address(pointer)
    if address == 0:
        return
    with _state.lock:
        if address not in _state.host:
            raise _Failure(cudaError_t.cudaErrorInvalidValue,
                           f"{address:#x} is not an address returned by cudaMallocHost")
        del _state.host[address]
        _state.host_starts.remove(address)


def cudaFreeHost(ptr: int) -> Tuple[cudaError_t]:
    """Frees memory from :func:`cudaMallocHost` (copies still queued keep it alive until they
    have run); ``(err,)``. Freeing 0 does nothing."""
    return _call(_free_host, ptr)


def _malloc(nbytes: Any) -> int:
    size = _size(nbytes)
    if size == 0:
        return 0
    try:
        allocation = _core.mem_alloc(size)
    except (MemoryError, _core.Error) as error:
        raise _Failure(cudaError_t.cudaErrorMemoryAllocation, str(error)) from error
    address = int(allocation)
    with _state.lock:
        _state.device[address] = allocation
        bisect.insort(_state.device_starts, address)
    return address


def cudaMalloc(size: int) -> Tuple[cudaError_t, int]:
    """Allocates ``size`` bytes of device memory; ``(err, address)``, an mlprt device address
    that stays valid until :func:`cudaFree`. A size of 0 gives address 0."""
    return _call(_malloc, size, has_value=True)


def _free(pointer: Any) -> None:
    address = _address(pointer)
    if address == 0:
        return
    with _state.lock:
        allocation = _state.device.pop(address, None)
        if allocation is None:
            raise _Failure(cudaError_t.cudaErrorInvalidDevicePointer,
                           f"{address:#x} is not an address returned by cudaMalloc")
        _state.device_starts.remove(address)
    allocation.free()


def cudaFree(devPtr: int) -> Tuple[cudaError_t]:
    """Frees device memory from :func:`cudaMalloc`; ``(err,)``. Freeing 0 does nothing."""
    return _call(_free, devPtr)


def _pinned_view(address: int, size: int) -> Optional[np.ndarray]:
    """A uint8 view of ``size`` bytes at ``address`` inside memory from cudaMallocHost, or None
    when ``address`` is not in such memory; raises when the range runs past the buffer."""
    with _state.lock:
        found = _find(_state.host_starts, _state.host, address)
    if found is None:
        return None
    start, array = found
    offset = address - start
    if offset + size > array.nbytes:
        raise _Failure(cudaError_t.cudaErrorInvalidValue,
                       f"{size} bytes at {address:#x} run past the end of the pinned buffer at "
                       f"{start:#x} ({array.nbytes} bytes)")
    return array[offset:offset + size]


def _host_operand(pointer: Any, size: int, writable: bool) -> np.ndarray:
    """The host memory of a copy as a uint8 array of ``size`` bytes."""
    if isinstance(pointer, np.ndarray):
        if not pointer.flags.c_contiguous and not pointer.flags.f_contiguous:
            raise _Failure(cudaError_t.cudaErrorInvalidValue, "the host array is not contiguous")
        if writable and not pointer.flags.writeable:
            raise _Failure(cudaError_t.cudaErrorInvalidValue, "the host array is read-only")
        if size > pointer.nbytes:
            raise _Failure(cudaError_t.cudaErrorInvalidValue,
                           f"{size} bytes requested from a host array of {pointer.nbytes} bytes")
        pinned = _pinned_view(int(pointer.ctypes.data), size)
        if pinned is not None:
            return pinned
        flat = pointer.reshape(-1, order="A").view(np.uint8)
        return flat[:size]
    address = _address(pointer)
    pinned = _pinned_view(address, size)
    if pinned is None:
        raise _Failure(cudaError_t.cudaErrorInvalidValue,
                       f"host pointer {address:#x} came neither from cudaMallocHost nor from a "
                       f"NumPy array")
    return pinned


def _device_address(pointer: Any) -> int:
    address = _address(pointer)
    if address == 0:
        raise _Failure(cudaError_t.cudaErrorInvalidValue, "null device pointer")
    return address


def _is_device(pointer: Any) -> bool:
    if isinstance(pointer, DeviceAllocation):
        return True
    if isinstance(pointer, np.ndarray):
        return False
    address = _address(pointer)
    with _state.lock:
        return _find(_state.device_starts, _state.device, address) is not None


def _raw_host_address(pointer: Any) -> int:
    if isinstance(pointer, np.ndarray):
        return int(pointer.ctypes.data)
    return _address(pointer)


def _stream_of(stream: Any) -> Optional[Stream]:
    if stream is None:
        return None
    if isinstance(stream, Stream):
        return stream
    handle = _address(stream)
    if handle == 0:
        return Stream.from_handle(0)
    with _state.lock:
        found = _state.streams.get(handle)
    if found is None:
        try:
            found = Stream.from_handle(handle)
        except (ValueError, _core.Error) as error:
            raise _Failure(cudaError_t.cudaErrorInvalidResourceHandle,
                           f"unknown stream handle {handle}") from error
    return found


def _copy(dst: Any, src: Any, count: Any, kind: Any, stream: Any, asynchronous: bool) -> None:
    size = _size(count)
    try:
        direction = cudaMemcpyKind(int(kind))
    except (ValueError, TypeError) as error:
        raise _Failure(cudaError_t.cudaErrorInvalidMemcpyDirection,
                       f"bad copy kind {kind!r}") from error
    queue = _stream_of(stream) if asynchronous else None
    if direction == cudaMemcpyKind.cudaMemcpyDefault:
        inferred = {(False, False): cudaMemcpyKind.cudaMemcpyHostToHost,
                    (False, True): cudaMemcpyKind.cudaMemcpyHostToDevice,
                    (True, False): cudaMemcpyKind.cudaMemcpyDeviceToHost,
                    (True, True): cudaMemcpyKind.cudaMemcpyDeviceToDevice}
        direction = inferred[(_is_device(src), _is_device(dst))]
    if size == 0:
        return
    if direction == cudaMemcpyKind.cudaMemcpyHostToHost:
        source, target = _raw_host_address(src), _raw_host_address(dst)
        if source == 0 or target == 0:
            raise _Failure(cudaError_t.cudaErrorInvalidValue, "null host pointer")
        if _is_device(src) or _is_device(dst):
            raise _Failure(cudaError_t.cudaErrorInvalidValue,
                           "a device pointer in a host-to-host copy")
        for pointer, address, writable in ((src, source, False), (dst, target, True)):
            if isinstance(pointer, np.ndarray):
                _host_operand(pointer, size, writable)
            else:
                _pinned_view(address, size)  # checks the extent when the memory is ours
        ctypes.memmove(target, source, size)
    elif direction == cudaMemcpyKind.cudaMemcpyHostToDevice:
        source_view = _host_operand(src, size, False)
        _core.memcpy_htod(_device_address(dst), source_view, queue, asynchronous)
    elif direction == cudaMemcpyKind.cudaMemcpyDeviceToHost:
        _core.memcpy_dtoh(_host_operand(dst, size, True), _device_address(src), queue, asynchronous)
    else:
        _core.memcpy_dtod(_device_address(dst), _device_address(src), size, queue, asynchronous)


def cudaMemcpy(dst: Any, src: Any, count: int, kind: cudaMemcpyKind) -> Tuple[cudaError_t]:
    """Copies ``count`` bytes from ``src`` to ``dst`` in direction ``kind``; returns when done.
    ``(err,)``."""
    return _call(_copy, dst, src, count, kind, None, False)


def cudaMemcpyAsync(dst: Any, src: Any, count: int, kind: cudaMemcpyKind,
                    stream: Any) -> Tuple[cudaError_t]:
    """Queues a copy of ``count`` bytes on ``stream``; pinned host memory is read or written
    when the stream gets to the copy (after :func:`cudaStreamSynchronize` it is done).
    ``(err,)``."""
    return _call(_copy, dst, src, count, kind, stream, True)


def _memset(pointer: Any, value: Any, count: Any, stream: Any, asynchronous: bool) -> None:
    size = _size(count)
    if size == 0:
        return
    queue = _stream_of(stream) if asynchronous else None
    _core.memset(_device_address(pointer), int(value) & 0xFF, 1, size, queue, asynchronous)


def cudaMemset(devPtr: Any, value: int, count: int) -> Tuple[cudaError_t]:
    """Sets ``count`` bytes of device memory to ``value``; ``(err,)``."""
    return _call(_memset, devPtr, value, count, None, False)


def cudaMemsetAsync(devPtr: Any, value: int, count: int, stream: Any) -> Tuple[cudaError_t]:
    """Queues setting ``count`` bytes of device memory to ``value`` on ``stream``; ``(err,)``."""
    return _call(_memset, devPtr, value, count, stream, True)


# Streams and devices -------------------------------------------------------------------------

def _stream_create() -> int:
    stream = Stream()
    with _state.lock:
        _state.streams[int(stream.handle)] = stream
    return int(stream.handle)


def cudaStreamCreate() -> Tuple[cudaError_t, int]:
    """A new stream; ``(err, handle)`` with an mlprt stream handle (for ``execute_async_v3``)."""
    return _call(_stream_create, has_value=True)


def _stream_synchronize(stream: Any) -> None:
    queue = _stream_of(stream if stream is not None else 0)
    assert queue is not None
    queue.synchronize()


def cudaStreamSynchronize(stream: Any) -> Tuple[cudaError_t]:
    """Waits until everything queued on ``stream`` has run; ``(err,)``."""
    return _call(_stream_synchronize, stream)


def _stream_destroy(stream: Any) -> None:
    handle = int(stream.handle) if isinstance(stream, Stream) else _address(stream)
    with _state.lock:
        queue = _state.streams.pop(handle, None)
    if queue is None:
        raise _Failure(cudaError_t.cudaErrorInvalidResourceHandle,
                       f"stream {handle} did not come from cudaStreamCreate or was destroyed")
    queue.synchronize()


def cudaStreamDestroy(stream: Any) -> Tuple[cudaError_t]:
    """Destroys a stream from :func:`cudaStreamCreate` once its queued work has run; ``(err,)``."""
    return _call(_stream_destroy, stream)


def _device_synchronize() -> None:
    with _state.lock:
        streams = list(_state.streams.values())
    for stream in streams:
        stream.synchronize()
    Stream.from_handle(0).synchronize()


def cudaDeviceSynchronize() -> Tuple[cudaError_t]:
    """Waits for every stream this module created and the default stream; ``(err,)``."""
    return _call(_device_synchronize)


def cudaGetDeviceCount() -> Tuple[cudaError_t, int]:
    """The number of OpenCL devices; ``(err, count)``."""
    return _call(lambda: len(_core.devices()), has_value=True)


def cudaGetDevice() -> Tuple[cudaError_t, int]:
    """The flat index of the current device; ``(err, index)``."""
    return _call(lambda: int(_core.current_device().index), has_value=True)


def _set_device(device: Any) -> None:
    index = _address(device)
    if not 0 <= index < len(_core.devices()):
        raise _Failure(cudaError_t.cudaErrorInvalidDevice, f"no device {index}")
    _core.select_device(index)


def cudaSetDevice(device: int) -> Tuple[cudaError_t]:
    """Makes device ``device`` (a flat index) current; ``(err,)``."""
    return _call(_set_device, device)


# Errors --------------------------------------------------------------------------------------

def cudaGetLastError() -> Tuple[cudaError_t]:
    """The last error any call of this module returned, which is then reset to
    ``cudaSuccess``; ``(err,)``."""
    with _state.lock:
        error = _state.last_error
        _state.last_error = cudaError_t.cudaSuccess
        _state.last_detail = ""
    return (error,)


def cudaPeekAtLastError() -> Tuple[cudaError_t]:
    """Like :func:`cudaGetLastError` without resetting it; ``(err,)``."""
    with _state.lock:
        return (_state.last_error,)


def last_error_detail() -> str:
    """Why the last failing call failed (mlprt's own addition; empty after success or reset)."""
    with _state.lock:
        return _state.last_detail


def cudaGetErrorName(error: Any) -> Tuple[cudaError_t, bytes]:
    """``(cudaSuccess, b"cudaErrorInvalidValue")`` for an error code, as cuda-python returns it."""
    try:
        code = cudaError_t(int(error))
    except (ValueError, TypeError):
        return (cudaError_t.cudaErrorInvalidValue, b"cudaErrorUnknown")
    return (cudaError_t.cudaSuccess, code.name.encode())


def cudaGetErrorString(error: Any) -> Tuple[cudaError_t, bytes]:
    """``(cudaSuccess, b"invalid argument")``: the description of an error code."""
    try:
        code = cudaError_t(int(error))
    except (ValueError, TypeError):
        return (cudaError_t.cudaErrorInvalidValue, b"unrecognized error code")
    return (cudaError_t.cudaSuccess, _ERROR_TEXT[code].encode())
