"""TensorRT 7 and 8 names, kept for old tutorials, on top of mlprt's TensorRT 10 API.

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

Beyond the binding API it holds the other names TensorRT 10 removed that tutorials still call:
the Builder's TensorRT 7 fields (``max_batch_size``, ``max_workspace_size``, ``fp16_mode``,
``int8_mode``, ``strict_type_constraints``) and ``build_cuda_engine`` (on :class:`Builder`, a
Python subclass of the C++ builder so that it can keep those fields), ``build_engine``,
``IBuilderConfig.max_workspace_size``, ``IExecutionContext.execute`` / ``execute_async``, the
context-manager protocol (``with ... as x:``) and :func:`init_libnvinfer_plugins`.

Each legacy name says once, through the logger of the object it was called on (the Builder's or
Runtime's logger; the process's logger, as TensorRT has one, when the object's is not known),
which TensorRT 10 call replaces it: at WARNING where the call does not do all that it did in
TensorRT (a field or argument mlprt ignores), at INFO where it does exactly what the TensorRT 10
call does. "Once" is per logger and name.
"""
from __future__ import annotations

import functools
import threading
import weakref
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple, Union

from mlprt import _core
from mlprt._core import (BuilderFlag, DataType, IBuilderConfig, ICudaEngine, IExecutionContext,
                         IHostMemory, INetworkDefinition, MemoryPoolType, Severity, TensorIOMode)

Binding = Union[int, str]

__all__ = ["Builder", "Runtime", "binding_name", "deprecated", "init_libnvinfer_plugins"]


# Logging the TensorRT 10 replacement once ----------------------------------------------------

# Objects whose logger is known (engines built or deserialized by Builder / Runtime, networks and
# configs made by a Builder) -> that logger. Weak: the map never keeps an object alive.
_object_loggers: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()
# logger -> names already announced to it (loggers that cannot be weakly referenced: by id).
_announced: "weakref.WeakKeyDictionary[Any, Set[str]]" = weakref.WeakKeyDictionary()
_announced_by_id: Dict[int, Set[str]] = {}
_CORE = object()  # stands for the process's logger (mlprt._core.log)
_lock = threading.Lock()


def remember_logger(obj: Any, logger: Any) -> Any:
    """Records that ``obj`` was made with ``logger`` (for its deprecation messages); returns
    ``obj``."""
    if obj is not None and logger is not None:
        try:
            _object_loggers[obj] = logger
        except TypeError:  # not weakly referenceable: its messages go to the process's logger
            pass
    return obj


def logger_of(obj: Any) -> Any:
    """The logger ``obj`` was made with, or None when mlprt does not know it. An execution
    context answers with its engine's logger."""
    own = getattr(obj, "logger", None)
    if own is not None and callable(getattr(own, "log", None)):
        return own
    try:
        found = _object_loggers.get(obj)
    except TypeError:
        found = None
    if found is None and isinstance(obj, IExecutionContext):
        try:
            found = _object_loggers.get(obj.engine)
        except TypeError:
            found = None
    return found


_process_logger: "Optional[weakref.ReferenceType[Any]]" = None


def _set_process_logger(logger: Any) -> None:
    """Records the logger last handed to a Builder or Runtime: the core sends its messages there
    (mlprt.logger), and so do messages of objects whose own logger is not known."""
    global _process_logger
    try:
        _process_logger = weakref.ref(logger)
    except TypeError:
        _process_logger = None


def _resolve(logger: Any) -> Any:
    if logger is None and _process_logger is not None:
        return _process_logger()
    return logger


def _log(logger: Any, severity: Severity, message: str) -> None:
    logger = _resolve(logger)
    if logger is None:
        _core.log(severity, message)
    else:
        logger.log(severity, message)


def _first_time(logger: Any, key: str) -> bool:
    """True the first time ``key`` is announced to ``logger`` (None: the process's logger)."""
    logger = _resolve(logger)
    target = _CORE if logger is None else logger
    with _lock:
        try:
            seen = _announced.setdefault(target, set())
        except TypeError:
            seen = _announced_by_id.setdefault(id(target), set())
        if key in seen:
            return False
        seen.add(key)
        return True


def log_once(obj: Any, key: str, severity: Severity, message: str) -> None:
    """Logs ``message`` through ``obj``'s logger the first time ``key`` comes up for it."""
    logger = _resolve(logger_of(obj))
    if _first_time(logger, key):
        _log(logger, severity, message)


def deprecated(obj: Any, name: str, replacement: str, severity: Severity = Severity.INFO,
               note: str = "", removed: Optional[str] = "TensorRT 10") -> None:
    """Says once per logger: ``name`` is a TensorRT 7/8 name, ``removed`` the TensorRT version
    that dropped it (None: still there, deprecated), ``replacement`` TensorRT 10's call."""
    status = f"was removed in {removed}" if removed else "is deprecated since TensorRT 8"
    message = f"{name} {status}; TensorRT 10 uses {replacement}"
    log_once(obj, name, severity, message + (f". {note}" if note else ""))


def _announcing(function: Callable[..., Any], name: str, replacement: str) -> Callable[..., Any]:
    """``function`` that first logs (once) that ``name`` has the TensorRT 10 ``replacement``."""

    announced_for: "weakref.WeakSet[Any]" = weakref.WeakSet()  # objects past their first call

    @functools.wraps(function)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self not in announced_for:  # keeps the logger lookup off the per-call path
            deprecated(self, name, replacement)
            try:
                announced_for.add(self)
            except TypeError:
                pass
        return function(self, *args, **kwargs)

    return wrapper


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


def _bound_batch(context: IExecutionContext) -> Optional[int]:
    """The first dimension the inputs are bound with, when every input has one and they agree."""
    engine = context.engine
    batches = set()
    for name in _names(engine):
        if engine.get_tensor_mode(name) != TensorIOMode.INPUT:
            continue
        shape = tuple(context.get_tensor_shape(name))
        if not shape or shape[0] < 0:
            return None
        batches.add(int(shape[0]))
    return batches.pop() if len(batches) == 1 else None


def _check_batch_size(context: IExecutionContext, call: str, batch_size: Any) -> None:
    if isinstance(batch_size, bool) or not hasattr(batch_size, "__index__"):
        raise TypeError(f"{call}: batch_size is an integer, not {batch_size!r}")
    batch = int(batch_size)
    if batch < 1:
        raise ValueError(f"{call}: batch_size must be at least 1, got {batch}")
    bound = _bound_batch(context)
    if bound is not None and bound != batch:
        log_once(context, call + ".batch_size", Severity.WARNING,
                 f"{call}: batch_size={batch} is ignored: the engine has explicit batch "
                 f"dimensions and its inputs are bound with batch {bound} (TensorRT 7 and 8 "
                 f"ignored it too); set the batch with set_input_shape")


def _execute(self: IExecutionContext, batch_size: int = 1, bindings: Sequence[Any] = ()) -> bool:
    """TensorRT 7's synchronous inference, kept for old tutorials: runs the engine on
    ``bindings`` (one device address per binding, in binding order) and returns when the
    outputs are written. The engine has explicit batch dimensions, so ``batch_size`` is ignored
    as in TensorRT 7 and 8 (a warning says so once when it differs from the bound inputs' first
    dimension). TensorRT 10: ``execute_v2(bindings)``, or ``set_tensor_address`` per tensor and
    ``execute_async_v3`` plus a stream synchronize."""
    deprecated(self, "IExecutionContext.execute", "execute_v2(bindings)", Severity.WARNING,
               "batch_size is ignored: the batch is part of the input shapes")
    if len(bindings) != self.engine.num_io_tensors:
        raise ValueError(f"execute: {len(bindings)} bindings given, the engine has "
                         f"{self.engine.num_io_tensors} ({_names(self.engine)})")
    _bind_all(self, bindings)
    _check_batch_size(self, "execute", batch_size)
    return bool(self.execute_v2([int(b) for b in bindings]))


def _execute_async(self: IExecutionContext, batch_size: int = 1, bindings: Sequence[Any] = (),
                   stream_handle: Any = 0, input_consumed: Any = None) -> bool:
    """TensorRT 7's enqueue, kept for old tutorials: binds ``bindings`` (one device address per
    binding, in binding order) and queues the engine on ``stream_handle``; the outputs are
    there after the stream is synchronized. ``batch_size`` is ignored as in TensorRT 7 and 8
    for explicit-batch engines (a warning says so once when it differs from the bound inputs'
    first dimension). ``input_consumed``, an :class:`mlprt.driver.Event`, is recorded on the
    stream after the queued work. TensorRT 10: ``set_tensor_address`` per tensor and
    ``execute_async_v3(stream_handle)``."""
    deprecated(self, "IExecutionContext.execute_async",
               "set_tensor_address(name, address) per I/O tensor and "
               "execute_async_v3(stream_handle)", Severity.WARNING,
               "batch_size is ignored: the batch is part of the input shapes")
    _bind_all(self, bindings)
    _check_batch_size(self, "execute_async", batch_size)
    queued = bool(self.execute_async_v3(stream_handle))
    if input_consumed is not None:
        handle = int(getattr(stream_handle, "handle", stream_handle))
        input_consumed.record(_core.Stream.from_handle(handle))
    return queued


# IBuilderConfig -------------------------------------------------------------------------------

def _config_get_workspace(self: IBuilderConfig) -> int:
    deprecated(self, "IBuilderConfig.max_workspace_size",
               "config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, size)")
    return int(self.get_memory_pool_limit(MemoryPoolType.WORKSPACE))


def _config_set_workspace(self: IBuilderConfig, size: int) -> None:
    deprecated(self, "IBuilderConfig.max_workspace_size",
               "config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, size)")
    self.set_memory_pool_limit(MemoryPoolType.WORKSPACE, _workspace_bytes(size, "max_workspace_size"))


def _workspace_bytes(size: Any, what: str) -> int:
    if isinstance(size, bool) or not hasattr(size, "__index__"):
        raise TypeError(f"{what} is a number of bytes, not {size!r}")
    if int(size) < 0:
        raise ValueError(f"{what} cannot be negative, got {int(size)}")
    return int(size)


# The context-manager protocol ------------------------------------------------------------------

def _enter(self: Any) -> Any:
    """``with`` support, kept for TensorRT 7 tutorials: returns the object itself. TensorRT 8
    deprecated it and TensorRT 10 removed it; leaving the block frees nothing that the object
    still needs (mlprt objects are freed when their last reference goes, as in TensorRT 10)."""
    deprecated(self, "'with' on TensorRT objects",
               "plain assignment (objects are freed when their last reference goes)",
               note="Leaving the block has no effect, as in TensorRT 8 and 10", removed=None)
    return self


def _exit(self: Any, *exc_info: Any) -> bool:
    """Leaves a ``with`` block; exceptions propagate."""
    del self, exc_info
    return False


_CONTEXT_MANAGER_CLASSES = (INetworkDefinition, IBuilderConfig, ICudaEngine, IExecutionContext,
                            IHostMemory)


# Builder and Runtime ---------------------------------------------------------------------------

class Runtime(_core.Runtime):
    """Deserializes engines (TensorRT's ``trt.Runtime(logger)``); engines it makes remember its
    logger for their messages."""

    def __init__(self, logger: Any) -> None:
        super().__init__(logger)
        _set_process_logger(logger)

    def deserialize_cuda_engine(self, serialized_engine: Any) -> Optional[ICudaEngine]:
        """The engine, or None with the reason sent to the logger."""
        return remember_logger(super().deserialize_cuda_engine(serialized_engine), self.logger)

    def deserialize_engine(self, serialized_engine: Any) -> Optional[ICudaEngine]:
        """The engine, or None with the reason sent to the logger."""
        return remember_logger(super().deserialize_engine(serialized_engine), self.logger)

    def __enter__(self) -> "Runtime":
        return _enter(self)

    def __exit__(self, *exc_info: Any) -> bool:
        return False


class Builder(_core.Builder):
    """Builds engines from network definitions for the current device (TensorRT's
    ``trt.Builder(logger)``), with TensorRT 7's builder fields and TensorRT 7/8's
    ``build_cuda_engine`` / ``build_engine`` kept for old tutorials.

    The fields (``max_batch_size``, ``max_workspace_size``, ``fp16_mode``, ``int8_mode``,
    ``strict_type_constraints``) belong to each Builder and are used only by
    :meth:`build_cuda_engine`, as in TensorRT 7; TensorRT 10 sets them on an IBuilderConfig.
    """

    def __init__(self, logger: Any) -> None:
        super().__init__(logger)
        _set_process_logger(logger)
        self._max_batch_size: int = 1
        self._max_workspace_size: Optional[int] = None
        self._fp16_mode: bool = False
        self._int8_mode: bool = False
        self._strict_type_constraints: bool = False

    # TensorRT 10 calls, recording the logger of what they make.
    def create_network(self, flags: int = 0) -> INetworkDefinition:
        """A new, empty network (every network has explicit batch dimensions)."""
        return remember_logger(super().create_network(flags), self.logger)

    def create_builder_config(self) -> IBuilderConfig:
        """A new builder configuration (what a build may do)."""
        return remember_logger(super().create_builder_config(), self.logger)

    def __enter__(self) -> "Builder":
        return _enter(self)

    def __exit__(self, *exc_info: Any) -> bool:
        return False

    # TensorRT 7 fields.
    @property
    def max_batch_size(self) -> int:
        """TensorRT 7's implicit batch size (default 1). Every mlprt network has explicit batch
        dimensions, so it changes nothing, as in TensorRT 7 and 8 for explicit-batch networks;
        the batch is the first dimension of the input shapes (a profile's range when dynamic)."""
        self._say_ignored_batch()
        return self._max_batch_size

    @max_batch_size.setter
    def max_batch_size(self, value: int) -> None:
        if isinstance(value, bool) or not hasattr(value, "__index__"):
            raise TypeError(f"max_batch_size is an integer, not {value!r}")
        if int(value) < 1:
            raise ValueError(f"max_batch_size must be at least 1, got {int(value)}")
        self._say_ignored_batch()
        self._max_batch_size = int(value)

    def _say_ignored_batch(self) -> None:
        deprecated(self, "Builder.max_batch_size",
                   "explicit batch dimensions: the batch is the first dimension of the input "
                   "shapes, its range an optimization profile's (builder.create_optimization_profile)",
                   Severity.WARNING, "It is ignored: every mlprt network has explicit batch dimensions")

    @property
    def max_workspace_size(self) -> int:
        """TensorRT 7's workspace limit in bytes for :meth:`build_cuda_engine` (0 until set:
        the builder's default). TensorRT 10:
        ``config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, size)``."""
        self._say("max_workspace_size", "config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, size)")
        return self._max_workspace_size or 0

    @max_workspace_size.setter
    def max_workspace_size(self, value: int) -> None:
        self._say("max_workspace_size", "config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, size)")
        self._max_workspace_size = _workspace_bytes(value, "max_workspace_size")

    @property
    def fp16_mode(self) -> bool:
        """TensorRT 7: let :meth:`build_cuda_engine` choose FP16 kernels. TensorRT 10:
        ``config.set_flag(trt.BuilderFlag.FP16)``."""
        self._say("fp16_mode", "config.set_flag(trt.BuilderFlag.FP16)")
        return self._fp16_mode

    @fp16_mode.setter
    def fp16_mode(self, value: bool) -> None:
        self._say("fp16_mode", "config.set_flag(trt.BuilderFlag.FP16)")
        self._fp16_mode = bool(value)

    @property
    def int8_mode(self) -> bool:
        """TensorRT 7: let :meth:`build_cuda_engine` choose INT8 kernels. mlprt has no INT8
        kernels: it is kept and ignored (the build uses FP32, or FP16 where ``fp16_mode``
        allows), with a warning. TensorRT 10: ``config.set_flag(trt.BuilderFlag.INT8)``."""
        self._say_int8()
        return self._int8_mode

    @int8_mode.setter
    def int8_mode(self, value: bool) -> None:
        self._say_int8()
        self._int8_mode = bool(value)

    def _say_int8(self) -> None:
        deprecated(self, "Builder.int8_mode", "config.set_flag(trt.BuilderFlag.INT8)", Severity.WARNING,
                   "mlprt has no INT8 kernels: it is ignored and engines are built in FP32 "
                   "(FP16 where allowed)", removed="TensorRT 8")

    @property
    def strict_type_constraints(self) -> bool:
        """TensorRT 7: make layers keep the precisions they were given. mlprt's builder already
        runs every layer in the precision the flags allow it and never mixes in others, so it is
        kept and changes nothing. TensorRT 10: ``BuilderFlag.OBEY_PRECISION_CONSTRAINTS``."""
        self._say("strict_type_constraints",
                  "config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)")
        return self._strict_type_constraints

    @strict_type_constraints.setter
    def strict_type_constraints(self, value: bool) -> None:
        self._say("strict_type_constraints",
                  "config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)")
        self._strict_type_constraints = bool(value)

    @property
    def platform_has_fast_int8(self) -> bool:
        """False: mlprt has no INT8 kernels."""
        return False

    def _say(self, field: str, replacement: str) -> None:
        deprecated(self, f"Builder.{field}", replacement, removed="TensorRT 8")

    # TensorRT 7 and 8 builds.
    def _legacy_config(self) -> IBuilderConfig:
        config = self.create_builder_config()
        if self._max_workspace_size:
            config.set_memory_pool_limit(MemoryPoolType.WORKSPACE, self._max_workspace_size)
        if self._fp16_mode:
            config.set_flag(BuilderFlag.FP16)
        return config

    def build_cuda_engine(self, network: INetworkDefinition) -> Optional[ICudaEngine]:
        """TensorRT 7's build: an engine for ``network`` built with this Builder's fields
        (``max_workspace_size``, ``fp16_mode``; ``max_batch_size``, ``int8_mode`` and
        ``strict_type_constraints`` change nothing), or None with the reason sent to the
        logger. As in TensorRT 7, a network with dynamic input dimensions needs
        :meth:`build_engine` with a config that has an optimization profile. TensorRT 10:
        ``build_serialized_network(network, config)`` then
        ``Runtime(logger).deserialize_cuda_engine(...)``."""
        deprecated(self, "Builder.build_cuda_engine",
                   "builder.build_serialized_network(network, config) and "
                   "trt.Runtime(logger).deserialize_cuda_engine(serialized)", removed="TensorRT 8")
        if self._int8_mode:
            self._say_int8()
        if not isinstance(network, INetworkDefinition):
            raise TypeError(f"build_cuda_engine takes an INetworkDefinition (from "
                            f"Builder.create_network), not {type(network).__name__}")
        dynamic = [f"'{t.name}' {tuple(t.shape)}" for t in
                   (network.get_input(i) for i in range(network.num_inputs)) if -1 in tuple(t.shape)]
        if dynamic:
            _log(self.logger, Severity.ERROR,
                 f"build_cuda_engine: input {', '.join(dynamic)} has dynamic dimensions (-1) and "
                 f"build_cuda_engine has no optimization profile: use "
                 f"builder.build_engine(network, config) (or build_serialized_network) with a "
                 f"config that has one (builder.create_optimization_profile, "
                 f"config.add_optimization_profile)")
            return None
        return self._engine_of(network, self._legacy_config())

    def build_engine(self, network: INetworkDefinition, config: IBuilderConfig) -> Optional[ICudaEngine]:
        """TensorRT 8's build: an engine for ``network`` with ``config``, or None with the
        reasons sent to the logger. TensorRT 10: ``build_serialized_network(network, config)``
        then ``Runtime(logger).deserialize_cuda_engine(...)``."""
        deprecated(self, "Builder.build_engine",
                   "builder.build_serialized_network(network, config) and "
                   "trt.Runtime(logger).deserialize_cuda_engine(serialized)")
        return self._engine_of(network, config)

    def _engine_of(self, network: INetworkDefinition, config: IBuilderConfig) -> Optional[ICudaEngine]:
        serialized = self.build_serialized_network(network, config)
        if serialized is None:
            return None
        return Runtime(self.logger).deserialize_cuda_engine(serialized)


Builder.__module__ = "mlprt"
Runtime.__module__ = "mlprt"


def init_libnvinfer_plugins(logger: Any, namespace: str) -> bool:
    """TensorRT's plugin registration (``trt.init_libnvinfer_plugins(logger, "")``): mlprt has
    no plugin library, so there is nothing to register; returns True and says so through
    ``logger`` at VERBOSE."""
    if not isinstance(namespace, str):
        raise TypeError(f"init_libnvinfer_plugins: namespace is a str, not {type(namespace).__name__}")
    if logger is not None and not callable(getattr(logger, "log", None)):
        raise TypeError(f"init_libnvinfer_plugins: a logger needs a log(severity, msg) method; got "
                        f"{type(logger).__name__}")
    _log(logger, Severity.VERBOSE,
         f"init_libnvinfer_plugins(namespace='{namespace}'): mlprt has no plugin library; "
         f"nothing to register")
    return True


# Installing the names ----------------------------------------------------------------------

_ENGINE_METHODS = {
    "get_binding_name": (_get_binding_name, "engine.get_tensor_name(index)"),
    "get_binding_index": (_get_binding_index, "the tensor's name (engine.get_tensor_name(i) lists them)"),
    "binding_is_input": (_binding_is_input, "engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT"),
    "get_binding_shape": (_engine_get_binding_shape, "engine.get_tensor_shape(name)"),
    "get_binding_dtype": (_get_binding_dtype, "engine.get_tensor_dtype(name)"),
    "get_profile_shape": (_get_profile_shape, "engine.get_tensor_profile_shape(name, profile_index)"),
}
_ENGINE_PROPERTIES = {
    "num_bindings": (_num_bindings, "engine.num_io_tensors"),
    "max_batch_size": (_max_batch_size,
                       "explicit batch dimensions (engine.get_tensor_shape(name)[0], or the "
                       "profile's range from engine.get_tensor_profile_shape)"),
}
_CONTEXT_METHODS = {
    "set_binding_shape": (_set_binding_shape, "context.set_input_shape(name, shape)"),
    "get_binding_shape": (_context_get_binding_shape, "context.get_tensor_shape(name)"),
    "execute_async_v2": (_execute_async_v2,
                         "context.set_tensor_address(name, address) per I/O tensor and "
                         "context.execute_async_v3(stream_handle)"),
}
_CONTEXT_LEGACY = {"execute": _execute, "execute_async": _execute_async}


def _install() -> None:
    """Adds the legacy names to the pybind11 classes (never replacing an existing one)."""
    for name, (function, replacement) in _ENGINE_METHODS.items():
        if not hasattr(ICudaEngine, name):
            function.__name__ = name
            setattr(ICudaEngine, name, _announcing(function, f"ICudaEngine.{name}", replacement))
    for name, (getter, replacement) in _ENGINE_PROPERTIES.items():
        if not hasattr(ICudaEngine, name):
            setattr(ICudaEngine, name,
                    property(_announcing(getter, f"ICudaEngine.{name}", replacement), doc=getter.__doc__))
    for name, (function, replacement) in _CONTEXT_METHODS.items():
        if not hasattr(IExecutionContext, name):
            function.__name__ = name
            setattr(IExecutionContext, name,
                    _announcing(function, f"IExecutionContext.{name}", replacement))
    for name, function in _CONTEXT_LEGACY.items():
        if not hasattr(IExecutionContext, name):
            function.__name__ = name
            setattr(IExecutionContext, name, function)
    if not hasattr(IBuilderConfig, "max_workspace_size"):
        setattr(IBuilderConfig, "max_workspace_size",
                property(_config_get_workspace, _config_set_workspace,
                         doc="TensorRT 7/8's workspace limit in bytes (get/set_memory_pool_limit "
                             "of MemoryPoolType.WORKSPACE)."))
    for cls in _CONTEXT_MANAGER_CLASSES:
        if not hasattr(cls, "__enter__"):
            cls.__enter__ = _enter
            cls.__exit__ = _exit
    from mlprt.onnx_parser import OnnxParser  # a Python class: the same two methods
    if not hasattr(OnnxParser, "__enter__"):
        OnnxParser.__enter__ = _enter
        OnnxParser.__exit__ = _exit


_install()
