"""
mlprt's C++ core: OpenCL devices, memory, streams, programs
"""
from __future__ import annotations
import collections.abc
import numpy
import typing
import typing_extensions
__all__: list[str] = ['ActivationType', 'BuildError', 'Builder', 'BuilderConfig', 'BuilderFlag', 'CumulativeOperation', 'DataType', 'DeviceAllocation', 'DeviceInfo', 'DeviceType', 'ElementWiseOperation', 'EngineCapability', 'EngineInspector', 'Error', 'Event', 'ExecutionContextAllocationStrategy', 'GatherMode', 'HardwareCompatibilityLevel', 'IActivationLayer', 'IAxisRangeLayer', 'IBuilderConfig', 'IConcatenationLayer', 'IConstantLayer', 'IConvolutionLayer', 'ICudaEngine', 'ICumulativeLayer', 'IDeconvolutionLayer', 'IElementWiseLayer', 'IExecutionContext', 'IGatherLayer', 'IHostMemory', 'IIdentityLayer', 'ILRNLayer', 'ILayer', 'IMatrixMultiplyLayer', 'INetworkDefinition', 'INormalizationLayer', 'IOptimizationProfile', 'IPoolingLayer', 'IReduceLayer', 'IResizeLayer', 'IScatterLayer', 'ISelectLayer', 'IShuffleLayer', 'ISliceLayer', 'ISoftMaxLayer', 'ITensor', 'ITimingCache', 'ITopKLayer', 'IUnaryLayer', 'InterpolationMode', 'Kernel', 'LayerInformationFormat', 'LayerType', 'MatrixOperation', 'MemoryPoolType', 'NetworkDefinitionCreationFlag', 'OpenCLError', 'PaddingMode', 'PinnedHostBuffer', 'PoolingType', 'ProfilingVerbosity', 'Program', 'ReduceOperation', 'ResizeCoordinateTransformation', 'ResizeRoundMode', 'ResizeSelector', 'Runtime', 'SampleMode', 'ScatterMode', 'ScatterReduction', 'Severity', 'Stream', 'TacticSource', 'TensorFormat', 'TensorIOMode', 'TensorLocation', 'TopKOperation', 'UnaryOperation', 'compile_helper_path', 'current_device', 'default_device', 'devices', 'engine_checksum', 'finish_streams', 'is_pinned', 'is_pinned_address', 'live_allocations', 'log', 'mem_alloc', 'memcpy_dtod', 'memcpy_dtoh', 'memcpy_htod', 'memset', 'pagelocked_empty', 'program_binaries_kept', 'program_cache_directory', 'program_cache_stats', 'reset_log_sink', 'select_device', 'set_compile_helper_path', 'set_log_sink']
class DeviceType:
    """
    Members:
    
      GPU
    
      DLA
    """
    DLA: typing.ClassVar[DeviceType]
    GPU: typing.ClassVar[DeviceType]
    __members__: typing.ClassVar[dict[str, DeviceType]]
    @typing.overload
    def __eq__(self, other: DeviceType) -> bool:
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
    def __ne__(self, other: DeviceType) -> bool:
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
class EngineCapability:
    """
    Members:
    
      STANDARD
    
      SAFETY
    
      DLA_STANDALONE
    
      DEFAULT
    """
    DEFAULT: typing.ClassVar[EngineCapability]
    DLA_STANDALONE: typing.ClassVar[EngineCapability]
    SAFETY: typing.ClassVar[EngineCapability]
    STANDARD: typing.ClassVar[EngineCapability]
    __members__: typing.ClassVar[dict[str, EngineCapability]]
    @typing.overload
    def __eq__(self, other: EngineCapability) -> bool:
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
    def __ne__(self, other: EngineCapability) -> bool:
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
class Error(RuntimeError):
    pass
class HardwareCompatibilityLevel:
    """
    Members:
    
      NONE
    
      AMPERE_PLUS
    
      SAME_COMPUTE_CAPABILITY
    """
    AMPERE_PLUS: typing.ClassVar[HardwareCompatibilityLevel]
    NONE: typing.ClassVar[HardwareCompatibilityLevel]
    SAME_COMPUTE_CAPABILITY: typing.ClassVar[HardwareCompatibilityLevel]
    __members__: typing.ClassVar[dict[str, HardwareCompatibilityLevel]]
    @typing.overload
    def __eq__(self, other: HardwareCompatibilityLevel) -> bool:
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
    def __ne__(self, other: HardwareCompatibilityLevel) -> bool:
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
class OpenCLError(Error):
    pass
class BuildError(Error):
    pass
class ProfilingVerbosity:
    """
    Members:
    
      LAYER_NAMES_ONLY
    
      NONE
    
      DETAILED
    
      DEFAULT
    
      VERBOSE
    """
    DEFAULT: typing.ClassVar[ProfilingVerbosity]
    DETAILED: typing.ClassVar[ProfilingVerbosity]
    LAYER_NAMES_ONLY: typing.ClassVar[ProfilingVerbosity]
    NONE: typing.ClassVar[ProfilingVerbosity]
    VERBOSE: typing.ClassVar[ProfilingVerbosity]
    __members__: typing.ClassVar[dict[str, ProfilingVerbosity]]
    @typing.overload
    def __eq__(self, other: ProfilingVerbosity) -> bool:
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
    def __ne__(self, other: ProfilingVerbosity) -> bool:
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
    
      SELECT
    
      CONVOLUTION
    
      POOLING
    
      DECONVOLUTION
    
      SLICE
    
      RESIZE
    
      LRN
    
      GATHER
    
      TOPK
    
      SCATTER
    
      CUMULATIVE
    
      ATTENTION
    
      AXIS_RANGE
    """
    ACTIVATION: typing.ClassVar[LayerType]
    ATTENTION: typing.ClassVar[LayerType]
    AXIS_RANGE: typing.ClassVar[LayerType]
    CONCATENATION: typing.ClassVar[LayerType]
    CONSTANT: typing.ClassVar[LayerType]
    CONVOLUTION: typing.ClassVar[LayerType]
    CUMULATIVE: typing.ClassVar[LayerType]
    DECONVOLUTION: typing.ClassVar[LayerType]
    ELEMENTWISE: typing.ClassVar[LayerType]
    GATHER: typing.ClassVar[LayerType]
    IDENTITY: typing.ClassVar[LayerType]
    LRN: typing.ClassVar[LayerType]
    MATRIX_MULTIPLY: typing.ClassVar[LayerType]
    NORMALIZATION: typing.ClassVar[LayerType]
    POOLING: typing.ClassVar[LayerType]
    REDUCE: typing.ClassVar[LayerType]
    RESIZE: typing.ClassVar[LayerType]
    SCATTER: typing.ClassVar[LayerType]
    SELECT: typing.ClassVar[LayerType]
    SHUFFLE: typing.ClassVar[LayerType]
    SLICE: typing.ClassVar[LayerType]
    SOFTMAX: typing.ClassVar[LayerType]
    TOPK: typing.ClassVar[LayerType]
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
class ScatterMode:
    """
    Members:
    
      ELEMENT
    
      ND
    """
    ELEMENT: typing.ClassVar[ScatterMode]
    ND: typing.ClassVar[ScatterMode]
    __members__: typing.ClassVar[dict[str, ScatterMode]]
    @typing.overload
    def __eq__(self, other: ScatterMode) -> bool:
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
    def __ne__(self, other: ScatterMode) -> bool:
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
class ScatterReduction:
    """
    mlprt's own: how IScatterLayer combines an update with its target (ONNX's reduction).
    
    Members:
    
      NONE
    
      SUM
    
      PROD
    
      MAX
    
      MIN
    """
    MAX: typing.ClassVar[ScatterReduction]
    MIN: typing.ClassVar[ScatterReduction]
    NONE: typing.ClassVar[ScatterReduction]
    PROD: typing.ClassVar[ScatterReduction]
    SUM: typing.ClassVar[ScatterReduction]
    __members__: typing.ClassVar[dict[str, ScatterReduction]]
    @typing.overload
    def __eq__(self, other: ScatterReduction) -> bool:
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
    def __ne__(self, other: ScatterReduction) -> bool:
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
class CumulativeOperation:
    """
    Members:
    
      SUM
    
      PROD
    """
    PROD: typing.ClassVar[CumulativeOperation]
    SUM: typing.ClassVar[CumulativeOperation]
    __members__: typing.ClassVar[dict[str, CumulativeOperation]]
    @typing.overload
    def __eq__(self, other: CumulativeOperation) -> bool:
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
    def __ne__(self, other: CumulativeOperation) -> bool:
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
class TensorFormat:
    """
    Members:
    
      LINEAR
    
      CHW2
    
      HWC8
    
      CHW4
    
      CHW16
    
      CHW32
    
      DHWC8
    
      CDHW32
    
      HWC
    
      DLA_LINEAR
    
      DLA_HWC4
    
      HWC16
    
      DHWC
    """
    CDHW32: typing.ClassVar[TensorFormat]
    CHW16: typing.ClassVar[TensorFormat]
    CHW2: typing.ClassVar[TensorFormat]
    CHW32: typing.ClassVar[TensorFormat]
    CHW4: typing.ClassVar[TensorFormat]
    DHWC: typing.ClassVar[TensorFormat]
    DHWC8: typing.ClassVar[TensorFormat]
    DLA_HWC4: typing.ClassVar[TensorFormat]
    DLA_LINEAR: typing.ClassVar[TensorFormat]
    HWC: typing.ClassVar[TensorFormat]
    HWC16: typing.ClassVar[TensorFormat]
    HWC8: typing.ClassVar[TensorFormat]
    LINEAR: typing.ClassVar[TensorFormat]
    __members__: typing.ClassVar[dict[str, TensorFormat]]
    @typing.overload
    def __eq__(self, other: TensorFormat) -> bool:
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
    def __ne__(self, other: TensorFormat) -> bool:
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
class TensorLocation:
    """
    Members:
    
      DEVICE
    
      HOST
    """
    DEVICE: typing.ClassVar[TensorLocation]
    HOST: typing.ClassVar[TensorLocation]
    __members__: typing.ClassVar[dict[str, TensorLocation]]
    @typing.overload
    def __eq__(self, other: TensorLocation) -> bool:
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
    def __ne__(self, other: TensorLocation) -> bool:
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
class TopKOperation:
    """
    Members:
    
      MAX
    
      MIN
    """
    MAX: typing.ClassVar[TopKOperation]
    MIN: typing.ClassVar[TopKOperation]
    __members__: typing.ClassVar[dict[str, TopKOperation]]
    @typing.overload
    def __eq__(self, other: TopKOperation) -> bool:
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
    def __ne__(self, other: TopKOperation) -> bool:
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
class GatherMode:
    """
    Members:
    
      DEFAULT
    
      ELEMENT
    """
    DEFAULT: typing.ClassVar[GatherMode]
    ELEMENT: typing.ClassVar[GatherMode]
    __members__: typing.ClassVar[dict[str, GatherMode]]
    @typing.overload
    def __eq__(self, other: GatherMode) -> bool:
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
    def __ne__(self, other: GatherMode) -> bool:
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
class InterpolationMode:
    """
    Members:
    
      NEAREST
    
      LINEAR
    
      CUBIC
    """
    CUBIC: typing.ClassVar[InterpolationMode]
    LINEAR: typing.ClassVar[InterpolationMode]
    NEAREST: typing.ClassVar[InterpolationMode]
    __members__: typing.ClassVar[dict[str, InterpolationMode]]
    @typing.overload
    def __eq__(self, other: InterpolationMode) -> bool:
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
    def __ne__(self, other: InterpolationMode) -> bool:
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
class ResizeCoordinateTransformation:
    """
    Members:
    
      ALIGN_CORNERS
    
      ASYMMETRIC
    
      HALF_PIXEL
    """
    ALIGN_CORNERS: typing.ClassVar[ResizeCoordinateTransformation]
    ASYMMETRIC: typing.ClassVar[ResizeCoordinateTransformation]
    HALF_PIXEL: typing.ClassVar[ResizeCoordinateTransformation]
    __members__: typing.ClassVar[dict[str, ResizeCoordinateTransformation]]
    @typing.overload
    def __eq__(self, other: ResizeCoordinateTransformation) -> bool:
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
    def __ne__(self, other: ResizeCoordinateTransformation) -> bool:
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
class ResizeSelector:
    """
    Members:
    
      FORMULA
    
      UPPER
    """
    FORMULA: typing.ClassVar[ResizeSelector]
    UPPER: typing.ClassVar[ResizeSelector]
    __members__: typing.ClassVar[dict[str, ResizeSelector]]
    @typing.overload
    def __eq__(self, other: ResizeSelector) -> bool:
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
    def __ne__(self, other: ResizeSelector) -> bool:
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
class ResizeRoundMode:
    """
    Members:
    
      HALF_UP
    
      HALF_DOWN
    
      FLOOR
    
      CEIL
    """
    CEIL: typing.ClassVar[ResizeRoundMode]
    FLOOR: typing.ClassVar[ResizeRoundMode]
    HALF_DOWN: typing.ClassVar[ResizeRoundMode]
    HALF_UP: typing.ClassVar[ResizeRoundMode]
    __members__: typing.ClassVar[dict[str, ResizeRoundMode]]
    @typing.overload
    def __eq__(self, other: ResizeRoundMode) -> bool:
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
    def __ne__(self, other: ResizeRoundMode) -> bool:
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
class SampleMode:
    """
    Members:
    
      STRICT_BOUNDS
    
      WRAP
    
      CLAMP
    
      FILL
    
      REFLECT
    """
    CLAMP: typing.ClassVar[SampleMode]
    FILL: typing.ClassVar[SampleMode]
    REFLECT: typing.ClassVar[SampleMode]
    STRICT_BOUNDS: typing.ClassVar[SampleMode]
    WRAP: typing.ClassVar[SampleMode]
    __members__: typing.ClassVar[dict[str, SampleMode]]
    @typing.overload
    def __eq__(self, other: SampleMode) -> bool:
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
    def __ne__(self, other: SampleMode) -> bool:
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
class PaddingMode:
    """
    Members:
    
      EXPLICIT_ROUND_DOWN
    
      EXPLICIT_ROUND_UP
    
      SAME_UPPER
    
      SAME_LOWER
    """
    EXPLICIT_ROUND_DOWN: typing.ClassVar[PaddingMode]
    EXPLICIT_ROUND_UP: typing.ClassVar[PaddingMode]
    SAME_LOWER: typing.ClassVar[PaddingMode]
    SAME_UPPER: typing.ClassVar[PaddingMode]
    __members__: typing.ClassVar[dict[str, PaddingMode]]
    @typing.overload
    def __eq__(self, other: PaddingMode) -> bool:
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
    def __ne__(self, other: PaddingMode) -> bool:
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
class PoolingType:
    """
    Members:
    
      MAX
    
      AVERAGE
    """
    AVERAGE: typing.ClassVar[PoolingType]
    MAX: typing.ClassVar[PoolingType]
    __members__: typing.ClassVar[dict[str, PoolingType]]
    @typing.overload
    def __eq__(self, other: PoolingType) -> bool:
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
    def __ne__(self, other: PoolingType) -> bool:
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
    
      FLOOR_DIV
    
      AND
    
      OR
    
      XOR
    
      EQUAL
    
      GREATER
    
      LESS
    
      MOD
    
      FMOD
    
      BITWISE_AND
    
      BITWISE_OR
    
      BITWISE_XOR
    
      SHIFT_LEFT
    
      SHIFT_RIGHT
    """
    AND: typing.ClassVar[ElementWiseOperation]
    BITWISE_AND: typing.ClassVar[ElementWiseOperation]
    BITWISE_OR: typing.ClassVar[ElementWiseOperation]
    BITWISE_XOR: typing.ClassVar[ElementWiseOperation]
    DIV: typing.ClassVar[ElementWiseOperation]
    EQUAL: typing.ClassVar[ElementWiseOperation]
    FLOOR_DIV: typing.ClassVar[ElementWiseOperation]
    FMOD: typing.ClassVar[ElementWiseOperation]
    GREATER: typing.ClassVar[ElementWiseOperation]
    LESS: typing.ClassVar[ElementWiseOperation]
    MAX: typing.ClassVar[ElementWiseOperation]
    MIN: typing.ClassVar[ElementWiseOperation]
    MOD: typing.ClassVar[ElementWiseOperation]
    OR: typing.ClassVar[ElementWiseOperation]
    POW: typing.ClassVar[ElementWiseOperation]
    PROD: typing.ClassVar[ElementWiseOperation]
    SHIFT_LEFT: typing.ClassVar[ElementWiseOperation]
    SHIFT_RIGHT: typing.ClassVar[ElementWiseOperation]
    SUB: typing.ClassVar[ElementWiseOperation]
    SUM: typing.ClassVar[ElementWiseOperation]
    XOR: typing.ClassVar[ElementWiseOperation]
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
    
      SILU
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
    SILU: typing.ClassVar[ActivationType]
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
    
      NOT
    
      FLOOR
    
      CEIL
    
      ROUND
    
      SIGN
    
      ISNAN
    
      ISINF
    
      SIN
    
      COS
    
      TAN
    
      ASIN
    
      ACOS
    
      ATAN
    
      SINH
    
      COSH
    
      ASINH
    
      ACOSH
    
      ATANH
    """
    ABS: typing.ClassVar[UnaryOperation]
    ACOS: typing.ClassVar[UnaryOperation]
    ACOSH: typing.ClassVar[UnaryOperation]
    ASIN: typing.ClassVar[UnaryOperation]
    ASINH: typing.ClassVar[UnaryOperation]
    ATAN: typing.ClassVar[UnaryOperation]
    ATANH: typing.ClassVar[UnaryOperation]
    CEIL: typing.ClassVar[UnaryOperation]
    COS: typing.ClassVar[UnaryOperation]
    COSH: typing.ClassVar[UnaryOperation]
    ERF: typing.ClassVar[UnaryOperation]
    EXP: typing.ClassVar[UnaryOperation]
    FLOOR: typing.ClassVar[UnaryOperation]
    ISINF: typing.ClassVar[UnaryOperation]
    ISNAN: typing.ClassVar[UnaryOperation]
    LOG: typing.ClassVar[UnaryOperation]
    NEG: typing.ClassVar[UnaryOperation]
    NOT: typing.ClassVar[UnaryOperation]
    RECIP: typing.ClassVar[UnaryOperation]
    ROUND: typing.ClassVar[UnaryOperation]
    SIGN: typing.ClassVar[UnaryOperation]
    SIN: typing.ClassVar[UnaryOperation]
    SINH: typing.ClassVar[UnaryOperation]
    SQRT: typing.ClassVar[UnaryOperation]
    TAN: typing.ClassVar[UnaryOperation]
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
class ISelectLayer(ILayer):
    pass
class IIdentityLayer(ILayer):
    @property
    def to_type(self) -> DataType:
        """
        Output element type (a cast when it differs).
        """
    @to_type.setter
    def to_type(self, arg1: DataType) -> None:
        ...
class IConvolutionLayer(ILayer):
    @property
    def bias(self) -> typing.Any:
        """
        A NumPy copy of the bias, or None.
        """
    @property
    def dilation_nd(self) -> tuple:
        """
        Kernel dilation per spatial axis.
        """
    @dilation_nd.setter
    def dilation_nd(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def kernel(self) -> typing.Any:
        """
        A NumPy copy of the kernel (output maps, input channels / groups, spatial...).
        """
    @property
    def kernel_size_nd(self) -> tuple:
        """
        Kernel extent per spatial axis.
        """
    @kernel_size_nd.setter
    def kernel_size_nd(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def num_groups(self) -> int:
        """
        Channel groups (input channels = groups x kernel channels).
        """
    @num_groups.setter
    def num_groups(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def num_output_maps(self) -> int:
        """
        Output channels.
        """
    @num_output_maps.setter
    def num_output_maps(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def padding_mode(self) -> PaddingMode:
        """
        How padding and the output extent are found.
        """
    @padding_mode.setter
    def padding_mode(self, arg1: PaddingMode) -> None:
        ...
    @property
    def padding_nd(self) -> tuple:
        """
        Padding on both sides of each spatial axis (sets pre_padding and post_padding).
        """
    @padding_nd.setter
    def padding_nd(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def post_padding(self) -> tuple:
        """
        Zeros after each spatial axis.
        """
    @post_padding.setter
    def post_padding(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def pre_padding(self) -> tuple:
        """
        Zeros before each spatial axis.
        """
    @pre_padding.setter
    def pre_padding(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def stride_nd(self) -> tuple:
        """
        Stride per spatial axis.
        """
    @stride_nd.setter
    def stride_nd(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
class IDeconvolutionLayer(ILayer):
    @property
    def bias(self) -> typing.Any:
        """
        A NumPy copy of the bias, or None.
        """
    @property
    def dilation_nd(self) -> tuple:
        """
        Kernel dilation per spatial axis.
        """
    @dilation_nd.setter
    def dilation_nd(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def kernel(self) -> typing.Any:
        """
        A NumPy copy of the kernel (input channels, output maps / groups, spatial...).
        """
    @property
    def kernel_size_nd(self) -> tuple:
        """
        Kernel extent per spatial axis.
        """
    @kernel_size_nd.setter
    def kernel_size_nd(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def num_groups(self) -> int:
        """
        Channel groups.
        """
    @num_groups.setter
    def num_groups(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def num_output_maps(self) -> int:
        """
        Output channels.
        """
    @num_output_maps.setter
    def num_output_maps(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def output_padding(self) -> tuple:
        """
        Output elements added after each spatial axis.
        """
    @output_padding.setter
    def output_padding(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def padding_mode(self) -> PaddingMode:
        """
        Explicit cropping, or SAME (output = input x stride).
        """
    @padding_mode.setter
    def padding_mode(self, arg1: PaddingMode) -> None:
        ...
    @property
    def padding_nd(self) -> tuple:
        """
        Padding on both sides of each spatial axis (sets pre_padding and post_padding).
        """
    @padding_nd.setter
    def padding_nd(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def post_padding(self) -> tuple:
        """
        Output elements cropped after each spatial axis.
        """
    @post_padding.setter
    def post_padding(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def pre_padding(self) -> tuple:
        """
        Output elements cropped before each spatial axis.
        """
    @pre_padding.setter
    def pre_padding(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def stride_nd(self) -> tuple:
        """
        Stride per spatial axis.
        """
    @stride_nd.setter
    def stride_nd(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
class ISliceLayer(ILayer):
    @property
    def fill_value(self) -> float:
        """
        The value SampleMode.FILL reads outside the input.
        """
    @fill_value.setter
    def fill_value(self, arg1: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def mode(self) -> SampleMode:
        """
        What coordinates outside the input read.
        """
    @mode.setter
    def mode(self, arg1: SampleMode) -> None:
        ...
    @property
    def shape(self) -> tuple:
        """
        Output extent per axis (-1: the input's whole extent).
        """
    @shape.setter
    def shape(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def start(self) -> tuple:
        """
        First coordinate read on each axis.
        """
    @start.setter
    def start(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def stride(self) -> tuple:
        """
        Step between coordinates per axis (negative reads backwards).
        """
    @stride.setter
    def stride(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
class IResizeLayer(ILayer):
    @property
    def coordinate_transformation(self) -> ResizeCoordinateTransformation:
        """
        How output coordinates map to the input.
        """
    @coordinate_transformation.setter
    def coordinate_transformation(self, arg1: ResizeCoordinateTransformation) -> None:
        ...
    @property
    def cubic_coeff(self) -> float:
        """
        The cubic kernel's coefficient A.
        """
    @cubic_coeff.setter
    def cubic_coeff(self, arg1: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def exclude_outside(self) -> bool:
        """
        CUBIC drops taps outside the input.
        """
    @exclude_outside.setter
    def exclude_outside(self, arg1: bool) -> None:
        ...
    @property
    def nearest_rounding(self) -> ResizeRoundMode:
        """
        How NEAREST rounds coordinates.
        """
    @nearest_rounding.setter
    def nearest_rounding(self, arg1: ResizeRoundMode) -> None:
        ...
    @property
    def resize_mode(self) -> InterpolationMode:
        """
        NEAREST, LINEAR or CUBIC.
        """
    @resize_mode.setter
    def resize_mode(self, arg1: InterpolationMode) -> None:
        ...
    @property
    def scales(self) -> list[float]:
        """
        Scale per axis, or empty to use shape.
        """
    @scales.setter
    def scales(self, arg1: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
    @property
    def selector_for_single_pixel(self) -> ResizeSelector:
        """
        UPPER: an output extent of 1 reads input 0.
        """
    @selector_for_single_pixel.setter
    def selector_for_single_pixel(self, arg1: ResizeSelector) -> None:
        ...
    @property
    def shape(self) -> tuple:
        """
        Output extents (-1: from the scale), or empty to use scales.
        """
    @shape.setter
    def shape(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
class ILRNLayer(ILayer):
    @property
    def alpha(self) -> float:
        """
        Scale of the sum of squares.
        """
    @alpha.setter
    def alpha(self, arg1: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def beta(self) -> float:
        """
        Exponent.
        """
    @beta.setter
    def beta(self, arg1: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def k(self) -> float:
        """
        Bias.
        """
    @k.setter
    def k(self, arg1: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def window_size(self) -> int:
        """
        Channels in the window.
        """
    @window_size.setter
    def window_size(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class IGatherLayer(ILayer):
    @property
    def gather_axis(self) -> int:
        """
        The axis of data the indices select along.
        """
    @gather_axis.setter
    def gather_axis(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def mode(self) -> GatherMode:
        """
        DEFAULT (Gather) or ELEMENT (GatherElements).
        """
    @mode.setter
    def mode(self, arg1: GatherMode) -> None:
        ...
class ITopKLayer(ILayer):
    @property
    def axes(self) -> int:
        """
        Bit mask with the one axis to select along.
        """
    @axes.setter
    def axes(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def k(self) -> int:
        """
        How many elements to keep.
        """
    @k.setter
    def k(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def op(self) -> TopKOperation:
        """
        MAX (largest first) or MIN (smallest first).
        """
    @op.setter
    def op(self, arg1: TopKOperation) -> None:
        ...
class IScatterLayer(ILayer):
    @property
    def axis(self) -> int:
        """
        The axis the indices address (ELEMENT mode).
        """
    @axis.setter
    def axis(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def mode(self) -> ScatterMode:
        """
        ELEMENT (ScatterElements) or ND (ScatterND).
        """
    @mode.setter
    def mode(self, arg1: ScatterMode) -> None:
        ...
    @property
    def reduction(self) -> ScatterReduction:
        """
        NONE (replace), SUM, PROD, MAX or MIN.
        """
    @reduction.setter
    def reduction(self, arg1: ScatterReduction) -> None:
        ...
class ICumulativeLayer(ILayer):
    @property
    def axis(self) -> int:
        """
        The axis summed along.
        """
    @axis.setter
    def axis(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def exclusive(self) -> bool:
        """
        Whether an element is left out of its own sum.
        """
    @exclusive.setter
    def exclusive(self, arg1: bool) -> None:
        ...
    @property
    def op(self) -> CumulativeOperation:
        """
        SUM.
        """
    @op.setter
    def op(self, arg1: CumulativeOperation) -> None:
        ...
    @property
    def reverse(self) -> bool:
        """
        Whether the sums run from the end of the axis.
        """
    @reverse.setter
    def reverse(self, arg1: bool) -> None:
        ...
class IAxisRangeLayer(ILayer):
    @property
    def axis(self) -> int:
        """
        The axis whose extent n gives 0, 1, ..., n - 1.
        """
    @axis.setter
    def axis(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def output_type(self) -> DataType:
        """
        FLOAT, HALF, INT32 or INT64.
        """
    @output_type.setter
    def output_type(self, arg1: DataType) -> None:
        ...
class IPoolingLayer(ILayer):
    @property
    def average_count_excludes_padding(self) -> bool:
        """
        Average over the input elements of a window only.
        """
    @average_count_excludes_padding.setter
    def average_count_excludes_padding(self, arg1: bool) -> None:
        ...
    @property
    def dilation_nd(self) -> tuple:
        """
        Window dilation per spatial axis.
        """
    @dilation_nd.setter
    def dilation_nd(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def padding_mode(self) -> PaddingMode:
        """
        How padding and the output extent are found.
        """
    @padding_mode.setter
    def padding_mode(self, arg1: PaddingMode) -> None:
        ...
    @property
    def padding_nd(self) -> tuple:
        """
        Padding on both sides of each spatial axis (sets pre_padding and post_padding).
        """
    @padding_nd.setter
    def padding_nd(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def post_padding(self) -> tuple:
        """
        Padding after each spatial axis.
        """
    @post_padding.setter
    def post_padding(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def pre_padding(self) -> tuple:
        """
        Padding before each spatial axis.
        """
    @pre_padding.setter
    def pre_padding(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def stride_nd(self) -> tuple:
        """
        Stride per spatial axis.
        """
    @stride_nd.setter
    def stride_nd(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def type(self) -> PoolingType:
        """
        MAX or AVERAGE.
        """
    @type.setter
    def type(self, arg1: PoolingType) -> None:
        ...
    @property
    def window_size_nd(self) -> tuple:
        """
        Window extent per spatial axis.
        """
    @window_size_nd.setter
    def window_size_nd(self, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
class INetworkDefinition:
    """
    The layers and tensors of a model.
    """
    def __enter__(self) -> typing.Any:
        """
        ``with`` support, kept for TensorRT 7 tutorials: returns the object itself. TensorRT 8
            deprecated it and TensorRT 10 removed it; leaving the block frees nothing that the object
            still needs (mlprt objects are freed when their last reference goes, as in TensorRT 10).
        """
    def __exit__(self, *exc_info: typing.Any) -> bool:
        """
        Leaves a ``with`` block; exceptions propagate.
        """
    def __getitem__(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> typing.Any:
        ...
    def __init__(self) -> None:
        ...
    def __len__(self) -> int:
        ...
    def add_activation(self, input: ITensor, type: ActivationType) -> typing.Any:
        ...
    def add_axis_range(self, input: ITensor, axis: typing.SupportsInt | typing.SupportsIndex, type: DataType = ...) -> typing.Any:
        """
        mlprt's own: 0, 1, ..., n - 1 (of `type`: FLOAT, HALF, INT32 or INT64), n the run-time extent of `axis` of `input`, whose values are not read. Such steps (and what depends on nothing else) run once per set of input shapes.
        """
    def add_cast(self, input: ITensor, to_type: DataType) -> typing.Any:
        ...
    def add_concatenation(self, inputs: collections.abc.Sequence[ITensor], axis: typing.SupportsInt | typing.SupportsIndex = 0) -> typing.Any:
        """
        Joins the inputs along `axis` (0 unless given; change with .axis). Shapes are checked at once, so inputs that differ on axis 0 need `axis` here.
        """
    def add_constant(self, shape: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], weights: numpy.ndarray) -> typing.Any:
        ...
    def add_convolution_nd(self, input: ITensor, num_output_maps: typing.SupportsInt | typing.SupportsIndex, kernel_shape: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], kernel: numpy.ndarray, bias: typing.Any = None, **kwargs) -> typing.Any:
        """
        Convolution over the spatial axes of `input` (N, C, ...): `kernel` holds num_output_maps x (C / num_groups) x kernel_shape values, `bias` num_output_maps values or None. mlprt's own: attributes (stride_nd=..., padding_nd=..., num_groups=..., ...) may be given here, checked once.
        """
    def add_cumulative(self, input: ITensor, axis: typing.Any, op: CumulativeOperation, exclusive: bool, reverse: bool) -> typing.Any:
        """
        Running sums along `axis` (an int, or as in TensorRT a 0-D INT32/INT64 tensor made by add_constant).
        """
    def add_deconvolution_nd(self, input: ITensor, num_output_maps: typing.SupportsInt | typing.SupportsIndex, kernel_shape: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], kernel: numpy.ndarray, bias: typing.Any = None, **kwargs) -> typing.Any:
        """
        Transposed convolution of `input` (N, C, ...): `kernel` holds C x (num_output_maps / num_groups) x kernel_shape values, `bias` num_output_maps values or None. Attributes may be given here, as for add_convolution_nd.
        """
    def add_elementwise(self, input1: ITensor, input2: ITensor, op: ElementWiseOperation) -> typing.Any:
        ...
    def add_gather(self, input: ITensor, indices: ITensor, axis: typing.SupportsInt | typing.SupportsIndex) -> typing.Any:
        """
        data gathered along `axis` by INT32/INT64 indices (set .mode = GatherMode.ELEMENT for GatherElements).
        """
    def add_gather_v2(self, input: ITensor, indices: ITensor, mode: GatherMode) -> typing.Any:
        """
        TensorRT 8.5's form: the mode first, axis 0.
        """
    def add_identity(self, input: ITensor) -> typing.Any:
        ...
    def add_input(self, name: str, dtype: DataType, shape: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> ITensor:
        ...
    def add_lrn(self, input: ITensor, window: typing.SupportsInt | typing.SupportsIndex, alpha: typing.SupportsFloat | typing.SupportsIndex, beta: typing.SupportsFloat | typing.SupportsIndex, k: typing.SupportsFloat | typing.SupportsIndex) -> typing.Any:
        """
        Local response normalization across channels (N, C, ...).
        """
    def add_matrix_multiply(self, input0: ITensor, op0: MatrixOperation, input1: ITensor, op1: MatrixOperation) -> typing.Any:
        ...
    def add_normalization(self, input: ITensor, scale: ITensor, bias: ITensor, axesMask: typing.SupportsInt | typing.SupportsIndex) -> typing.Any:
        ...
    def add_pooling_nd(self, input: ITensor, type: PoolingType, window_size: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], **kwargs) -> typing.Any:
        """
        Max or average pooling of `input` (N, C, ...). mlprt's own: attributes (stride_nd=..., padding_nd=..., ...) may be given here, checked once.
        """
    def add_reduce(self, input: ITensor, op: ReduceOperation, axes: typing.SupportsInt | typing.SupportsIndex, keep_dims: bool) -> typing.Any:
        ...
    def add_resize(self, input: ITensor, **kwargs) -> typing.Any:
        """
        Resamples `input` (TensorRT's IResizeLayer: set shape or scales, resize_mode, ...; mlprt also takes them here). Setting shape makes scales follow the extents, unless scales are given too.
        """
    def add_scatter(self, data: ITensor, indices: ITensor, updates: ITensor, mode: ScatterMode) -> typing.Any:
        """
        data with updates written at INT32/INT64 indices (ScatterMode.ELEMENT: along .axis, ONNX ScatterElements; ND: at index tuples, ScatterND); .reduction (mlprt's own) combines them with what is there.
        """
    def add_select(self, condition: ITensor, then_input: ITensor, else_input: ITensor) -> typing.Any:
        """
        condition ? then_input : else_input elementwise, all three broadcast (ONNX's Where).
        """
    def add_shuffle(self, input: ITensor) -> typing.Any:
        ...
    def add_slice(self, input: ITensor, start: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], shape: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], stride: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], **kwargs) -> typing.Any:
        """
        out[i] = input[start + i * stride] per axis (TensorRT's ISliceLayer); mode=SampleMode... and fill_value=... may be given here.
        """
    def add_softmax(self, input: ITensor) -> typing.Any:
        """
        Softmax over the last axis (change with .axes).
        """
    def add_topk(self, input: ITensor, op: TopKOperation, k: typing.SupportsInt | typing.SupportsIndex, axes: typing.SupportsInt | typing.SupportsIndex) -> typing.Any:
        """
        The k largest (MAX) or smallest (MIN) elements along the one axis set in the `axes` bit mask: output 0 the values, output 1 their INT32 indices along the axis (ties: the lower index first).
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
    def share_extent(self, first: ITensor, first_axis: typing.SupportsInt | typing.SupportsIndex, second: ITensor, second_axis: typing.SupportsInt | typing.SupportsIndex, label: str) -> None:
        """
        mlprt's own: axis first_axis of input `first` and axis second_axis of input `second` have one extent (ONNX inputs sharing a dim_param, `label`); engines refuse input shapes that differ there.
        """
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
    def binary_costs_a_compile(self) -> bool:
        """
        Whether handing out a program's binary compiles its kernels again (PoCL).
        """
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
    @property
    def timed(self) -> bool:
        """
        True once a timing event or a profiler has moved the stream to a profiling queue (mlprt's own; copies cost more host time there).
        """
class Event:
    """
    A marker in a stream; two give elapsed device time. Recording a timing event moves its stream to a profiling queue (each later copy there costs a few microseconds more on NVIDIA); flags=2 (DISABLE_TIMING) does not.
    """
    def __init__(self, flags: int = 0) -> None:
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
    def get_device_pointer(self) -> int:
        """
        The address to bind with set_tensor_address for zero-copy inputs and outputs (as pycuda's HostAllocation.get_device_pointer): pinned memory is addressed by its host address, as under CUDA's unified addressing.
        """
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
        How this program was obtained: 'compiled', 'disk-cache' or 'engine'.
        """
class IHostMemory:
    """
    Bytes owned by mlprt: a serialized engine or timing cache.
    """
    def __bytes__(self) -> bytes:
        ...
    def __enter__(self) -> typing.Any:
        """
        ``with`` support, kept for TensorRT 7 tutorials: returns the object itself. TensorRT 8
            deprecated it and TensorRT 10 removed it; leaving the block frees nothing that the object
            still needs (mlprt objects are freed when their last reference goes, as in TensorRT 10).
        """
    def __exit__(self, *exc_info: typing.Any) -> bool:
        """
        Leaves a ``with`` block; exceptions propagate.
        """
    def __len__(self) -> int:
        ...
    @property
    def dtype(self) -> DataType:
        ...
    @property
    def nbytes(self) -> int:
        ...
class IOptimizationProfile:
    """
    Min/opt/max shapes of the dynamic inputs.
    """
    def __init__(self) -> None:
        ...
    def get_shape(self, input: str) -> tuple[tuple, tuple, tuple]:
        """
        (min, opt, max) of an input.
        """
    def set_shape(self, input: str, min: typing.Any, opt: typing.Any, max: typing.Any) -> None:
        """
        Sets the shape range of an input; raises ValueError naming the input when min <= opt <= max fails.
        """
class ITimingCache:
    """
    Tactic choices by layer signature and device.
    """
    def __len__(self) -> int:
        ...
    def combine(self, input_cache: ITimingCache, ignore_mismatch: bool) -> bool:
        """
        Adds the other cache's entries; False when it belongs to another device and ignore_mismatch is off.
        """
    def reset(self) -> None:
        ...
    def serialize(self) -> IHostMemory:
        ...
    @property
    def hits(self) -> int:
        """
        Lookups answered from the cache.
        """
    @property
    def misses(self) -> int:
        """
        Lookups that needed timing.
        """
class BuilderFlag:
    """
    Members:
    
      FP16
    
      INT8
    
      DEBUG
    
      GPU_FALLBACK
    
      REFIT
    
      DISABLE_TIMING_CACHE
    
      TF32
    
      SPARSE_WEIGHTS
    
      SAFETY_SCOPE
    
      OBEY_PRECISION_CONSTRAINTS
    
      PREFER_PRECISION_CONSTRAINTS
    
      DIRECT_IO
    
      REJECT_EMPTY_ALGORITHMS
    
      VERSION_COMPATIBLE
    
      EXCLUDE_LEAN_RUNTIME
    
      FP8
    
      ERROR_ON_TIMING_CACHE_MISS
    
      BF16
    
      DISABLE_COMPILATION_CACHE
    
      STRIP_PLAN
    
      REFIT_IDENTICAL
    
      WEIGHT_STREAMING
    
      INT4
    
      STRICT_TYPES
    """
    BF16: typing.ClassVar[BuilderFlag]
    DEBUG: typing.ClassVar[BuilderFlag]
    DIRECT_IO: typing.ClassVar[BuilderFlag]
    DISABLE_COMPILATION_CACHE: typing.ClassVar[BuilderFlag]
    DISABLE_TIMING_CACHE: typing.ClassVar[BuilderFlag]
    ERROR_ON_TIMING_CACHE_MISS: typing.ClassVar[BuilderFlag]
    EXCLUDE_LEAN_RUNTIME: typing.ClassVar[BuilderFlag]
    FP16: typing.ClassVar[BuilderFlag]
    FP8: typing.ClassVar[BuilderFlag]
    GPU_FALLBACK: typing.ClassVar[BuilderFlag]
    INT4: typing.ClassVar[BuilderFlag]
    INT8: typing.ClassVar[BuilderFlag]
    OBEY_PRECISION_CONSTRAINTS: typing.ClassVar[BuilderFlag]
    PREFER_PRECISION_CONSTRAINTS: typing.ClassVar[BuilderFlag]
    REFIT: typing.ClassVar[BuilderFlag]
    REFIT_IDENTICAL: typing.ClassVar[BuilderFlag]
    REJECT_EMPTY_ALGORITHMS: typing.ClassVar[BuilderFlag]
    SAFETY_SCOPE: typing.ClassVar[BuilderFlag]
    SPARSE_WEIGHTS: typing.ClassVar[BuilderFlag]
    STRICT_TYPES: typing.ClassVar[BuilderFlag]
    STRIP_PLAN: typing.ClassVar[BuilderFlag]
    TF32: typing.ClassVar[BuilderFlag]
    VERSION_COMPATIBLE: typing.ClassVar[BuilderFlag]
    WEIGHT_STREAMING: typing.ClassVar[BuilderFlag]
    __members__: typing.ClassVar[dict[str, BuilderFlag]]
    @typing.overload
    def __eq__(self, other: BuilderFlag) -> bool:
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
    def __ne__(self, other: BuilderFlag) -> bool:
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
class MemoryPoolType:
    """
    Members:
    
      WORKSPACE
    """
    WORKSPACE: typing.ClassVar[MemoryPoolType]
    __members__: typing.ClassVar[dict[str, MemoryPoolType]]
    @typing.overload
    def __eq__(self, other: MemoryPoolType) -> bool:
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
    def __ne__(self, other: MemoryPoolType) -> bool:
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
class TacticSource:
    """
    Members:
    
      CUBLAS
    
      CUBLAS_LT
    
      CUDNN
    
      EDGE_MASK_CONVOLUTIONS
    
      JIT_CONVOLUTIONS
    """
    CUBLAS: typing.ClassVar[TacticSource]
    CUBLAS_LT: typing.ClassVar[TacticSource]
    CUDNN: typing.ClassVar[TacticSource]
    EDGE_MASK_CONVOLUTIONS: typing.ClassVar[TacticSource]
    JIT_CONVOLUTIONS: typing.ClassVar[TacticSource]
    __members__: typing.ClassVar[dict[str, TacticSource]]
    @typing.overload
    def __eq__(self, other: TacticSource) -> bool:
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
    def __ne__(self, other: TacticSource) -> bool:
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
class IBuilderConfig:
    """
    What a build may do.
    """
    def __enter__(self) -> typing.Any:
        """
        ``with`` support, kept for TensorRT 7 tutorials: returns the object itself. TensorRT 8
            deprecated it and TensorRT 10 removed it; leaving the block frees nothing that the object
            still needs (mlprt objects are freed when their last reference goes, as in TensorRT 10).
        """
    def __exit__(self, *exc_info: typing.Any) -> bool:
        """
        Leaves a ``with`` block; exceptions propagate.
        """
    def add_optimization_profile(self, profile: IOptimizationProfile) -> int:
        """
        Adds a copy of the profile; returns its index.
        """
    def clear_flag(self, flag: BuilderFlag) -> None:
        ...
    def create_timing_cache(self, serialized_timing_cache: typing_extensions.Buffer) -> ITimingCache:
        """
        A timing cache from serialized bytes (b'' for an empty one).
        """
    def get_flag(self, flag: BuilderFlag) -> bool:
        ...
    def get_memory_pool_limit(self, pool: MemoryPoolType) -> int:
        ...
    def get_tactic_sources(self) -> int:
        """
        The tactic-source mask: by default every source, without CUBLAS and CUBLAS_LT on CPU devices.
        """
    def get_timing_cache(self) -> ITimingCache:
        ...
    def set_flag(self, flag: BuilderFlag) -> None:
        """
        Sets one flag. ValueError, the config unchanged, for a flag mlprt cannot honour (REFIT, DEBUG, DIRECT_IO, ...: the message says why); INT8, FP8, BF16 and INT4 are taken with a warning (mlprt has no such kernels: the build uses FP32, or FP16 where allowed).
        """
    def set_memory_pool_limit(self, pool: MemoryPoolType, pool_size: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def set_tactic_sources(self, tactic_sources: typing.SupportsInt | typing.SupportsIndex) -> bool:
        """
        Which tactic sources the build may use: a mask of 1 << int(TacticSource.X). CUBLAS or CUBLAS_LT lets CLBlast's FP32 products be timed; mlprt's own kernels are always candidates. False, and no change, for bits that name no source.
        """
    def set_timing_cache(self, cache: ITimingCache, ignore_mismatch: bool) -> bool:
        """
        Uses the cache for the builds of this config; False when it belongs to another device.
        """
    @property
    def DLA_core(self) -> int:
        """
        -1, the only value: mlprt has no DLA (ValueError for any other).
        """
    @DLA_core.setter
    def DLA_core(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def avg_timing_iterations(self) -> int:
        """
        Timed runs averaged per candidate tactic. 0 (the default): as many as fit the builder's timing budget (20 ms, at most 11), or MLPRT_TIMING_ITERATIONS where that is set. ValueError below 0.
        """
    @avg_timing_iterations.setter
    def avg_timing_iterations(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def builder_optimization_level(self) -> int:
        """
        TensorRT's builder optimization level, 0 to 5 (3 by default; above 5 acts as 5). From 3 up, tactics are timed at each profile's min, opt, max and between, so a dynamic engine may switch tactics by shape; below 3 at the first profile's opt shapes only (one tactic per layer, a faster build). ValueError below 0.
        """
    @builder_optimization_level.setter
    def builder_optimization_level(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def default_device_type(self) -> DeviceType:
        """
        DeviceType.GPU, the only one: layers run on the OpenCL device (ValueError for DLA).
        """
    @default_device_type.setter
    def default_device_type(self, arg1: DeviceType) -> None:
        ...
    @property
    def engine_capability(self) -> EngineCapability:
        """
        EngineCapability.STANDARD, the only one (ValueError for SAFETY, DLA_STANDALONE).
        """
    @engine_capability.setter
    def engine_capability(self, arg1: EngineCapability) -> None:
        ...
    @property
    def flags(self) -> int:
        """
        Every flag as one mask of 1 << int(BuilderFlag.X) (0 by default). Setting it refuses, before any change, bits that name no flag and flags set_flag refuses.
        """
    @flags.setter
    def flags(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def hardware_compatibility_level(self) -> HardwareCompatibilityLevel:
        """
        HardwareCompatibilityLevel.NONE, the only one: engines run on the device they were built for (ValueError for the others).
        """
    @hardware_compatibility_level.setter
    def hardware_compatibility_level(self, arg1: HardwareCompatibilityLevel) -> None:
        ...
    @property
    def max_aux_streams(self) -> int:
        """
        Auxiliary streams the engine may use (-1, the default: the builder decides). mlprt's engines run every layer on the context's stream, within any limit. ValueError below -1.
        """
    @max_aux_streams.setter
    def max_aux_streams(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def max_workspace_size(self) -> int:
        """
        TensorRT 7/8's workspace limit in bytes (get/set_memory_pool_limit of MemoryPoolType.WORKSPACE).
        """
    @max_workspace_size.setter
    def max_workspace_size(self, size: int) -> None:
        ...
    @property
    def num_optimization_profiles(self) -> int:
        ...
    @property
    def profiling_verbosity(self) -> ProfilingVerbosity:
        """
        How much the engine keeps for the inspector: DETAILED (mlprt's default; every engine keeps each layer's name, tactic and details); LAYER_NAMES_ONLY is taken and the details stay; ValueError for NONE.
        """
    @profiling_verbosity.setter
    def profiling_verbosity(self, arg1: ProfilingVerbosity) -> None:
        ...
class NetworkDefinitionCreationFlag:
    """
    Members:
    
      EXPLICIT_BATCH
    
      STRONGLY_TYPED
    """
    EXPLICIT_BATCH: typing.ClassVar[NetworkDefinitionCreationFlag]
    STRONGLY_TYPED: typing.ClassVar[NetworkDefinitionCreationFlag]
    __members__: typing.ClassVar[dict[str, NetworkDefinitionCreationFlag]]
    @typing.overload
    def __eq__(self, other: NetworkDefinitionCreationFlag) -> bool:
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
    def __ne__(self, other: NetworkDefinitionCreationFlag) -> bool:
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
class Builder:
    """
    Builds engines from network definitions for the current device.
    """
    def __enter__(self) -> typing.Any:
        ...
    def __exit__(self, *args) -> bool:
        ...
    def __init__(self, logger: typing.Any) -> None:
        ...
    def build_serialized_network(self, network: typing.Any, config: IBuilderConfig) -> typing.Any:
        """
        The serialized engine as IHostMemory, or None with the reasons sent to the logger.
        """
    def create_builder_config(self) -> IBuilderConfig:
        ...
    def create_network(self, flags: typing.SupportsInt | typing.SupportsIndex = 0) -> INetworkDefinition:
        """
        A new, empty network (every network has explicit batch dimensions).
        """
    def create_optimization_profile(self) -> IOptimizationProfile:
        ...
    def is_network_supported(self, network: typing.Any, config: IBuilderConfig) -> bool:
        ...
    @property
    def logger(self) -> typing.Any:
        ...
    @property
    def num_DLA_cores(self) -> int:
        """
        0: mlprt has no DLA.
        """
    @property
    def platform_has_fast_fp16(self) -> bool:
        """
        True when the device has native half arithmetic (cl_khr_fp16).
        """
    @property
    def platform_has_tf32(self) -> bool:
        """
        True when the device runs TF32 tensor-core kernels (BuilderFlag.TF32 then changes FP32 products).
        """
class TensorIOMode:
    """
    Members:
    
      NONE
    
      INPUT
    
      OUTPUT
    """
    INPUT: typing.ClassVar[TensorIOMode]
    NONE: typing.ClassVar[TensorIOMode]
    OUTPUT: typing.ClassVar[TensorIOMode]
    __members__: typing.ClassVar[dict[str, TensorIOMode]]
    @typing.overload
    def __eq__(self, other: TensorIOMode) -> bool:
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
    def __ne__(self, other: TensorIOMode) -> bool:
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
class ExecutionContextAllocationStrategy:
    """
    Members:
    
      STATIC
    
      ON_PROFILE_CHANGE
    
      USER_MANAGED
    """
    ON_PROFILE_CHANGE: typing.ClassVar[ExecutionContextAllocationStrategy]
    STATIC: typing.ClassVar[ExecutionContextAllocationStrategy]
    USER_MANAGED: typing.ClassVar[ExecutionContextAllocationStrategy]
    __members__: typing.ClassVar[dict[str, ExecutionContextAllocationStrategy]]
    @typing.overload
    def __eq__(self, other: ExecutionContextAllocationStrategy) -> bool:
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
    def __ne__(self, other: ExecutionContextAllocationStrategy) -> bool:
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
class ICudaEngine:
    """
    A built engine, ready to run on its device.
    """
    def __enter__(self) -> typing.Any:
        """
        ``with`` support, kept for TensorRT 7 tutorials: returns the object itself. TensorRT 8
            deprecated it and TensorRT 10 removed it; leaving the block frees nothing that the object
            still needs (mlprt objects are freed when their last reference goes, as in TensorRT 10).
        """
    def __exit__(self, *exc_info: typing.Any) -> bool:
        """
        Leaves a ``with`` block; exceptions propagate.
        """
    def __getitem__(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> str:
        ...
    def __iter__(self) -> collections.abc.Iterator:
        ...
    def __len__(self) -> int:
        ...
    def binding_is_input(self, *args, **kwargs) -> bool:
        """
        TensorRT 8 name for ``get_tensor_mode(name) == TensorIOMode.INPUT``, kept for old
            tutorials; ``binding`` is an index or a name.
        """
    def create_engine_inspector(self) -> EngineInspector:
        """
        An IEngineInspector for this engine.
        """
    def create_execution_context(self, strategy: ExecutionContextAllocationStrategy = ...) -> IExecutionContext:
        """
        A new execution context. STATIC and ON_PROFILE_CHANGE allocate its device memory (the most any profile needs); USER_MANAGED leaves it to set_device_memory.
        """
    def create_execution_context_without_device_memory(self) -> IExecutionContext:
        """
        TensorRT 8's context that runs once context.device_memory is set (device_memory_size bytes).
        """
    def get_binding_dtype(self, *args, **kwargs) -> DataType:
        """
        TensorRT 8 name for ``get_tensor_dtype(name)``, kept for old tutorials; ``binding`` is
            an index or a name.
        """
    def get_binding_index(self, *args, **kwargs) -> int:
        """
        TensorRT 8's index of the binding ``name`` (its position among the I/O tensors), kept for
            old tutorials. Raises ``ValueError`` for an unknown name (TensorRT 8 returned -1).
        """
    def get_binding_name(self, *args, **kwargs) -> str:
        """
        TensorRT 8 name for ``get_tensor_name(index)``, kept for old tutorials.
        """
    def get_binding_shape(self, *args, **kwargs) -> tuple[int, ...]:
        """
        TensorRT 8 name for ``get_tensor_shape(name)`` (-1 where dynamic), kept for old
            tutorials; ``binding`` is an index or a name.
        """
    def get_profile_shape(self, *args, **kwargs) -> list[typing.Any]:
        """
        TensorRT 8 name for ``get_tensor_profile_shape(name, profile_index)`` ([min, opt, max]),
            kept for old tutorials; note the TensorRT 8 argument order (profile first).
        """
    def get_tensor_bytes_per_component(self, name: str, profile_index: typing.SupportsInt | typing.SupportsIndex = -1) -> int:
        """
        The size of one value of the tensor's type.
        """
    def get_tensor_components_per_element(self, name: str, profile_index: typing.SupportsInt | typing.SupportsIndex = -1) -> int:
        """
        1: linear formats are not vectorized.
        """
    def get_tensor_dtype(self, name: str) -> DataType:
        ...
    def get_tensor_format(self, name: str, profile_index: typing.SupportsInt | typing.SupportsIndex = -1) -> TensorFormat:
        """
        TensorFormat.LINEAR: every I/O tensor is row-major.
        """
    def get_tensor_format_desc(self, name: str, profile_index: typing.SupportsInt | typing.SupportsIndex = -1) -> str:
        ...
    def get_tensor_location(self, name: str) -> TensorLocation:
        """
        TensorLocation.DEVICE: no mlprt I/O tensor is a shape tensor read on the host.
        """
    def get_tensor_mode(self, name: str) -> TensorIOMode:
        ...
    def get_tensor_name(self, index: typing.SupportsInt | typing.SupportsIndex) -> str:
        ...
    def get_tensor_profile_shape(self, name: str, profile_index: typing.SupportsInt | typing.SupportsIndex) -> list:
        """
        [min, opt, max] of an input in a profile.
        """
    def get_tensor_shape(self, name: str) -> tuple:
        """
        The built shape: -1 where the extent is dynamic.
        """
    def get_tensor_vectorized_dim(self, name: str, profile_index: typing.SupportsInt | typing.SupportsIndex = -1) -> int:
        """
        -1: linear formats are not vectorized.
        """
    def is_shape_inference_io(self, name: str) -> bool:
        """
        False: no mlprt I/O tensor is a shape tensor.
        """
    def serialize(self) -> IHostMemory:
        ...
    def get_device_memory_size_for_profile(self, profile_index: typing.SupportsInt | typing.SupportsIndex) -> int:
        """
        The device memory a context needs in that profile: device_memory_size (planned for every profile's largest shapes).
        """
    @property
    def device_memory_size(self) -> int:
        """
        Device memory each execution context needs (activations and the steps' workspace), in bytes: it allocates them unless made without device memory.
        """
    @property
    def device_memory_size_v2(self) -> int:
        """
        The device memory a context needs, in bytes (as device_memory_size).
        """
    @property
    def has_implicit_batch_dimension(self) -> bool:
        ...
    @property
    def max_batch_size(self, *args, **kwargs) -> int:
        """
        TensorRT 8's implicit batch size, kept for old tutorials: always 1 (explicit batch).
        """
    @property
    def num_aux_streams(self) -> int:
        """
        0: every layer runs on the execution context's stream.
        """
    @property
    def num_bindings(self, *args, **kwargs) -> int:
        """
        TensorRT 8 name for ``num_io_tensors``, kept for old tutorials.
        """
    @property
    def num_io_tensors(self) -> int:
        ...
    @property
    def num_layers(self) -> int:
        ...
    @property
    def num_optimization_profiles(self) -> int:
        ...
    @property
    def engine_capability(self) -> EngineCapability:
        ...
    @property
    def hardware_compatibility_level(self) -> HardwareCompatibilityLevel:
        """
        NONE: an engine runs on the device it was built for.
        """
    @property
    def profiling_verbosity(self) -> ProfilingVerbosity:
        """
        DETAILED: every engine keeps each layer's details for the inspector.
        """
    @property
    def refittable(self) -> bool:
        """
        False: mlprt engines cannot be refit (BuilderFlag.REFIT is refused).
        """
class IExecutionContext:
    """
    Inference state for one engine: shapes, addresses, activations.
    """
    def __enter__(self) -> typing.Any:
        """
        ``with`` support, kept for TensorRT 7 tutorials: returns the object itself. TensorRT 8
            deprecated it and TensorRT 10 removed it; leaving the block frees nothing that the object
            still needs (mlprt objects are freed when their last reference goes, as in TensorRT 10).
        """
    def __exit__(self, *exc_info: typing.Any) -> bool:
        """
        Leaves a ``with`` block; exceptions propagate.
        """
    def execute(self, batch_size: int = 1, bindings: typing.Sequence[typing.Any] = tuple()) -> bool:
        """
        TensorRT 7's synchronous inference, kept for old tutorials: runs the engine on
            ``bindings`` (one device address per binding, in binding order) and returns when the
            outputs are written. The engine has explicit batch dimensions, so ``batch_size`` is ignored
            as in TensorRT 7 and 8 (a warning says so once when it differs from the bound inputs' first
            dimension). TensorRT 10: ``execute_v2(bindings)``, or ``set_tensor_address`` per tensor and
            ``execute_async_v3`` plus a stream synchronize.
        """
    def execute_async(self, batch_size: int = 1, bindings: typing.Sequence[typing.Any] = tuple(), stream_handle: typing.Any = 0, input_consumed: typing.Any = None) -> bool:
        """
        TensorRT 7's enqueue, kept for old tutorials: binds ``bindings`` (one device address per
            binding, in binding order) and queues the engine on ``stream_handle``; the outputs are
            there after the stream is synchronized. ``batch_size`` is ignored as in TensorRT 7 and 8
            for explicit-batch engines (a warning says so once when it differs from the bound inputs'
            first dimension). ``input_consumed``, an :class:`mlprt.driver.Event`, is recorded on the
            stream after the queued work. TensorRT 10: ``set_tensor_address`` per tensor and
            ``execute_async_v3(stream_handle)``.
        """
    def execute_async_v2(self, *args, **kwargs) -> bool:
        """
        TensorRT 8's enqueue, kept for old tutorials: binds ``bindings`` (one device address per
            binding, in binding order) with ``set_tensor_address`` and calls
            ``execute_async_v3(stream_handle)``. Raises ``ValueError`` when the count of bindings is
            wrong or something is missing, as ``execute_async_v3`` does.
        """
    def execute_async_v3(self, stream_handle: typing.Any) -> bool:
        """
        Enqueues inference on the stream; raises ValueError naming what is missing.
        """
    def execute_v2(self, bindings: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> bool:
        """
        Runs inference synchronously; bindings are device addresses in I/O tensor order.
        """
    def get_binding_shape(self, *args, **kwargs) -> tuple[int, ...]:
        """
        TensorRT 8 name for the context's ``get_tensor_shape(name)`` (outputs resolved once all
            inputs have shapes), kept for old tutorials; ``binding`` is an index or a name.
        """
    def get_tensor_address(self, name: str) -> int:
        ...
    def get_tensor_shape(self, name: str) -> tuple:
        ...
    def infer_shapes(self) -> list[str]:
        """
        Names of inputs whose shape is still unset (empty when all outputs can be resolved).
        """
    def report_to_profiler(self) -> bool:
        """
        Waits for the last profiled inference and reports its layers; False when there is nothing to report.
        """
    def set_aux_streams(self, aux_streams: collections.abc.Sequence) -> None:
        """
        Taken and unused: the engine has no auxiliary streams (num_aux_streams is 0), as TensorRT ignores streams beyond an engine's count.
        """
    def set_binding_shape(self, *args, **kwargs) -> bool:
        """
        TensorRT 8 name for ``set_input_shape(name, shape)``, kept for old tutorials: True when
            the shape was accepted, False (with the reason logged) when it lies outside the active
            profile. ``binding`` is an index or a name.
        """
    def set_input_shape(self, name: str, shape: typing.Any) -> bool:
        """
        Sets an input's shape; False (with the reason logged) when it is outside the active profile.
        """
    def set_optimization_profile_async(self, profile_index: typing.SupportsInt | typing.SupportsIndex, stream_handle: typing.Any) -> bool:
        ...
    def set_tensor_address(self, name: str, memory: typing.SupportsInt | typing.SupportsIndex) -> bool:
        """
        Binds memory to an I/O tensor: a device address (mlprt.driver.mem_alloc, cudaMalloc) or the address of pinned host memory (pagelocked_empty(...).ctypes.data, cudaMallocHost), which the context reads or writes without memcpy calls.
        """
    def set_device_memory(self, memory: typing.Any, size: typing.SupportsInt | typing.SupportsIndex) -> None:
        """
        TensorRT 10's form of device_memory: `size` bytes at `memory`, at least engine.device_memory_size.
        """
    def update_device_memory_size_for_shapes(self) -> int:
        """
        The device memory this context needs at its shapes: engine.device_memory_size (mlprt plans the largest shapes of every profile).
        """
    def get_tensor_strides(self, name: str) -> tuple:
        """
        Strides in elements of an I/O tensor at the shapes set: row-major, as every mlprt I/O tensor.
        """
    @property
    def active_optimization_profile(self) -> int:
        ...
    @active_optimization_profile.setter
    def active_optimization_profile(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def all_binding_shapes_specified(self) -> bool:
        ...
    @property
    def all_shape_inputs_specified(self) -> bool:
        ...
    @property
    def device_memory(self) -> typing.Any:
        """
        Write-only: device memory (an address of engine.device_memory_size bytes, 256-byte aligned) for a context made without its own.
        """
    @device_memory.setter
    def device_memory(self, arg1: typing.Any) -> None:
        ...
    @property
    def device_memory_size(self) -> int:
        ...
    @property
    def engine(self) -> ICudaEngine:
        ...
    @property
    def enqueue_emits_profile(self) -> bool:
        """
        True (default): execute_async_v3 reports to the profiler itself; False: call report_to_profiler() when wanted.
        """
    @enqueue_emits_profile.setter
    def enqueue_emits_profile(self, arg1: bool) -> None:
        ...
    @property
    def profiler(self) -> typing.Any:
        """
        Per-layer timing: an IProfiler whose report_layer_time(layer_name, ms) is called for every step after each inference (which makes execute_async_v3 wait for it); None turns it off.
        """
    @profiler.setter
    def profiler(self, arg1: typing.Any) -> None:
        ...
class Runtime:
    """
    Loads serialized engines on the current device.
    """
    def __enter__(self) -> typing.Any:
        ...
    def __exit__(self, *args) -> bool:
        ...
    def __init__(self, logger: typing.Any) -> None:
        ...
    def deserialize_cuda_engine(self, serialized_engine: typing_extensions.Buffer) -> typing.Any:
        """
        The engine, or None with the reason sent to the logger.
        """
    def deserialize_engine(self, serialized_engine: typing_extensions.Buffer) -> typing.Any:
        ...
    @property
    def logger(self) -> typing.Any:
        ...
class LayerInformationFormat:
    """
    Members:
    
      ONELINE
    
      JSON
    """
    JSON: typing.ClassVar[LayerInformationFormat]
    ONELINE: typing.ClassVar[LayerInformationFormat]
    __members__: typing.ClassVar[dict[str, LayerInformationFormat]]
    @typing.overload
    def __eq__(self, other: LayerInformationFormat) -> bool:
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
    def __ne__(self, other: LayerInformationFormat) -> bool:
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
class EngineInspector:
    """
    What an engine is made of: layers (fused steps), tactics, memory, I/O tensors.
    """
    def get_engine_information(self, format: LayerInformationFormat) -> str:
        """
        The whole engine: version, device, memory, I/O tensors with profiles, every layer.
        """
    def get_layer_information(self, layer_index: typing.SupportsInt | typing.SupportsIndex, format: LayerInformationFormat) -> str:
        """
        One layer (an engine step): its name (fused layers joined by ' + '), kind, tactic, weights.
        """
    @property
    def engine(self) -> ICudaEngine:
        ...
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
def engine_checksum(payload: typing_extensions.Buffer) -> int:
    """
    The checksum an engine file's header records for its payload (the bytes after the 32-byte header): 64-bit FNV-1a, docs/engine-format.md.
    """
def is_pinned(array: typing.Any) -> bool:
    """
    True when all of the array's memory lies in one pinned host buffer.
    """
def is_pinned_address(address: typing.SupportsInt | typing.SupportsIndex) -> bool:
    """
    True when the host address lies in a live pinned host buffer.
    """
def live_allocations() -> dict:
    """
    Device and pinned host buffers this process has allocated and not freed, with their bytes.
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
def compile_helper_path() -> str:
    """
    The compile helper executable builds start, or empty when they start none.
    """
def finish_streams() -> None:
    """
    Waits for every live stream's commands (mlprt registers it with Python's atexit).
    """
def program_binaries_kept() -> bool:
    """
    Whether program binaries go to the disk cache and into engines on the current device (not on PoCL unless MLPRT_PROGRAM_BINARIES=1; none anywhere with MLPRT_PROGRAM_BINARIES=0).
    """
def program_cache_directory() -> str:
    ...
def program_cache_stats() -> dict:
    """
    How many programs this process compiled (compiled_by_helpers of them in compile helper processes), loaded from the disk cache, or reused.
    """
def set_compile_helper_path(path: str) -> None:
    """
    The mlprt-compile-helper executable a build's compile pool starts (the package's own by default; empty: none). MLPRT_COMPILE_HELPER overrides it.
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
BuilderConfig = IBuilderConfig
