"""mlprt: TensorRT's workflow (build, serialize, run inference engines) on any OpenCL device.

This module holds device discovery and selection; :mod:`mlprt.driver` is the pycuda-shaped
memory API (streams, pinned host arrays, device allocations, copies).
"""
from __future__ import annotations

import atexit
import os
from typing import List, Union

from mlprt import _core
from mlprt._core import EngineInspector, LayerInformationFormat
from mlprt._core import (Builder, BuilderConfig, BuilderFlag, IBuilderConfig, ICudaEngine,
                         IExecutionContext, IHostMemory, IOptimizationProfile, ITimingCache,
                         MemoryPoolType, NetworkDefinitionCreationFlag, Runtime, TacticSource, TensorIOMode)
from mlprt._core import DeviceType, EngineCapability, HardwareCompatibilityLevel, ProfilingVerbosity
from mlprt._core import TensorFormat, TensorLocation
from mlprt._core import ExecutionContextAllocationStrategy
from mlprt._core import (ActivationType, BuildError, DataType, DeviceInfo, ElementWiseOperation,
                         Error, IActivationLayer, IConcatenationLayer, IConstantLayer, IConvolutionLayer, IDeconvolutionLayer, ISliceLayer, SampleMode,
                         IResizeLayer, InterpolationMode, ResizeCoordinateTransformation, ResizeRoundMode,
                         ResizeSelector, ILRNLayer, IGatherLayer, GatherMode, ITopKLayer, TopKOperation,
                         IScatterLayer, ScatterMode, ScatterReduction, ICumulativeLayer, CumulativeOperation,
                         IAxisRangeLayer, IPoolingLayer, PaddingMode, PoolingType,
                         IElementWiseLayer, IIdentityLayer, ILayer, IMatrixMultiplyLayer,
                         INetworkDefinition, INormalizationLayer, IReduceLayer, ISelectLayer, IShuffleLayer, LayerType,
                         ISoftMaxLayer, ITensor, IUnaryLayer, MatrixOperation, OpenCLError,
                         ReduceOperation, UnaryOperation)
from mlprt.logger import ILogger, Logger
from mlprt.profiler import IProfiler, Profiler
from mlprt.onnx_parser import ErrorCode, OnnxParser, ParserError
from mlprt.types import nptype, volume
from mlprt import compat as _compat  # noqa: F401
# The TensorRT 7/8 names that need per-instance state or a Python method live on Python
# subclasses (see mlprt.compat); they are mlprt.Builder and mlprt.Runtime.
from mlprt.compat import Builder, Runtime, init_libnvinfer_plugins  # noqa: E402,F811
from mlprt.network_v1 import ScaleMode, Weights  # noqa: E402

__version__: str = _core.__version__

# Commands nobody waited for are finished before the interpreter exits: a driver may still be
# working on them (PoCL compiles a kernel at its first launch, in a thread of its own) when the
# process's exit handlers tear its compiler down.
atexit.register(_core.finish_streams)

# Builds compile in helper processes where the driver compiles one process's programs nearly one at
# a time (NVIDIA's; csrc/backend/opencl/compile_helper.h): the executable installed beside _core.
_COMPILE_HELPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mlprt-compile-helper")
if os.access(_COMPILE_HELPER, os.X_OK):
    _core.set_compile_helper_path(_COMPILE_HELPER)

__all__ = [
    "Builder",
    "ScaleMode",
    "Weights",
    "EngineInspector",
    "LayerInformationFormat",
    "ErrorCode",
    "OnnxParser",
    "ParserError",
    "BuilderConfig",
    "BuilderFlag",
    "DeviceType",
    "EngineCapability",
    "HardwareCompatibilityLevel",
    "ProfilingVerbosity",
    "TacticSource",
    "IBuilderConfig",
    "ICudaEngine",
    "IExecutionContext",
    "IHostMemory",
    "IOptimizationProfile",
    "ITimingCache",
    "MemoryPoolType",
    "NetworkDefinitionCreationFlag",
    "Runtime",
    "TensorIOMode",
    "TensorFormat",
    "TensorLocation",
    "ExecutionContextAllocationStrategy",
    "ActivationType",
    "ElementWiseOperation",
    "IActivationLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IConvolutionLayer",
    "IDeconvolutionLayer",
    "ISliceLayer",
    "IResizeLayer",
    "ILRNLayer",
    "IGatherLayer",
    "GatherMode",
    "ITopKLayer",
    "TopKOperation",
    "IScatterLayer",
    "ScatterMode",
    "ScatterReduction",
    "ICumulativeLayer",
    "IAxisRangeLayer",
    "CumulativeOperation",
    "InterpolationMode",
    "ResizeCoordinateTransformation",
    "ResizeRoundMode",
    "ResizeSelector",
    "SampleMode",
    "IPoolingLayer",
    "PaddingMode",
    "PoolingType",
    "IElementWiseLayer",
    "IIdentityLayer",
    "ILayer",
    "IMatrixMultiplyLayer",
    "INetworkDefinition",
    "INormalizationLayer",
    "IReduceLayer",
    "ISelectLayer",
    "IShuffleLayer",
    "ISoftMaxLayer",
    "ITensor",
    "IUnaryLayer",
    "LayerType",
    "MatrixOperation",
    "ReduceOperation",
    "UnaryOperation",
    "BuildError",
    "DataType",
    "DeviceInfo",
    "Error",
    "ILogger",
    "IProfiler",
    "Logger",
    "Profiler",
    "OpenCLError",
    "nptype",
    "volume",
    "current_device",
    "default_device",
    "devices",
    "set_device",
    "init_libnvinfer_plugins",
    "__version__",
]


def devices() -> List[DeviceInfo]:
    """All OpenCL devices of all platforms, each with platform, name, type, memory and fp16."""
    return list(_core.devices())


def default_device() -> DeviceInfo:
    """The device used when none was selected: ``MLPRT_DEVICE`` if set (an index such as ``1``,
    ``platform:device`` such as ``0:1``, or part of the device name), else the first GPU, else
    the first CPU."""
    return _core.default_device()


def current_device() -> DeviceInfo:
    """The device that new allocations, streams and programs use."""
    return _core.current_device()


def set_device(selector: Union[int, str]) -> DeviceInfo:
    """Makes a device current for everything created afterwards, and returns it.

    ``selector`` is a flat index, ``"platform:device"``, or a case-insensitive part of the device
    or platform name. Objects made earlier stay on their own device. Raises ``ValueError`` naming
    the available devices when nothing matches.
    """
    return _core.select_device(selector)


# Tools around engines (issue 4); imported last: they build on everything above.
from mlprt.session import Session  # noqa: E402
from mlprt import testing  # noqa: E402

__all__ += ["Session", "testing"]

# TensorRT's type aliases (trt.float32 is trt.DataType.FLOAT: samples write dtype=trt.float32).
float32 = DataType.FLOAT
float16 = DataType.HALF
int8 = DataType.INT8
int32 = DataType.INT32
int64 = DataType.INT64
uint8 = DataType.UINT8
globals()["bool"] = DataType.BOOL  # trt.bool; set last, as it shadows the builtin in this module
__all__ += ["float32", "float16", "int8", "int32", "int64", "uint8", "bool"]
