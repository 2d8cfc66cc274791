"""Build and launch your own OpenCL kernels, shaped like ``pycuda.compiler.SourceModule``.

Programs are compiled once per device, driver, source and options; the binary is cached on
disk (``MLPRT_CACHE_DIR``, default ``~/.cache/mlprt``) so another process loads it instead of
compiling again.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from mlprt import _core
from mlprt._core import DeviceAllocation, Stream

__all__ = ["Function", "SourceModule"]

Dim3 = Union[int, Tuple[int, ...]]


def _dim3(value: Dim3, what: str) -> Tuple[int, int, int]:
    dims = (value,) if isinstance(value, int) else tuple(int(v) for v in value)
    if not 1 <= len(dims) <= 3 or any(d < 1 for d in dims):
        raise ValueError(f"{what} must be 1 to 3 positive sizes, not {value!r}")
    return tuple(dims) + (1,) * (3 - len(dims))  # type: ignore[return-value]


class Function:
    """One kernel of a :class:`SourceModule`. Call it with the kernel's arguments:
    :class:`DeviceAllocation` for ``__global`` pointers and NumPy scalars (``np.int32(n)``,
    ``np.float32(x)``) for values, whose type must match the kernel's parameter."""

    def __init__(self, kernel: _core.Kernel) -> None:
        self._kernel = kernel

    @property
    def name(self) -> str:
        return self._kernel.name

    @property
    def num_args(self) -> int:
        return self._kernel.num_args

    def _set_args(self, args: Sequence[Any]) -> None:
        if len(args) != self._kernel.num_args:
            raise TypeError(f"kernel '{self.name}' takes {self._kernel.num_args} arguments, "
                            f"got {len(args)}")
        for index, arg in enumerate(args):
            if isinstance(arg, DeviceAllocation):
                self._kernel.set_arg_buffer(index, arg)
            elif isinstance(arg, np.generic):
                self._kernel.set_arg_bytes(index, arg.tobytes())
            else:
                raise TypeError(
                    f"argument {index} of kernel '{self.name}' is a {type(arg).__name__}: pass a "
                    f"DeviceAllocation or a NumPy scalar of the parameter's type (np.int32(...))")

    def __call__(self, *args: Any, block: Dim3 = (1, 1, 1), grid: Dim3 = (1, 1, 1),
                 stream: Optional[Union[Stream, int]] = None,
                 shared: int = 0) -> None:
        """Launches ``grid`` work-groups of ``block`` work-items (CUDA's convention: the global
        size is grid * block per axis) on ``stream`` (default: the device's default stream)."""
        if shared:
            raise ValueError("dynamic shared memory: declare __local buffers in the kernel instead")
        self._set_args(args)
        local = _dim3(block, "block")
        groups = _dim3(grid, "grid")
        global_size = [g * b for g, b in zip(groups, local)]
        queue = Stream.from_handle(0) if stream is None else (
            stream if isinstance(stream, Stream) else Stream.from_handle(int(stream)))
        self._kernel.launch(queue, global_size, list(local))


class SourceModule:
    """OpenCL C source built for the current device. ``options`` are compiler options such as
    ``["-cl-fast-relaxed-math", "-DTILE=16"]``. Raises :class:`mlprt.BuildError` with the
    compiler's log when the source does not build."""

    def __init__(self, source: str, options: Optional[Sequence[str]] = None) -> None:
        self.program = _core.Program(source, " ".join(options or []))
        self._functions: Dict[str, Function] = {}

    @property
    def from_cache(self) -> bool:
        """True when the binary came from the on-disk cache instead of the compiler."""
        return self.program.origin == "disk-cache"

    def get_function(self, name: str) -> Function:
        """The kernel called ``name``; raises ValueError if the source has none."""
        if name not in self._functions:
            self._functions[name] = Function(self.program.kernel(name))
        return self._functions[name]
