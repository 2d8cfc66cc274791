"""``mlprt.backend``: ONNX's backend interface (``onnx.backend.base.Backend``) on mlprt engines,
as ONNX Runtime (``onnxruntime.backend``) and onnx-tensorrt (``onnx_tensorrt.backend``) ship it.

>>> import mlprt.backend as backend
>>> rep = backend.prepare(model, device="CPU")        # an onnx.ModelProto, bytes or a path
>>> outputs = rep.run([x])                            # or rep.run({"input": x})
>>> y = outputs[0]                                    # or outputs["output"]

and so ONNX's own test suite runs on mlprt::

    import onnx.backend.test
    import mlprt.backend
    globals().update(onnx.backend.test.BackendTest(mlprt.backend, __name__).test_cases)

How things map:

- ``prepare`` parses the model with :class:`mlprt.OnnxParser` and builds an FP32 engine whose
  shapes are fixed (no optimization profile): a model whose inputs are all static is built at
  once. A dynamic input dimension (a ``dim_param`` or no dimension at all) takes the size of the
  input given to the first ``run``; a later ``run`` with other shapes builds again for those
  (the last :data:`ENGINES_KEPT` engines are kept, keyed by the input shapes). Operators the
  parser does not know are refused by ``prepare`` even then.
- Shape tensors: when the parser refuses a model only because a node's parameter (axes, a
  shape, Slice's starts, ...) is not a constant and that parameter is an integer input of rank
  <= 1, ``prepare`` keeps the model, and each ``run`` builds the engine with those inputs'
  values as constants (``rep.baked_inputs`` names them), as TensorRT builds shape tensors into
  a profile; other values build another engine (kept as above). ONNX's own reduction tests pass
  their axes this way.
- A model mlprt cannot parse or build raises :class:`BackendError` naming the node and operator
  (``node 0 'conv1' (Conv): operator Conv is not supported [UNSUPPORTED_NODE]``).
- Inputs and outputs keep the model's ONNX element types: an input of another dtype is refused
  (``TypeError``), and where the engine stores a tensor in another type the values are converted
  (inputs only when every value survives the conversion). Outputs come in the graph's output
  order as a ``namedtupledict`` (index or output name).
- ``device``: ``"CPU"`` is mlprt's current device (:func:`mlprt.current_device`, PoCL's CPU
  device here); ``"CUDA"`` is supported when that device is a GPU. ``supports_device`` says so.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnx.backend.base import Backend, BackendRep, Device, DeviceType, namedtupledict

import mlprt
from mlprt.engine_tools import BuildFailed, EngineRunner, _CollectingLogger

__all__ = ["BackendError", "MlprtBackend", "MlprtBackendRep", "prepare", "run_model", "run_node",
           "supports_device", "is_compatible", "ENGINES_KEPT"]

#: How many engines one BackendRep keeps for the input shapes it has seen (a dynamic model).
ENGINES_KEPT = 4

_EXPLICIT_BATCH = 1 << int(mlprt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)


class BackendError(BuildFailed):
    """The model cannot run on mlprt: ``stage`` is ``"parse"`` (the ONNX parser refused it;
    ``errors`` holds the :class:`mlprt.ParserError` objects, each naming its node and operator)
    or ``"build"`` (the builder refused the network; ``errors`` holds its messages)."""

    def __init__(self, stage: str, errors: Sequence[Any], detail: str = "") -> None:
        self.stage = stage
        self.errors = list(errors)
        what = "parse the model" if stage == "parse" else "build an engine for the model"
        lines = [str(e) for e in self.errors] or ["no reason given"]
        super().__init__(f"mlprt cannot {what}{detail}:\n  " + "\n  ".join(lines))


def _np_dtype(elem_type: int) -> np.dtype:
    return np.dtype(helper.tensor_dtype_to_np_dtype(elem_type))


def _load(model: Union[onnx.ModelProto, bytes, str, "os.PathLike[str]"]) -> onnx.ModelProto:
    if isinstance(model, onnx.ModelProto):
        return model
    if isinstance(model, (bytes, bytearray, memoryview)):
        return onnx.load_model_from_string(bytes(model))
    return onnx.load(os.fspath(model))


def _is_gpu(device: "mlprt.DeviceInfo") -> bool:
    return "GPU" in str(device.type).upper()


def _check_device(device: str) -> None:
    if not MlprtBackend.supports_device(device):
        raise ValueError(f"mlprt.backend cannot run on device '{device}': mlprt runs on its current "
                         f"device {mlprt.current_device().name!r}, which is "
                         f"{'a GPU (CPU or CUDA)' if _is_gpu(mlprt.current_device()) else 'not a GPU (use CPU)'}")


class MlprtBackendRep(BackendRep):
    """A prepared model: ``run(inputs)`` builds (or reuses) an engine for the inputs' shapes and
    runs it. ``engine`` is the engine of the last run (None before a dynamic model's first run).
    ``builds`` counts the engines built so far. Not thread-safe: one per thread."""

    def __init__(self, model: onnx.ModelProto, device: str = "CPU",
                 logger: Optional[mlprt.ILogger] = None) -> None:
        super().__init__()
        self.device = device
        self.model = model
        self._logger = logger
        graph = model.graph
        initializers = {init.name for init in graph.initializer}
        self._inputs = [v for v in graph.input if v.name not in initializers]
        self.input_names: List[str] = [v.name for v in self._inputs]
        self.output_names: List[str] = [v.name for v in graph.output]
        for value in list(self._inputs) + list(graph.output):
            if value.type.WhichOneof("value") != "tensor_type":
                kind = value.type.WhichOneof("value") or "no type"
                raise BackendError("parse", [f"graph {'input' if value in self._inputs else 'output'} "
                                             f"'{value.name}' is a {kind.replace('_type', '')}, not a tensor: "
                                             "mlprt runs tensors only"])
        self._input_dtypes = [_np_dtype(v.type.tensor_type.elem_type) for v in self._inputs]
        self._output_dtypes = [_np_dtype(v.type.tensor_type.elem_type) for v in graph.output]
        self._declared: List[Optional[Tuple[Optional[int], ...]]] = [self._dims(v) for v in self._inputs]
        # Keyed by the input shapes and the values of the baked inputs.
        self._engines: "OrderedDict[Tuple[Any, ...], Tuple[mlprt.ICudaEngine, EngineRunner]]" = OrderedDict()
        self.engine: Optional[mlprt.ICudaEngine] = None
        self.builds = 0
        #: Inputs whose values the engine is built for (shape tensors, see the module docstring).
        self.baked_inputs: List[str] = []
        static = all(d is not None and all(x is not None for x in d) for d in self._declared)
        if static:
            try:
                self.engine = self._engine_for(tuple(tuple(d) for d in self._declared))[0]  # type: ignore[arg-type]
            except BackendError as error:
                self.baked_inputs = self._shape_tensor_inputs(error)
                if not self.baked_inputs:
                    raise
        else:
            self._refuse_unknown_operators()

    @staticmethod
    def _dims(value: onnx.ValueInfoProto) -> Optional[Tuple[Optional[int], ...]]:
        tensor = value.type.tensor_type
        if not tensor.HasField("shape"):
            return None                                  # rank unknown: the first run says
        return tuple(int(d.dim_value) if d.HasField("dim_value") else None for d in tensor.shape.dim)

    def _refuse_unknown_operators(self) -> None:
        known = set(_supported())
        errors = [mlprt.ParserError(mlprt.ErrorCode.UNSUPPORTED_NODE,
                                    f"operator {node.op_type} is not supported", i, node.name, node.op_type)
                  for i, node in enumerate(self.model.graph.node)
                  if node.domain in ("", "ai.onnx") and node.op_type not in known]
        if errors:
            raise BackendError("parse", errors)

    def _baked_values(self, arrays: List[np.ndarray]) -> Dict[str, np.ndarray]:
        return {name: np.array(array) for name, array in zip(self.input_names, arrays) if name in self.baked_inputs}

    def _shape_tensor_inputs(self, error: "BackendError") -> List[str]:
        """The integer inputs of rank <= 1 that nodes take as parameters (axes, shapes, starts,
        ...), when the parser refused the model only because such a parameter is not a constant;
        else []. Their values are then built into the engine at each run."""
        if error.stage != "parse" or not error.errors or not all(
                isinstance(e, mlprt.ParserError) and "known at parse time" in e.desc() for e in error.errors):
            return []
        integer = {onnx.TensorProto.INT64, onnx.TensorProto.INT32}
        parameters = {name for node in self.model.graph.node for name in node.input[1:]}
        # Floating parameters that TensorRT too needs at build time: the scales (and roi) of Resize
        # and Upsample, Pad's constant_value, OneHot's depth (it sizes the output).
        floating = {name for node in self.model.graph.node if node.op_type in ("Resize", "Upsample", "Pad")
                    for name in node.input[1:3]}
        floating |= {node.input[1] for node in self.model.graph.node if node.op_type == "OneHot" and len(node.input) > 1}
        return [v.name for v, dims in zip(self._inputs, self._declared)
                if (dims is None or len(dims) <= 1)
                and ((v.type.tensor_type.elem_type in integer and v.name in parameters) or v.name in floating)]

    # -- building ------------------------------------------------------------------------------

    def _static_model(self, shapes: Tuple[Tuple[int, ...], ...], baked: Dict[str, np.ndarray]) -> bytes:
        """The model's bytes with every input's dims set to ``shapes`` and the ``baked`` inputs
        turned into initializers holding their values."""
        if not baked and all(d is not None and tuple(d) == s for d, s in zip(self._declared, shapes)):
            return self.model.SerializeToString()
        model = onnx.ModelProto()
        model.CopyFrom(self.model)
        by_name = {v.name: v for v in model.graph.input}
        for name, shape in zip(self.input_names, shapes):
            tensor = by_name[name].type.tensor_type
            tensor.shape.Clear()
            for extent in shape:
                tensor.shape.dim.add().dim_value = int(extent)
        if baked:
            kept = [v for v in model.graph.input if v.name not in baked]
            del model.graph.input[:]
            model.graph.input.extend(kept)
            model.graph.initializer.extend(numpy_helper.from_array(value, name) for name, value in baked.items())
        return model.SerializeToString()

    def _engine_for(self, shapes: Tuple[Tuple[int, ...], ...],
                    baked: Optional[Dict[str, np.ndarray]] = None) -> Tuple[mlprt.ICudaEngine, EngineRunner]:
        baked = baked or {}
        key = (shapes, tuple((name, value.tobytes()) for name, value in baked.items()))
        cached = self._engines.get(key)
        if cached is not None:
            self._engines.move_to_end(key)
            return cached
        data = self._static_model(shapes, baked)
        detail = "" if all(d is not None and None not in d for d in self._declared) else \
            f" for input shapes {dict(zip(self.input_names, shapes))}"
        collector = _CollectingLogger(self._logger)
        builder = mlprt.Builder(collector)
        network = builder.create_network(_EXPLICIT_BATCH)
        parser = mlprt.OnnxParser(network, collector)
        if not parser.parse(data):
            raise BackendError("parse", [parser.get_error(i) for i in range(parser.num_errors)], detail)
        config = builder.create_builder_config()
        cache = _timing_cache(config)
        if cache is not None:
            config.set_timing_cache(cache, True)
        try:
            plan = builder.build_serialized_network(network, config)
        except mlprt.Error as error:               # the builder's exceptions (BuildError, ...)
            raise BackendError("build", collector.errors + [str(error)], detail) from None
        if plan is None:
            raise BackendError("build", collector.errors, detail)
        engine = mlprt.Runtime(collector).deserialize_cuda_engine(bytes(plan))
        if engine is None:
            raise BackendError("build", collector.errors + ["the engine just built could not be loaded"], detail)
        self.builds += 1
        entry = (engine, EngineRunner(engine))
        self._engines[key] = entry
        while len(self._engines) > ENGINES_KEPT:
            self._engines.popitem(last=False)
        return entry

    # -- running -------------------------------------------------------------------------------

    def _arrays(self, inputs: Any) -> List[np.ndarray]:
        if isinstance(inputs, np.ndarray) or np.isscalar(inputs):
            inputs = [inputs]
        if isinstance(inputs, Mapping):
            unknown = [n for n in inputs if n not in self.input_names]
            missing = [n for n in self.input_names if n not in inputs]
            if unknown or missing:
                raise ValueError(f"run() got inputs {list(inputs)}; the model's inputs are {self.input_names}")
            values = [inputs[n] for n in self.input_names]
        else:
            values = list(inputs)
            if len(values) != len(self.input_names):
                raise ValueError(f"run() got {len(values)} input(s); the model takes {len(self.input_names)}: "
                                 f"{self.input_names}")
        arrays = []
        for name, value, dtype, declared in zip(self.input_names, values, self._input_dtypes, self._declared):
            array = np.asarray(value)
            if array.dtype != dtype:
                raise TypeError(f"input '{name}' must be {dtype.name} (the model's type), got {array.dtype.name}")
            if declared is not None and (len(declared) != array.ndim or
                                         any(d is not None and d != s for d, s in zip(declared, array.shape))):
                pattern = "x".join("?" if d is None else str(d) for d in declared) or "scalar"
                raise ValueError(f"input '{name}' has shape {array.shape}; the model takes {pattern}")
            arrays.append(array)
        return arrays

    def run(self, inputs: Any, **kwargs: Any) -> Tuple[Any, ...]:  # noqa: ARG002
        """Runs the model on ``inputs`` (a list in the graph's input order, a dict name -> array,
        or one array) and returns the outputs in the graph's output order, as a
        ``namedtupledict`` (``outputs[0]`` or ``outputs["name"]``)."""
        arrays = self._arrays(inputs)
        shapes = tuple(tuple(int(s) for s in a.shape) for a in arrays)
        try:
            engine, runner = self._engine_for(shapes, self._baked_values(arrays))
        except BackendError as error:             # a dynamic model's first build: shape tensors?
            if self.baked_inputs or not self._shape_tensor_inputs(error):
                raise
            self.baked_inputs = self._shape_tensor_inputs(error)
            engine, runner = self._engine_for(shapes, self._baked_values(arrays))
        baked = self._baked_values(arrays)
        self.engine = engine
        feeds: Dict[str, np.ndarray] = {}
        for name, array in zip(self.input_names, arrays):
            if name in baked or name not in runner.input_names:
                continue                                  # an input no output depends on
            want = np.dtype(mlprt.nptype(engine.get_tensor_dtype(name)))
            if array.dtype != want:
                converted = array.astype(want)
                if not np.array_equal(converted.astype(array.dtype), array):
                    raise ValueError(f"input '{name}' holds values that the engine's {want.name} storage "
                                     f"cannot represent (the model's type is {array.dtype.name})")
                array = converted
            feeds[name] = np.array(array, order="C", copy=None)   # (ascontiguousarray makes 0-d 1-d)
        results = runner.run(feeds)
        outputs = []
        for name, dtype in zip(self.output_names, self._output_dtypes):
            if name not in results:
                raise BackendError("build", [f"graph output '{name}' is not an output of the engine"])
            outputs.append(results[name].astype(dtype, copy=False))
        return namedtupledict("Outputs", self.output_names)(*outputs)


_SHARED_CACHE: List[Any] = []


def _timing_cache(config: mlprt.IBuilderConfig) -> Optional[mlprt.ITimingCache]:
    """One timing cache for every build of this process: equal products are timed once."""
    if not _SHARED_CACHE:
        _SHARED_CACHE.append(config.create_timing_cache(b""))
    return _SHARED_CACHE[0]


def _supported() -> List[str]:
    from mlprt.onnx_parser import supported_operators
    return supported_operators()


class MlprtBackend(Backend):
    """ONNX's ``Backend`` on mlprt (see the module's documentation)."""

    @classmethod
    def supports_device(cls, device: str) -> bool:
        """``CPU``: always (mlprt's current device); ``CUDA``: when that device is a GPU."""
        kind = Device(device).type
        if kind == DeviceType.CPU:
            return True
        return kind == DeviceType.CUDA and _is_gpu(mlprt.current_device())

    @classmethod
    def is_compatible(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> bool:  # noqa: ARG003
        """Whether the device is supported and every node is of ONNX's default domain (mlprt has
        no importers for ``ai.onnx.ml`` or the training domains). Like ONNX Runtime's, this does
        not look at the operators: an operator mlprt lacks fails in ``prepare`` with its name
        (ONNX's BackendTest skips a case whose model is not compatible)."""
        if not cls.supports_device(device):
            return False
        return all(n.domain in ("", "ai.onnx") for n in _load(model).graph.node)

    @classmethod
    def prepare(cls, model: Union[onnx.ModelProto, bytes, str], device: str = "CPU",
                **kwargs: Any) -> MlprtBackendRep:
        """Parses the model and (when its inputs are static) builds the engine. ``model``: an
        ``onnx.ModelProto``, its bytes or a path. ``logger=``: an :class:`mlprt.ILogger` that
        receives the parser's and builder's messages. Raises :class:`BackendError`."""
        super().prepare(model if isinstance(model, onnx.ModelProto) else _load(model), device, **kwargs)
        _check_device(device)
        return MlprtBackendRep(_load(model), device, logger=kwargs.get("logger"))

    @classmethod
    def run_model(cls, model: Union[onnx.ModelProto, bytes, str], inputs: Any, device: str = "CPU",
                  **kwargs: Any) -> Tuple[Any, ...]:
        """``prepare(model, device, **kwargs).run(inputs)``."""
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(cls, node: onnx.NodeProto, inputs: Any, device: str = "CPU",
                 outputs_info: Optional[Sequence[Tuple[np.dtype, Tuple[int, ...]]]] = None,
                 **kwargs: Any) -> Tuple[Any, ...]:
        """Runs one node on ``inputs`` (a list matching the node's non-empty input names, or a
        dict name -> array). The outputs' types come from ``outputs_info`` ((dtype, shape) per
        output) or from ONNX shape inference. ``opset_version=`` picks the opset (default: the
        newest the installed onnx knows)."""
        super().run_node(node, inputs, device=device, outputs_info=outputs_info, **kwargs)
        names = [n for n in node.input if n]
        if isinstance(inputs, Mapping):
            values = [inputs[n] for n in names]
        else:
            values = list(inputs)
            if len(values) != len(names):
                raise ValueError(f"run_node() got {len(values)} input(s); node {node.op_type} has {len(names)}: {names}")
        arrays = [np.asarray(v) for v in values]
        graph_inputs = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
                        for n, a in zip(names, arrays)]
        outputs = [n for n in node.output if n]
        opset = int(kwargs.get("opset_version", onnx.defs.onnx_opset_version()))
        if outputs_info is not None:
            graph_outputs = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(np.dtype(t)), s)
                             for n, (t, s) in zip(outputs, outputs_info)]
            graph = helper.make_graph([node], f"run_node_{node.op_type}", graph_inputs, graph_outputs)
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        else:
            graph = helper.make_graph([node], f"run_node_{node.op_type}", graph_inputs,
                                      [helper.make_empty_tensor_value_info(n) for n in outputs])
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
            inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
            types = {v.name: v for v in inferred.graph.value_info}
            types.update({v.name: v for v in inferred.graph.output if v.type.tensor_type.elem_type})
            del model.graph.output[:]
            for n in outputs:
                if n not in types:
                    raise ValueError(f"run_node(): ONNX shape inference gives no type for output '{n}' "
                                     f"of {node.op_type}: pass outputs_info=[(dtype, shape), ...]")
                model.graph.output.append(types[n])
        return cls.run_model(model, arrays, device, **kwargs)


prepare = MlprtBackend.prepare
run_model = MlprtBackend.run_model
run_node = MlprtBackend.run_node
supports_device = MlprtBackend.supports_device
is_compatible = MlprtBackend.is_compatible
