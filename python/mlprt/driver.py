"""A pycuda.driver-shaped memory API on OpenCL.

Code written for ``pycuda.driver`` ports by changing its import::

    import mlprt.driver as cuda

    stream = cuda.Stream()
    h_input = cuda.pagelocked_empty((32, 784), np.float32)   # a NumPy array in pinned memory
    d_input = cuda.mem_alloc(h_input.nbytes)                 # int(d_input) is its address
    cuda.memcpy_htod_async(d_input, h_input, stream)
    stream.synchronize()

Device memory is addressed by integers, as in CUDA: ``int(allocation) + offset`` names a byte
inside an allocation and is accepted wherever an allocation is. Copies between device memory and
pinned arrays (``pagelocked_*``) are asynchronous; copies from or to ordinary (pageable) NumPy
arrays go through a staging copy and complete before the call returns, as with CUDA.

Zero-copy inputs and outputs: pinned memory is also addressed by its host address (as under
CUDA's unified addressing), so ``context.set_tensor_address(name, h_input.ctypes.data)`` (or
``h_input.base.get_device_pointer()``) binds a pinned array itself; execute_async_v3 then needs
no memcpy calls. See docs/driver.md.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

from mlprt import _core
from mlprt._core import DeviceAllocation, Event, PinnedHostBuffer, Stream

__all__ = [
    "Context",
    "Device",
    "DeviceAllocation",
    "Event",
    "PinnedHostBuffer",
    "Stream",
    "from_device",
    "from_device_like",
    "init",
    "host_alloc_flags",
    "event_flags",
    "is_pinned",
    "mem_alloc",
    "mem_alloc_like",
    "memcpy_dtod",
    "memcpy_dtod_async",
    "memcpy_dtoh",
    "memcpy_dtoh_async",
    "memcpy_htod",
    "memcpy_htod_async",
    "memset_d8",
    "memset_d16",
    "memset_d32",
    "memset_d8_async",
    "memset_d16_async",
    "memset_d32_async",
    "pagelocked_empty",
    "pagelocked_empty_like",
    "pagelocked_zeros",
    "pagelocked_zeros_like",
    "to_device",
]

DeviceAddress = Union[DeviceAllocation, int]
StreamLike = Optional[Union[Stream, int]]
Shape = Union[int, Sequence[int]]


def init(flags: int = 0) -> None:
    """Checks that an OpenCL device exists (pycuda's ``cuda.init()``); raises mlprt.Error if not."""
    del flags
    _core.default_device()


class Device:
    """An OpenCL device by flat index, shaped like ``pycuda.driver.Device``."""

    def __init__(self, ordinal: int) -> None:
        all_devices = _core.devices()
        if not 0 <= ordinal < len(all_devices):
            raise ValueError(
                f"no OpenCL device {ordinal}: there are {len(all_devices)} "
                f"(see `mlprt devices`)")
        self._info = all_devices[ordinal]

    @staticmethod
    def count() -> int:
        """Number of OpenCL devices on all platforms."""
        return len(_core.devices())

    @property
    def info(self) -> _core.DeviceInfo:
        """Everything mlprt knows about the device."""
        return self._info

    def name(self) -> str:
        return self._info.name

    def total_memory(self) -> int:
        """Device memory in bytes."""
        return self._info.global_memory

    def make_context(self) -> "Context":
        """Makes this device current (later allocations, streams and programs use it) and brings
        it up, as pycuda's ``make_context`` creates a CUDA context: the OpenCL context, the
        device's default stream and a first 4-byte allocation and copy exist or have run when
        this returns (NVIDIA's OpenCL driver defers most of its per-process set-up, about 0.1 s
        on an H200, to the first memory use)."""
        _core.select_device(self._info.index)
        Stream.from_handle(0)
        first = _core.mem_alloc(4)
        _core.memcpy_htod(first, np.zeros(1, np.uint32), None, False)
        first.free()
        return Context(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Device) and other._info.index == self._info.index

    def __hash__(self) -> int:
        return hash(self._info.index)

    def __repr__(self) -> str:
        return f"<mlprt.driver.Device {self._info.index} '{self._info.name}'>"


class Context:
    """What ``Device.make_context()`` returns. OpenCL needs no context stack, so push/pop/detach
    only keep pycuda code working; ``synchronize`` waits for the device's default stream."""

    def __init__(self, device: Device) -> None:
        self._device = device

    def get_device(self) -> Device:
        return self._device

    def synchronize(self) -> None:
        """Waits for the device's default stream; the current device stays as it was."""
        previous = _core.current_device().index
        _core.select_device(self._device.info.index)
        try:
            Stream.from_handle(0).synchronize()
        finally:
            _core.select_device(previous)

    def push(self) -> None:
        _core.select_device(self._device.info.index)

    def pop(self) -> None:
        """Kept for pycuda compatibility; the device stays current."""

    def detach(self) -> None:
        """Kept for pycuda compatibility; resources are freed when their objects are."""


def mem_alloc(nbytes: int) -> DeviceAllocation:
    """Allocates ``nbytes`` of device memory on the current device."""
    return _core.mem_alloc(int(nbytes))


def mem_alloc_like(array: np.ndarray) -> DeviceAllocation:
    """Allocates as many device bytes as ``array`` holds."""
    return _core.mem_alloc(int(array.nbytes))


class host_alloc_flags:  # noqa: N801 (pycuda's name)
    """``mem_flags`` for :func:`pagelocked_empty` (pycuda's names and values).

    Every mlprt pinned allocation is already what these ask for: usable from any context
    (``PORTABLE``) and addressable by kernels (``DEVICEMAP``: bind
    ``array.base.get_device_pointer()``, or simply ``array.ctypes.data``, with
    ``set_tensor_address`` and the execution context reads and writes the array directly where
    the device allows it, else it copies). ``WRITECOMBINED`` is accepted and has no effect.
    """

    PORTABLE = 1
    DEVICEMAP = 2
    WRITECOMBINED = 4


class event_flags:  # noqa: N801 (pycuda's name)
    """``flags`` for :class:`Event` (pycuda's names and values).

    ``DISABLE_TIMING`` makes an event for waiting only: recording it leaves its stream on a plain
    queue, where copies cost less host time than on the profiling queue a timing event needs.
    ``BLOCKING_SYNC`` and ``INTERPROCESS`` are accepted and have no effect.
    """

    DEFAULT = 0
    BLOCKING_SYNC = 1
    DISABLE_TIMING = 2
    INTERPROCESS = 4


_KNOWN_HOST_ALLOC_FLAGS = host_alloc_flags.PORTABLE | host_alloc_flags.DEVICEMAP | host_alloc_flags.WRITECOMBINED


def pagelocked_empty(shape: Shape, dtype: Any, order: str = "C", mem_flags: int = 0) -> np.ndarray:
    """An uninitialized NumPy array whose memory is pinned host memory, without a copy.

    The array's ``base`` is the :class:`PinnedHostBuffer` that owns the memory and keeps it
    alive. ``mem_flags`` takes :class:`host_alloc_flags` (pycuda compatibility); every pinned
    array is portable and device-mapped, so they change nothing. Unknown bits raise ValueError.
    """
    if int(mem_flags) & ~_KNOWN_HOST_ALLOC_FLAGS:
        raise ValueError(f"pagelocked_empty: unknown mem_flags bits {int(mem_flags):#x} "
                         f"(host_alloc_flags has PORTABLE=1, DEVICEMAP=2, WRITECOMBINED=4)")
    return _core.pagelocked_empty(shape, np.dtype(dtype), order)


def pagelocked_zeros(shape: Shape, dtype: Any, order: str = "C", mem_flags: int = 0) -> np.ndarray:
    """Like :func:`pagelocked_empty`, filled with zeros."""
    array = pagelocked_empty(shape, dtype, order, mem_flags)
    array.fill(0)
    return array


def _order_of(array: np.ndarray) -> str:
    return "F" if array.flags.f_contiguous and not array.flags.c_contiguous else "C"


def pagelocked_empty_like(array: np.ndarray, mem_flags: int = 0) -> np.ndarray:
    """A pinned array of ``array``'s shape, dtype and memory order (uninitialized)."""
    return pagelocked_empty(array.shape, array.dtype, _order_of(array), mem_flags)


def pagelocked_zeros_like(array: np.ndarray, mem_flags: int = 0) -> np.ndarray:
    """A pinned array of ``array``'s shape, dtype and memory order, filled with zeros."""
    return pagelocked_zeros(array.shape, array.dtype, _order_of(array), mem_flags)


def is_pinned(array: Any) -> bool:
    """True when all of ``array``'s memory lies in one pinned host buffer."""
    return bool(_core.is_pinned(array))


def memcpy_htod(dest: DeviceAddress, src: Any) -> None:
    """Copies all of host array ``src`` to device memory at ``dest``; returns when done."""
    _core.memcpy_htod(dest, src, None, False)


def memcpy_htod_async(dest: DeviceAddress, src: Any, stream: StreamLike = None) -> None:
    """Queues a copy of host array ``src`` to ``dest`` on ``stream`` (pinned ``src``: returns at
    once; pageable ``src``: returns once the data has been taken)."""
    _core.memcpy_htod(dest, src, stream, True)


def memcpy_dtoh(dest: Any, src: DeviceAddress) -> None:
    """Fills host array ``dest`` (all of it) from device memory at ``src``; returns when done."""
    _core.memcpy_dtoh(dest, src, None, False)


def memcpy_dtoh_async(dest: Any, src: DeviceAddress, stream: StreamLike = None) -> None:
    """Queues a copy into host array ``dest`` from ``src`` on ``stream``. With a pinned ``dest``
    the data is there after ``stream.synchronize()``; a pageable ``dest`` is filled before the
    call returns."""
    _core.memcpy_dtoh(dest, src, stream, True)


def memcpy_dtod(dest: DeviceAddress, src: DeviceAddress, size: int) -> None:
    """Copies ``size`` bytes between device addresses; returns when done."""
    _core.memcpy_dtod(dest, src, int(size), None, False)


def memcpy_dtod_async(dest: DeviceAddress, src: DeviceAddress, size: int,
                      stream: StreamLike = None) -> None:
    """Queues a copy of ``size`` bytes between device addresses on ``stream``."""
    _core.memcpy_dtod(dest, src, int(size), stream, True)


def memset_d8(dest: DeviceAddress, data: int, count: int) -> None:
    """Sets ``count`` bytes at ``dest`` to ``data``."""
    _core.memset(dest, data, 1, count, None, False)


def memset_d16(dest: DeviceAddress, data: int, count: int) -> None:
    """Sets ``count`` 16-bit words at ``dest`` to ``data``."""
    _core.memset(dest, data, 2, count, None, False)


def memset_d32(dest: DeviceAddress, data: int, count: int) -> None:
    """Sets ``count`` 32-bit words at ``dest`` to ``data``."""
    _core.memset(dest, data, 4, count, None, False)


def memset_d8_async(dest: DeviceAddress, data: int, count: int, stream: StreamLike = None) -> None:
    _core.memset(dest, data, 1, count, stream, True)


def memset_d16_async(dest: DeviceAddress, data: int, count: int, stream: StreamLike = None) -> None:
    _core.memset(dest, data, 2, count, stream, True)


def memset_d32_async(dest: DeviceAddress, data: int, count: int, stream: StreamLike = None) -> None:
    _core.memset(dest, data, 4, count, stream, True)


def to_device(array: Any) -> DeviceAllocation:
    """A new device allocation holding a copy of host array ``array``."""
    host = np.ascontiguousarray(array)
    allocation = mem_alloc(host.nbytes)
    memcpy_htod(allocation, host)
    return allocation


def from_device(address: DeviceAddress, shape: Shape, dtype: Any, order: str = "C") -> np.ndarray:
    """A new NumPy array of ``shape`` and ``dtype`` copied from device memory at ``address``."""
    result = np.empty(shape, dtype=dtype, order=order)
    memcpy_dtoh(result, address)
    return result


def from_device_like(address: DeviceAddress, other: np.ndarray) -> np.ndarray:
    """Like :func:`from_device`, with ``other``'s shape and dtype."""
    return from_device(address, other.shape, other.dtype, _order_of(other))


