"""
mlprt's C++ core: OpenCL devices, memory, streams, programs
"""
from __future__ import annotations
import collections.abc
import numpy
import typing
__all__: list[str] = ['BuildError', 'DataType', 'DeviceAllocation', 'DeviceInfo', 'Error', 'Event', 'Kernel', 'OpenCLError', 'PinnedHostBuffer', 'Program', 'Severity', 'Stream', 'current_device', 'default_device', 'devices', 'is_pinned', 'log', 'mem_alloc', 'memcpy_dtod', 'memcpy_dtoh', 'memcpy_htod', 'memset', 'pagelocked_empty', 'program_cache_directory', 'program_cache_stats', 'reset_log_sink', 'select_device', 'set_log_sink']
class Error(RuntimeError):
    pass
class OpenCLError(Error):
    pass
class BuildError(Error):
    pass
class Severity:
    """
    Log message severity, most severe first.
    
    Members:
    
      INTERNAL_ERROR
    
      ERROR
    
      WARNING
    
      INFO
    
      VERBOSE
    """
    ERROR: typing.ClassVar[Severity]
    INFO: typing.ClassVar[Severity]
    INTERNAL_ERROR: typing.ClassVar[Severity]
    VERBOSE: typing.ClassVar[Severity]
    WARNING: typing.ClassVar[Severity]
    __members__: typing.ClassVar[dict[str, Severity]]
    @typing.overload
    def __eq__(self, other: Severity) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: Severity) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class DataType:
    """
    Tensor element types (TensorRT's numbering).
    
    Members:
    
      FLOAT
    
      HALF
    
      INT8
    
      INT32
    
      BOOL
    
      UINT8
    
      INT64
    """
    BOOL: typing.ClassVar[DataType]
    FLOAT: typing.ClassVar[DataType]
    HALF: typing.ClassVar[DataType]
    INT32: typing.ClassVar[DataType]
    INT64: typing.ClassVar[DataType]
    INT8: typing.ClassVar[DataType]
    UINT8: typing.ClassVar[DataType]
    __members__: typing.ClassVar[dict[str, DataType]]
    @typing.overload
    def __eq__(self, other: DataType) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: DataType) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def itemsize(self) -> int:
        """
        Bytes per element.
        """
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class DeviceInfo:
    """
    An OpenCL device as mlprt sees it.
    """
    def __repr__(self) -> str:
        ...
    @property
    def compute_units(self) -> int:
        ...
    @property
    def coordinates(self) -> str:
        ...
    @property
    def device_index(self) -> int:
        ...
    @property
    def driver_version(self) -> str:
        ...
    @property
    def fingerprint(self) -> str:
        ...
    @property
    def fp16(self) -> bool:
        """
        Whether cl_khr_fp16 (half arithmetic) is exposed.
        """
    @property
    def global_memory(self) -> int:
        """
        Device memory in bytes.
        """
    @property
    def index(self) -> int:
        """
        Flat index, as MLPRT_DEVICE and select_device take it.
        """
    @property
    def max_allocation(self) -> int:
        """
        Largest single allocation in bytes.
        """
    @property
    def name(self) -> str:
        ...
    @property
    def opencl_version(self) -> str:
        ...
    @property
    def platform(self) -> str:
        ...
    @property
    def platform_index(self) -> int:
        ...
    @property
    def type(self) -> str:
        ...
    @property
    def vendor(self) -> str:
        ...
class Stream:
    """
    An in-order queue of copies and kernels on one device.
    """
    @staticmethod
    def from_handle(handle: typing.SupportsInt | typing.SupportsIndex) -> Stream:
        ...
    def __init__(self) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def is_done(self) -> bool:
        """
        True when all queued work has finished.
        """
    def synchronize(self) -> None:
        """
        Blocks until all work queued on the stream has finished.
        """
    @property
    def device(self) -> DeviceInfo:
        ...
    @property
    def handle(self) -> int:
        """
        Integer handle, accepted wherever a stream_handle is.
        """
class Event:
    """
    A marker in a stream; two give elapsed device time.
    """
    def __init__(self) -> None:
        ...
    def query(self) -> bool:
        ...
    def record(self, stream: typing.Any = None) -> Event:
        ...
    def synchronize(self) -> None:
        ...
    def time_since(self, start: Event) -> float:
        """
        Milliseconds of device time from start to this event.
        """
    def time_till(self, end: Event) -> float:
        """
        Milliseconds of device time from this event to end.
        """
class DeviceAllocation:
    """
    Device memory; int() gives its address.
    """
    def __enter__(self) -> DeviceAllocation:
        ...
    def __exit__(self, *args) -> None:
        ...
    def __index__(self) -> int:
        ...
    def __int__(self) -> int:
        ...
    def __repr__(self) -> str:
        ...
    def free(self) -> None:
        """
        Releases the memory now; the address stops being valid.
        """
    @property
    def device(self) -> DeviceInfo:
        ...
    @property
    def freed(self) -> bool:
        ...
    @property
    def nbytes(self) -> int:
        """
        Size in bytes.
        """
    @property
    def size(self) -> int:
        """
        Size in bytes.
        """
class PinnedHostBuffer:
    """
    Page-locked host memory, mapped for its lifetime; the base of pagelocked arrays.
    """
    def __repr__(self) -> str:
        ...
    @property
    def nbytes(self) -> int:
        ...
    @property
    def ptr(self) -> int:
        """
        Host address of the first byte.
        """
class Kernel:
    """
    One kernel of a Program, with its arguments.
    """
    def launch(self, stream: Stream, global_size: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], local_size: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex] = [], repeat: typing.SupportsInt | typing.SupportsIndex = 1) -> None:
        """
        Queues the kernel `repeat` times (from C++, without a Python call per launch).
        """
    def set_arg_buffer(self, index: typing.SupportsInt | typing.SupportsIndex, buffer: DeviceAllocation) -> None:
        ...
    def set_arg_bytes(self, index: typing.SupportsInt | typing.SupportsIndex, value: bytes) -> None:
        """
        Sets a by-value argument from its bytes.
        """
    def set_arg_local(self, index: typing.SupportsInt | typing.SupportsIndex, nbytes: typing.SupportsInt | typing.SupportsIndex) -> None:
        """
        Reserves local (shared) memory for an argument.
        """
    @property
    def name(self) -> str:
        ...
    @property
    def num_args(self) -> int:
        ...
class Program:
    """
    An OpenCL program built for the current device.
    """
    def __init__(self, source: str, options: str = '') -> None:
        ...
    def binary(self) -> bytes:
        ...
    def kernel(self, name: str) -> Kernel:
        ...
    @property
    def origin(self) -> str:
        """
        How this program was obtained: 'compiled' or 'disk-cache'.
        """
def current_device() -> DeviceInfo:
    """
    The device new allocations, streams and programs use.
    """
def default_device() -> DeviceInfo:
    """
    The device used when none is selected: MLPRT_DEVICE, else the first GPU, else the first CPU.
    """
def devices() -> list[DeviceInfo]:
    """
    All OpenCL devices of all platforms.
    """
def is_pinned(array: typing.Any) -> bool:
    """
    True when all of the array's memory lies in one pinned host buffer.
    """
def log(severity: Severity, message: str) -> None:
    """
    Logs a message through the core's logger.
    """
def mem_alloc(nbytes: typing.SupportsInt | typing.SupportsIndex) -> DeviceAllocation:
    """
    Allocates device memory on the current device.
    """
def memcpy_dtod(dest: typing.Any, src: typing.Any, nbytes: typing.SupportsInt | typing.SupportsIndex, stream: typing.Any = None, asynchronous: bool = False) -> None:
    ...
def memcpy_dtoh(dest: typing.Any, src: typing.Any, stream: typing.Any = None, asynchronous: bool = False) -> None:
    ...
def memcpy_htod(dest: typing.Any, src: typing.Any, stream: typing.Any = None, asynchronous: bool = False) -> None:
    ...
def memset(dest: typing.Any, value: typing.SupportsInt | typing.SupportsIndex, item_size: typing.SupportsInt | typing.SupportsIndex, count: typing.SupportsInt | typing.SupportsIndex, stream: typing.Any = None, asynchronous: bool = False) -> None:
    ...
def pagelocked_empty(shape: typing.Any, dtype: typing.Any, order: str = 'C') -> numpy.ndarray:
    """
    A NumPy array whose memory is a new pinned host buffer (uninitialized).
    """
def program_cache_directory() -> str:
    ...
def program_cache_stats() -> dict:
    """
    How many programs this process compiled, loaded from the disk cache, or reused.
    """
def reset_log_sink() -> None:
    """
    Sends core messages to stderr again.
    """
def select_device(selector: typing.Any) -> DeviceInfo:
    """
    Makes a device current: an index, 'platform:device', or part of its name.
    """
def set_log_sink(sink: collections.abc.Callable, min_severity: Severity) -> None:
    """
    Sends core messages at or above min_severity to sink(severity, message).
    """
__version__: str = '0.1.0'
