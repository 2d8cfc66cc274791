"""
mlprt's C++ core: OpenCL devices, memory, streams, programs
"""
from __future__ import annotations
import collections.abc
import numpy
import typing
__all__: list[str] = ['ActivationType', 'BuildError', 'DataType', 'DeviceAllocation', 'DeviceInfo', 'ElementWiseOperation', 'Error', 'Event', 'IActivationLayer', 'IConcatenationLayer', 'IConstantLayer', 'IElementWiseLayer', 'IIdentityLayer', 'ILayer', 'IMatrixMultiplyLayer', 'INetworkDefinition', 'INormalizationLayer', 'IReduceLayer', 'IShuffleLayer', 'ISoftMaxLayer', 'ITensor', 'IUnaryLayer', 'Kernel', 'LayerType', 'MatrixOperation', 'OpenCLError', 'PinnedHostBuffer', 'Program', 'ReduceOperation', 'Severity', 'Stream', 'UnaryOperation', 'current_device', 'default_device', 'devices', 'is_pinned', 'log', 'mem_alloc', 'memcpy_dtod', 'memcpy_dtoh', 'memcpy_htod', 'memset', 'pagelocked_empty', 'program_cache_directory', 'program_cache_stats', 'reset_log_sink', 'select_device', 'set_log_sink']
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
class LayerType:
    """
    Members:
    
      CONSTANT
    
      MATRIX_MULTIPLY
    
      ELEMENTWISE
    
      ACTIVATION
    
      UNARY
    
      SHUFFLE
    
      SOFTMAX
    
      REDUCE
    
      NORMALIZATION
    
      CONCATENATION
    
      IDENTITY
    """
    ACTIVATION: typing.ClassVar[LayerType]
    CONCATENATION: typing.ClassVar[LayerType]
    CONSTANT: typing.ClassVar[LayerType]
    ELEMENTWISE: typing.ClassVar[LayerType]
    IDENTITY: typing.ClassVar[LayerType]
    MATRIX_MULTIPLY: typing.ClassVar[LayerType]
    NORMALIZATION: typing.ClassVar[LayerType]
    REDUCE: typing.ClassVar[LayerType]
    SHUFFLE: typing.ClassVar[LayerType]
    SOFTMAX: typing.ClassVar[LayerType]
    UNARY: typing.ClassVar[LayerType]
    __members__: typing.ClassVar[dict[str, LayerType]]
    @typing.overload
    def __eq__(self, other: LayerType) -> bool:
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
    def __ne__(self, other: LayerType) -> bool:
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
class MatrixOperation:
    """
    Members:
    
      NONE
    
      TRANSPOSE
    """
    NONE: typing.ClassVar[MatrixOperation]
    TRANSPOSE: typing.ClassVar[MatrixOperation]
    __members__: typing.ClassVar[dict[str, MatrixOperation]]
    @typing.overload
    def __eq__(self, other: MatrixOperation) -> bool:
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
    def __ne__(self, other: MatrixOperation) -> bool:
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
class ElementWiseOperation:
    """
    Members:
    
      SUM
    
      PROD
    
      MAX
    
      MIN
    
      SUB
    
      DIV
    
      POW
    """
    DIV: typing.ClassVar[ElementWiseOperation]
    MAX: typing.ClassVar[ElementWiseOperation]
    MIN: typing.ClassVar[ElementWiseOperation]
    POW: typing.ClassVar[ElementWiseOperation]
    PROD: typing.ClassVar[ElementWiseOperation]
    SUB: typing.ClassVar[ElementWiseOperation]
    SUM: typing.ClassVar[ElementWiseOperation]
    __members__: typing.ClassVar[dict[str, ElementWiseOperation]]
    @typing.overload
    def __eq__(self, other: ElementWiseOperation) -> bool:
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
    def __ne__(self, other: ElementWiseOperation) -> bool:
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
class ActivationType:
    """
    Members:
    
      RELU
    
      SIGMOID
    
      TANH
    
      LEAKY_RELU
    
      ELU
    
      SELU
    
      SOFTPLUS
    
      CLIP
    
      HARD_SIGMOID
    
      GELU_ERF
    
      GELU_TANH
    
      HARD_SWISH
    """
    CLIP: typing.ClassVar[ActivationType]
    ELU: typing.ClassVar[ActivationType]
    GELU_ERF: typing.ClassVar[ActivationType]
    GELU_TANH: typing.ClassVar[ActivationType]
    HARD_SIGMOID: typing.ClassVar[ActivationType]
    HARD_SWISH: typing.ClassVar[ActivationType]
    LEAKY_RELU: typing.ClassVar[ActivationType]
    RELU: typing.ClassVar[ActivationType]
    SELU: typing.ClassVar[ActivationType]
    SIGMOID: typing.ClassVar[ActivationType]
    SOFTPLUS: typing.ClassVar[ActivationType]
    TANH: typing.ClassVar[ActivationType]
    __members__: typing.ClassVar[dict[str, ActivationType]]
    @typing.overload
    def __eq__(self, other: ActivationType) -> bool:
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
    def __ne__(self, other: ActivationType) -> bool:
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
class UnaryOperation:
    """
    Members:
    
      EXP
    
      LOG
    
      SQRT
    
      RECIP
    
      ABS
    
      NEG
    
      ERF
    """
    ABS: typing.ClassVar[UnaryOperation]
    ERF: typing.ClassVar[UnaryOperation]
    EXP: typing.ClassVar[UnaryOperation]
    LOG: typing.ClassVar[UnaryOperation]
    NEG: typing.ClassVar[UnaryOperation]
    RECIP: typing.ClassVar[UnaryOperation]
    SQRT: typing.ClassVar[UnaryOperation]
    __members__: typing.ClassVar[dict[str, UnaryOperation]]
    @typing.overload
    def __eq__(self, other: UnaryOperation) -> bool:
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
    def __ne__(self, other: UnaryOperation) -> bool:
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
class ReduceOperation:
    """
    Members:
    
      SUM
    
      PROD
    
      MAX
    
      MIN
    
      AVG
    """
    AVG: typing.ClassVar[ReduceOperation]
    MAX: typing.ClassVar[ReduceOperation]
    MIN: typing.ClassVar[ReduceOperation]
    PROD: typing.ClassVar[ReduceOperation]
    SUM: typing.ClassVar[ReduceOperation]
    __members__: typing.ClassVar[dict[str, ReduceOperation]]
    @typing.overload
    def __eq__(self, other: ReduceOperation) -> bool:
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
    def __ne__(self, other: ReduceOperation) -> bool:
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
class ITensor:
    """
    A tensor of a network definition.
    """
    name: str
    def __eq__(self, arg0: ITensor) -> bool:
        ...
    def __hash__(self) -> int:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def dtype(self) -> DataType:
        ...
    @property
    def is_network_input(self) -> bool:
        ...
    @property
    def is_network_output(self) -> bool:
        ...
    @property
    def shape(self) -> tuple:
        """
        Dimensions; -1 where they depend on input shapes.
        """
class ILayer:
    """
    A layer of a network definition.
    """
    name: str
    def __repr__(self) -> str:
        ...
    def get_input(self, index: typing.SupportsInt | typing.SupportsIndex) -> ITensor:
        ...
    def get_output(self, index: typing.SupportsInt | typing.SupportsIndex) -> ITensor:
        ...
    def set_input(self, index: typing.SupportsInt | typing.SupportsIndex, tensor: ITensor) -> None:
        ...
    @property
    def num_inputs(self) -> int:
        ...
    @property
    def num_outputs(self) -> int:
        ...
    @property
    def type(self) -> LayerType:
        """
        The layer kind (IActivationLayer.type is the activation instead, as in TensorRT).
        """
class IMatrixMultiplyLayer(ILayer):
    def get_operation(self: ILayer, index: typing.SupportsInt | typing.SupportsIndex) -> MatrixOperation:
        ...
    def set_operation(self: ILayer, index: typing.SupportsInt | typing.SupportsIndex, op: MatrixOperation) -> None:
        ...
class IElementWiseLayer(ILayer):
    @property
    def op(self) -> ElementWiseOperation:
        """
        The operation.
        """
    @op.setter
    def op(self, arg1: ElementWiseOperation) -> None:
        ...
class IActivationLayer(ILayer):
    @property
    def alpha(self) -> float:
        """
        First parameter (slope, limit, ...).
        """
    @alpha.setter
    def alpha(self, arg1: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def beta(self) -> float:
        """
        Second parameter.
        """
    @beta.setter
    def beta(self, arg1: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def type(self) -> ActivationType:
        """
        The activation function.
        """
    @type.setter
    def type(self, arg1: ActivationType) -> None:
        ...
class IUnaryLayer(ILayer):
    @property
    def op(self) -> UnaryOperation:
        """
        The operation.
        """
    @op.setter
    def op(self, arg1: UnaryOperation) -> None:
        ...
class IShuffleLayer(ILayer):
    @property
    def first_transpose(self) -> list[int]:
        """
        Permutation before the reshape.
        """
    @first_transpose.setter
    def first_transpose(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def reshape_dims(self) -> typing.Any:
        """
        New shape: 0 copies the input extent, -1 is inferred.
        """
    @reshape_dims.setter
    def reshape_dims(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def second_transpose(self) -> list[int]:
        """
        Permutation after the reshape.
        """
    @second_transpose.setter
    def second_transpose(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
class ISoftMaxLayer(ILayer):
    @property
    def axes(self) -> int:
        """
        Bit mask with the one axis softmax runs over.
        """
    @axes.setter
    def axes(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class IReduceLayer(ILayer):
    @property
    def axes(self) -> int:
        """
        Bit mask of reduced axes.
        """
    @axes.setter
    def axes(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def keep_dims(self) -> bool:
        """
        Keep reduced axes as 1.
        """
    @keep_dims.setter
    def keep_dims(self, arg1: bool) -> None:
        ...
    @property
    def op(self) -> ReduceOperation:
        """
        The reduction.
        """
    @op.setter
    def op(self, arg1: ReduceOperation) -> None:
        ...
class INormalizationLayer(ILayer):
    @property
    def axes(self) -> int:
        """
        Bit mask of normalized axes.
        """
    @axes.setter
    def axes(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def epsilon(self) -> float:
        """
        Added to the variance.
        """
    @epsilon.setter
    def epsilon(self, arg1: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class IConcatenationLayer(ILayer):
    @property
    def axis(self) -> int:
        """
        The axis joined along.
        """
    @axis.setter
    def axis(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class IConstantLayer(ILayer):
    @property
    def shape(self) -> tuple:
        ...
    @property
    def weights(self) -> numpy.ndarray:
        """
        A NumPy copy of the values, shaped like the constant.
        """
class IIdentityLayer(ILayer):
    @property
    def to_type(self) -> DataType:
        """
        Output element type (a cast when it differs).
        """
    @to_type.setter
    def to_type(self, arg1: DataType) -> None:
        ...
class INetworkDefinition:
    """
    The layers and tensors of a model.
    """
    def __getitem__(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> typing.Any:
        ...
    def __init__(self) -> None:
        ...
    def __len__(self) -> int:
        ...
    def add_activation(self, input: ITensor, type: ActivationType) -> typing.Any:
        ...
    def add_cast(self, input: ITensor, to_type: DataType) -> typing.Any:
        ...
    def add_concatenation(self, inputs: collections.abc.Sequence[ITensor], axis: typing.SupportsInt | typing.SupportsIndex = 0) -> typing.Any:
        """
        Joins the inputs along `axis` (0 unless given; change with .axis). Shapes are checked at once, so inputs that differ on axis 0 need `axis` here.
        """
    def add_constant(self, shape: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], weights: numpy.ndarray) -> typing.Any:
        ...
    def add_elementwise(self, input1: ITensor, input2: ITensor, op: ElementWiseOperation) -> typing.Any:
        ...
    def add_identity(self, input: ITensor) -> typing.Any:
        ...
    def add_input(self, name: str, dtype: DataType, shape: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> ITensor:
        ...
    def add_matrix_multiply(self, input0: ITensor, op0: MatrixOperation, input1: ITensor, op1: MatrixOperation) -> typing.Any:
        ...
    def add_normalization(self, input: ITensor, scale: ITensor, bias: ITensor, axesMask: typing.SupportsInt | typing.SupportsIndex) -> typing.Any:
        ...
    def add_reduce(self, input: ITensor, op: ReduceOperation, axes: typing.SupportsInt | typing.SupportsIndex, keep_dims: bool) -> typing.Any:
        ...
    def add_shuffle(self, input: ITensor) -> typing.Any:
        ...
    def add_softmax(self, input: ITensor) -> typing.Any:
        """
        Softmax over the last axis (change with .axes).
        """
    def add_unary(self, input: ITensor, op: UnaryOperation) -> typing.Any:
        ...
    def get_input(self, index: typing.SupportsInt | typing.SupportsIndex) -> ITensor:
        ...
    def get_layer(self, index: typing.SupportsInt | typing.SupportsIndex) -> typing.Any:
        ...
    def get_output(self, index: typing.SupportsInt | typing.SupportsIndex) -> ITensor:
        ...
    def mark_output(self, tensor: ITensor) -> None:
        ...
    def unmark_output(self, tensor: ITensor) -> None:
        ...
    @property
    def num_inputs(self) -> int:
        ...
    @property
    def num_layers(self) -> int:
        ...
    @property
    def num_outputs(self) -> int:
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
