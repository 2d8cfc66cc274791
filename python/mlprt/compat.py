"""TensorRT 8's binding API, kept for old tutorials, on top of mlprt's TensorRT 10 API.

TensorRT 8 addressed an engine's inputs and outputs as *bindings*: integer indices with names.
TensorRT 10 replaced them with named I/O tensors. Many tutorials still call the old names, so this
module adds them to :class:`mlprt.ICudaEngine` and :class:`mlprt.IExecutionContext` when
``mlprt`` is imported. Each one is a thin wrapper over the TensorRT 10 call named in its
docstring, so both give the same results.

Binding ``i`` is I/O tensor ``i`` in engine order (inputs first, then outputs), the order of
``engine.get_tensor_name(i)`` and of iteration over the engine. Functions that take a binding
accept its index or its name. Unlike TensorRT 8, an unknown index or name raises (``IndexError``
for an index out of range, ``ValueError`` for an unknown name, ``TypeError`` for anything else)
instead of returning -1 or None, so a typo cannot go unnoticed.
"""
from __future__ import annotations

from typing import Any, List, Sequence, Tuple, Union

from mlprt._core import DataType, ICudaEngine, IExecutionContext, TensorIOMode

Binding = Union[int, str]

__all__ = ["binding_name"]


def _names(engine: ICudaEngine) -> List[str]:
    return [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]


def binding_name(engine: ICudaEngine, binding: Binding) -> str:
    """The I/O tensor name of ``binding`` (an index or a name), or a clear error."""
    if isinstance(binding, str):
        names = _names(engine)
        if binding not in names:
            raise ValueError(f"no binding named '{binding}': the engine's bindings are {names}")
        return binding
    if isinstance(binding, bool) or not hasattr(binding, "__index__"):
        raise TypeError(f"a binding is an index or a name, not {type(binding).__name__}")
    index = int(binding)
    count = engine.num_io_tensors
    if not 0 <= index < count:
        raise IndexError(f"binding index {index} is out of range: the engine has {count} bindings "
                         f"({_names(engine)})")
    return engine.get_tensor_name(index)


# ICudaEngine ----------------------------------------------------------------------------------

def _num_bindings(self: ICudaEngine) -> int:
    """TensorRT 8 name for ``num_io_tensors``, kept for old tutorials."""
    return self.num_io_tensors


def _max_batch_size(self: ICudaEngine) -> int:
    """TensorRT 8's implicit batch size, kept for old tutorials: always 1 (explicit batch)."""
    del self
    return 1


def _get_binding_name(self: ICudaEngine, index: int) -> str:
    """TensorRT 8 name for ``get_tensor_name(index)``, kept for old tutorials."""
    if isinstance(index, str):
        raise TypeError("get_binding_name takes a binding index, not a name")
    return binding_name(self, index)


def _get_binding_index(self: ICudaEngine, name: str) -> int:
    """TensorRT 8's index of the binding ``name`` (its position among the I/O tensors), kept for
    old tutorials. Raises ``ValueError`` for an unknown name (TensorRT 8 returned -1)."""
    if not isinstance(name, str):
        raise TypeError(f"get_binding_index takes a binding name, not {type(name).__name__}")
    names = _names(self)
    if name not in names:
        raise ValueError(f"no binding named '{name}': the engine's bindings are {names}")
    return names.index(name)


def _binding_is_input(self: ICudaEngine, binding: Binding) -> bool:
    """TensorRT 8 name for ``get_tensor_mode(name) == TensorIOMode.INPUT``, kept for old
    tutorials; ``binding`` is an index or a name."""
    return self.get_tensor_mode(binding_name(self, binding)) == TensorIOMode.INPUT


def _engine_get_binding_shape(self: ICudaEngine, binding: Binding) -> Tuple[int, ...]:
    """TensorRT 8 name for ``get_tensor_shape(name)`` (-1 where dynamic), kept for old
    tutorials; ``binding`` is an index or a name."""
    return tuple(self.get_tensor_shape(binding_name(self, binding)))


def _get_binding_dtype(self: ICudaEngine, binding: Binding) -> DataType:
    """TensorRT 8 name for ``get_tensor_dtype(name)``, kept for old tutorials; ``binding`` is
    an index or a name."""
    return self.get_tensor_dtype(binding_name(self, binding))


def _get_profile_shape(self: ICudaEngine, profile_index: int, binding: Binding) -> List[Any]:
    """TensorRT 8 name for ``get_tensor_profile_shape(name, profile_index)`` ([min, opt, max]),
    kept for old tutorials; note the TensorRT 8 argument order (profile first)."""
    return self.get_tensor_profile_shape(binding_name(self, binding), int(profile_index))


# IExecutionContext ----------------------------------------------------------------------------

def _set_binding_shape(self: IExecutionContext, binding: Binding, shape: Sequence[int]) -> bool:
    """TensorRT 8 name for ``set_input_shape(name, shape)``, kept for old tutorials: True when
    the shape was accepted, False (with the reason logged) when it lies outside the active
    profile. ``binding`` is an index or a name."""
    name = binding_name(self.engine, binding)
    return bool(self.set_input_shape(name, tuple(int(d) for d in shape)))


def _context_get_binding_shape(self: IExecutionContext, binding: Binding) -> Tuple[int, ...]:
    """TensorRT 8 name for the context's ``get_tensor_shape(name)`` (outputs resolved once all
    inputs have shapes), kept for old tutorials; ``binding`` is an index or a name."""
    return tuple(self.get_tensor_shape(binding_name(self.engine, binding)))


def _bind_all(context: IExecutionContext, bindings: Sequence[Any]) -> None:
    engine = context.engine
    names = _names(engine)
    if len(bindings) != len(names):
        raise ValueError(f"{len(bindings)} bindings given, the engine has {len(names)} ({names})")
    for name, address in zip(names, bindings):
        context.set_tensor_address(name, int(address))


def _execute_async_v2(self: IExecutionContext, bindings: Sequence[Any], stream_handle: Any) -> bool:
    """TensorRT 8's enqueue, kept for old tutorials: binds ``bindings`` (one device address per
    binding, in binding order) with ``set_tensor_address`` and calls
    ``execute_async_v3(stream_handle)``. Raises ``ValueError`` when the count of bindings is
    wrong or something is missing, as ``execute_async_v3`` does."""
    _bind_all(self, bindings)
    return bool(self.execute_async_v3(stream_handle))


_ENGINE_METHODS = {
    "get_binding_name": _get_binding_name,
    "get_binding_index": _get_binding_index,
    "binding_is_input": _binding_is_input,
    "get_binding_shape": _engine_get_binding_shape,
    "get_binding_dtype": _get_binding_dtype,
    "get_profile_shape": _get_profile_shape,
}
_ENGINE_PROPERTIES = {
    "num_bindings": _num_bindings,
    "max_batch_size": _max_batch_size,
}
_CONTEXT_METHODS = {
    "set_binding_shape": _set_binding_shape,
    "get_binding_shape": _context_get_binding_shape,
    "execute_async_v2": _execute_async_v2,
}


def _install() -> None:
    """Adds the TensorRT 8 names to the pybind11 classes (never replacing an existing one)."""
    for name, function in _ENGINE_METHODS.items():
        if not hasattr(ICudaEngine, name):
            function.__name__ = name
            setattr(ICudaEngine, name, function)
    for name, getter in _ENGINE_PROPERTIES.items():
        if not hasattr(ICudaEngine, name):
            setattr(ICudaEngine, name, property(getter, doc=getter.__doc__))
    for name, function in _CONTEXT_METHODS.items():
        if not hasattr(IExecutionContext, name):
            function.__name__ = name
            setattr(IExecutionContext, name, function)


_install()
