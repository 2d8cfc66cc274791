"""Element types and shapes: TensorRT's ``nptype`` and ``volume`` helpers."""
from __future__ import annotations

from typing import Iterable, Type

import numpy as np

from mlprt._core import DataType

__all__ = ["DataType", "nptype", "volume"]

_NUMPY_TYPES = {
    DataType.FLOAT: np.float32,
    DataType.HALF: np.float16,
    DataType.INT8: np.int8,
    DataType.INT32: np.int32,
    DataType.BOOL: np.bool_,
    DataType.UINT8: np.uint8,
    DataType.INT64: np.int64,
}


def nptype(dtype: DataType) -> Type[np.generic]:
    """The NumPy scalar type of a :class:`DataType` (``mlprt.nptype(DataType.HALF)`` is
    ``np.float16``), as ``tensorrt.nptype`` gives it."""
    try:
        return _NUMPY_TYPES[dtype]
    except (KeyError, TypeError):
        raise TypeError(f"{dtype!r} is not an mlprt.DataType") from None


def volume(shape: Iterable[int]) -> int:
    """Number of elements of a shape (1 for a scalar shape ``()``). A dynamic extent (-1) or
    any other negative one raises ValueError naming the shape."""
    dims = tuple(int(d) for d in shape)
    if any(d < 0 for d in dims):
        raise ValueError(f"shape {dims} has a dynamic or negative dimension: it has no volume")
    result = 1
    for d in dims:
        result *= d
    return result
