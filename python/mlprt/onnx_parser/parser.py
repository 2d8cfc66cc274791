"""``OnnxParser``: fills an :class:`mlprt.INetworkDefinition` from an ONNX model, as TensorRT's
``trt.OnnxParser`` does."""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
import onnx
from onnx import external_data_helper, numpy_helper

from mlprt import _core
from mlprt.onnx_parser.context import (ImporterContext, Node, onnx_dtype_name, onnx_to_network_dtype,
                                       tensor_value)
from mlprt.onnx_parser.errors import ErrorCode, ImportFailure, ParserError, unsupported
from mlprt.onnx_parser.registry import MIN_OPSET, OLDEST_OPSET, lookup

__all__ = ["OnnxParser"]

_DEFAULT_DOMAINS = ("", "ai.onnx")

#: The most bytes one constant computed at parse time may take, unless the model file is larger:
#: a model cannot make the parser allocate far beyond its own size (a ConstantOfShape of 2^40
#: elements, or a broadcast of two long vectors, is refused instead of attempted).
FOLDED_BYTES_LIMIT = 1 << 28

#: The most bytes a ConstantOfShape may stand for. Its fill is kept as a broadcast view (no memory at
#: parse time) and materializes only where a layer takes it as weights, so it may exceed the limit
#: above: the model zoo's "light" networks (VGG-19, ZFNet-512) stand in for 400 MB weights this way.
#: 2 GiB is what one tensor stored inline in an ONNX file can hold.
FILL_BYTES_LIMIT = 1 << 31


def _max_opset() -> int:
    return int(onnx.defs.onnx_opset_version())


class OnnxParser:
    """Parses ONNX models into a network definition (TensorRT's ``OnnxParser``).

    ``parse`` and ``parse_from_file`` return False on failure; the errors are then in
    ``num_errors``/``get_error(i)`` and were sent to the logger. No exception escapes them.
    """

    def __init__(self, network: Any, logger: Any = None) -> None:
        if not isinstance(network, _core.INetworkDefinition):
            raise TypeError(f"OnnxParser needs an INetworkDefinition, got {type(network).__name__}")
        self.network = network
        self.logger = logger
        self._errors: List[ParserError] = []
        self._folded_bytes_limit = FOLDED_BYTES_LIMIT

    # -- TensorRT's API -----------------------------------------------------------------------------
    @property
    def num_errors(self) -> int:
        """How many errors the parses since the last ``clear_errors()`` recorded."""
        return len(self._errors)

    def get_error(self, index: int) -> ParserError:
        """Error ``index`` (0 <= index < num_errors)."""
        if not 0 <= index < len(self._errors):
            raise IndexError(f"the parser holds {len(self._errors)} errors")
        return self._errors[index]

    def clear_errors(self) -> None:
        """Forgets the recorded errors."""
        self._errors.clear()

    def supports_operator(self, op_type: str) -> bool:
        """Whether an importer exists for the ONNX operator ``op_type`` (default domain)."""
        return lookup(op_type) is not None

    def parse_from_file(self, model: Union[str, "os.PathLike[str]"]) -> bool:
        """Parses the ONNX file ``model``; external data is read relative to its directory."""
        path = os.fspath(model)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            self._error(ErrorCode.MODEL_DESERIALIZE_FAILED, f"cannot read ONNX file '{path}': {e.strerror or e}")
            return False
        return self.parse(data, path)

    def parse(self, model: Union[bytes, bytearray, memoryview], path: Optional[str] = None) -> bool:
        """Parses a serialized ONNX model into the network; True on success.

        ``path`` is the model file (or its directory), where tensors stored as external data
        are looked up.
        """
        try:
            data = bytes(model)
            self._folded_bytes_limit = max(FOLDED_BYTES_LIMIT, len(data))
            return self._parse(data, path)
        except ImportFailure as e:
            self._error(e.code, e.desc)
        except Exception as e:  # never let a bug escape parse()
            self._error(ErrorCode.INTERNAL_ERROR, f"internal error: {type(e).__name__}: {e}")
        return False

    # -- implementation -------------------------------------------------------------------------
    def _error(self, code: ErrorCode, desc: str, node: Optional[Node] = None,
               index: int = -1, name: str = "", op: str = "") -> None:
        if node is not None:
            index, name, op = node.index, node.proto.name, node.op_type
        error = ParserError(code, desc, index, name, op)
        self._errors.append(error)
        if self.logger is not None:
            try:
                self.logger.log(_core.Severity.ERROR, f"ONNX parser: {error}")
            except Exception:  # a faulty logger must not break parsing
                pass

    def _node_error(self, code: ErrorCode, desc: str, index: int, proto: onnx.NodeProto) -> None:
        self._error(code, desc, None, index, proto.name, proto.op_type)

    def _parse(self, data: bytes, path: Optional[str]) -> bool:
        # Errors about the model as a whole name where it came from: a file cut short or damaged
        # is then found without guessing which of several models failed.
        origin = f"'{path}' ({len(data)} bytes)" if path else f"the {len(data)} bytes given"
        model = onnx.ModelProto()
        try:
            model.ParseFromString(data)
        except Exception as e:
            self._error(ErrorCode.MODEL_DESERIALIZE_FAILED,
                        f"{origin}: not an ONNX model (truncated or corrupt?): {e}")
            return False
        if not model.HasField("graph") or (not model.graph.node and not model.graph.output):
            self._error(ErrorCode.MODEL_DESERIALIZE_FAILED, f"{origin}: not an ONNX model (no graph)")
            return False
        opset = self._check_opset(model, origin)
        if opset is None:
            return False
        if not self._scan(model.graph, opset):
            return False
        if not self._load_external_data(model, path):
            return False
        if opset < MIN_OPSET:
            converted = self._convert(model, opset)
            if converted is None:
                return False
            model, opset = converted, MIN_OPSET
        graph = model.graph
        ctx = ImporterContext(self.network, opset)
        return (self._import_initializers(graph, ctx) and self._import_inputs(graph, ctx)
                and self._import_nodes(graph, ctx) and self._import_outputs(graph, ctx))

    def _check_opset(self, model: onnx.ModelProto, origin: str) -> Optional[int]:
        opsets = [o.version for o in model.opset_import if o.domain in _DEFAULT_DOMAINS]
        if not opsets:
            others = sorted({o.domain for o in model.opset_import})
            if others and model.graph.node:  # e.g. an ai.onnx.ml model: say which operators
                ops = sorted({f"{n.op_type} ({n.domain or 'ai.onnx'})" for n in model.graph.node})
                self._error(ErrorCode.UNSUPPORTED_GRAPH,
                            f"{origin}: the model imports only the domain(s) {', '.join(others)}, whose operators "
                            f"({', '.join(ops[:5])}{', ...' if len(ops) > 5 else ''}) mlprt does not support")
                return None
            # Also what a file cut right after its graph looks like.
            self._error(ErrorCode.INVALID_GRAPH,
                        f"{origin}: the model imports no opset of the default ONNX domain (truncated?)")
            return None
        opset = int(opsets[0])
        newest = _max_opset()
        if opset > newest:
            self._error(ErrorCode.UNSUPPORTED_GRAPH,
                        f"the model uses opset {opset}, newer than the newest this onnx package knows ({newest})")
            return None
        if opset < OLDEST_OPSET:
            self._error(ErrorCode.UNSUPPORTED_GRAPH,
                        f"the model uses opset {opset}; the parser supports opsets {OLDEST_OPSET} to {newest} "
                        f"(opsets {OLDEST_OPSET} to {MIN_OPSET - 1} are converted to {MIN_OPSET} with "
                        "onnx.version_converter)")
            return None
        return opset

    def _convert(self, model: onnx.ModelProto, opset: int) -> Optional[onnx.ModelProto]:
        """The model converted from ``opset`` to MIN_OPSET with onnx.version_converter, or None
        after recording an error that names the node the converter cannot handle."""
        from onnx import version_converter

        for index, proto in enumerate(model.graph.node):
            problem = _unconvertible(proto, opset)
            if problem:
                self._node_error(ErrorCode.UNSUPPORTED_NODE, f"{problem}; cannot convert the model from opset "
                                 f"{opset} to opset {MIN_OPSET}", index, proto)
                return None
        source = onnx.ModelProto()
        source.CopyFrom(model)
        # IR < 4 requires initializers to be graph inputs; the converter then refuses models
        # whose initializers are not (exporters of that time did list them, hand-made ones may not).
        source.ir_version = max(source.ir_version, 4)
        try:
            converted = version_converter.convert_version(source, MIN_OPSET)
        except Exception as e:
            index, proto, reason = _locate_conversion_failure(source, opset, e)
            desc = (f"onnx.version_converter cannot convert the model from opset {opset} to opset "
                    f"{MIN_OPSET}: {reason}")
            if proto is not None:
                self._node_error(ErrorCode.UNSUPPORTED_NODE, desc, index, proto)
            else:
                self._error(ErrorCode.UNSUPPORTED_GRAPH, desc)
            return None
        self._log(_core.Severity.INFO, f"converted the model from opset {opset} to opset {MIN_OPSET} with "
                  f"onnx.version_converter (the parser's importers start at opset {MIN_OPSET})")
        return converted

    def _scan(self, graph: onnx.GraphProto, opset: int) -> bool:
        """Reports every unsupported operator and every dangling or out-of-order input at once."""
        ok = True
        available = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
        producer: Dict[str, int] = {}
        for index, proto in enumerate(graph.node):
            for out in proto.output:
                producer.setdefault(out, index)
        for index, proto in enumerate(graph.node):
            info = lookup(proto.op_type) if proto.domain in _DEFAULT_DOMAINS else None
            if info is None:
                domain = f" of domain '{proto.domain}'" if proto.domain not in _DEFAULT_DOMAINS else ""
                self._node_error(ErrorCode.UNSUPPORTED_NODE,
                                 f"operator {proto.op_type}{domain} is not supported", index, proto)
                ok = False
            elif opset < MIN_OPSET and not _defined_at(proto.op_type, opset):
                self._node_error(ErrorCode.UNSUPPORTED_NODE,
                                 f"operator {proto.op_type} does not exist at opset {opset}, the model's opset",
                                 index, proto)
                ok = False
            elif opset >= MIN_OPSET and opset < info.since:
                self._node_error(ErrorCode.UNSUPPORTED_NODE,
                                 f"operator {proto.op_type} exists from opset {info.since}; the model uses "
                                 f"opset {opset}", index, proto)
                ok = False
            for name in proto.input:
                if name in available:
                    continue
                ok = False
                if name in producer:
                    later = graph.node[producer[name]]
                    self._node_error(ErrorCode.INVALID_GRAPH,
                                     f"input '{name}' is produced by node {producer[name]} '{later.name}' "
                                     f"({later.op_type}), which does not come before it: the graph has a "
                                     "cycle or is not topologically sorted", index, proto)
                else:
                    self._node_error(ErrorCode.INVALID_GRAPH,
                                     f"input '{name}' is produced by no node, initializer or graph input "
                                     "(a missing initializer?)", index, proto)
            available.update(proto.output)
        for out in graph.output:
            if out.name not in available:
                self._error(ErrorCode.INVALID_GRAPH,
                            f"graph output '{out.name}' is produced by no node, initializer or graph input")
                ok = False
        return ok

    def _external_tensors(self, model: onnx.ModelProto) -> List[onnx.TensorProto]:
        tensors = list(model.graph.initializer)
        for proto in model.graph.node:
            for attr in proto.attribute:
                if attr.type == onnx.AttributeProto.TENSOR:
                    tensors.append(attr.t)
        return [t for t in tensors if external_data_helper.uses_external_data(t)]

    def _log(self, severity: Any, message: str) -> None:
        if self.logger is not None:
            try:
                self.logger.log(severity, f"ONNX parser: {message}")
            except Exception:  # a faulty logger must not break parsing
                pass

    def _load_external_data(self, model: onnx.ModelProto, path: Optional[str]) -> bool:
        """Reads the tensors stored in external files. With ``path`` they are looked up beside the
        model file (or in the directory ``path``); without one, in the working directory, where
        tutorials open the model by a relative name (``parse(f.read())``)."""
        tensors = self._external_tensors(model)
        if not tensors:
            return True
        if path is None:
            base = os.getcwd()
            where = f"the working directory {base} (parse() got the model's bytes without its path)"
        else:
            base = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
            where = f"the model's directory {base}"
        files: Dict[str, int] = {}
        for tensor in tensors:
            location, valid_text = _external_location(tensor)
            problem = _unsafe_location(location) if valid_text else "which is not valid UTF-8"
            if problem:
                self._error(ErrorCode.INVALID_VALUE,
                            f"tensor '{tensor.name}' keeps its data in external file '{location}', {problem}; "
                            "only files inside the model's directory are read")
                return False
            file = os.path.join(base, location)
            if not os.path.isfile(file):
                hint = (": pass the model's path to parse(model, path) or use parse_from_file()"
                        if path is None else "")
                self._error(ErrorCode.INVALID_VALUE,
                            f"tensor '{tensor.name}' keeps its data in external file '{location}', which is not "
                            f"in {where}; looked for {file}{hint}")
                return False
            try:
                external_data_helper.load_external_data_for_tensor(tensor, base)
                tensor.data_location = onnx.TensorProto.DEFAULT
                del tensor.external_data[:]
            except Exception as e:
                self._error(ErrorCode.INVALID_VALUE,
                            f"cannot read the external data of tensor '{tensor.name}' from '{location}' "
                            f"(in {base}): {e}")
                return False
            files[file] = files.get(file, 0) + 1
        for file, count in files.items():
            self._log(_core.Severity.INFO,
                      f"read the external data of {count} tensor{'s' if count != 1 else ''} from {file} "
                      f"(in {where})")
        return True

    def _import_initializers(self, graph: onnx.GraphProto, ctx: ImporterContext) -> bool:
        for tensor in graph.initializer:
            try:
                ctx.set(tensor.name, tensor_value(tensor, f"initializer '{tensor.name}'"))
            except ImportFailure as e:
                self._error(e.code, e.desc)
                return False
        return True

    def _import_inputs(self, graph: onnx.GraphProto, ctx: ImporterContext) -> bool:
        initializers = {t.name for t in graph.initializer}
        # Dynamic axes that share a dim_param ("batch", "sequence") have one extent, as ONNX says:
        # recorded, so that shape computations over input_ids and attention_mask agree.
        named_axes: Dict[str, Tuple[Any, int]] = {}
        for value in graph.input:
            if value.name in initializers:
                continue
            kind = value.type.WhichOneof("value")
            if kind != "tensor_type":
                self._error(ErrorCode.UNSUPPORTED_GRAPH, f"graph input '{value.name}' is not a tensor ({kind})")
                return False
            ttype = value.type.tensor_type
            dtype = onnx_to_network_dtype(ttype.elem_type)
            if dtype is None:
                name = onnx_dtype_name(ttype.elem_type)
                self._error(ErrorCode.UNSUPPORTED_GRAPH, f"graph input '{value.name}' has unsupported type {name}")
                return False
            if not ttype.HasField("shape"):
                self._error(ErrorCode.UNSUPPORTED_GRAPH, f"graph input '{value.name}' has no shape (unknown rank)")
                return False
            shape = [d.dim_value if d.HasField("dim_value") else -1 for d in ttype.shape.dim]
            try:
                tensor = self.network.add_input(value.name, dtype, shape)
            except Exception as e:
                self._error(ErrorCode.INVALID_GRAPH, f"graph input '{value.name}': {e}")
                return False
            ctx.set(value.name, tensor)
            for axis, d in enumerate(ttype.shape.dim):
                if not d.HasField("dim_value") and d.dim_param:
                    first = named_axes.setdefault(d.dim_param, (tensor, axis))
                    if first[0] is not tensor or first[1] != axis:
                        ctx.same_extent(tensor, axis, first[0], first[1])
                        self.network.share_extent(first[0], first[1], tensor, axis, d.dim_param)
        return True

    def _import_nodes(self, graph: onnx.GraphProto, ctx: ImporterContext) -> bool:
        for proto in graph.node:
            ctx.used.update(proto.input)
        ctx.used.update(o.name for o in graph.output)
        for index, proto in enumerate(graph.node):
            ctx.node_layers = []
            try:
                _check_attribute_types(proto, ctx.opset)
                node = Node(index, proto, ctx.opset)
                ctx.node = node
                self._import_node(ctx, node)
            except ImportFailure as e:
                self._node_error(e.code, e.desc, index, proto)
                return False
            except (ValueError, TypeError, IndexError) as e:
                self._node_error(ErrorCode.INVALID_NODE, f"cannot add the layers of this node: {e}", index, proto)
                return False
            except Exception as e:
                self._node_error(ErrorCode.INTERNAL_ERROR, f"internal error: {type(e).__name__}: {e}", index, proto)
                return False
        ctx.node = None
        return True

    def _import_node(self, ctx: ImporterContext, node: Node) -> None:
        info = lookup(node.op_type)
        assert info is not None  # the scan rejected unsupported operators
        inputs = [ctx.get(name) if name else None for name in node.inputs]
        if inputs and all(v is None or isinstance(v, np.ndarray) for v in inputs) and \
                any(v is not None for v in inputs):
            outputs: List[Any] = fold_constant_node(node, inputs, self._folded_bytes_limit)
        else:
            outputs = list(info.function(ctx, node))
            _record_kept_extents(ctx, node, inputs, outputs)
        for i, name in enumerate(node.outputs):
            if not name:
                continue
            value = outputs[i] if i < len(outputs) else None
            if value is None:
                if name in ctx.used:
                    raise unsupported(f"output {i} ('{name}') of {node.op_type} is not supported, and the "
                                      "model uses it")
                continue
            ctx.set(name, value)
        self._name_outputs(ctx, node, outputs)

    def _name_outputs(self, ctx: ImporterContext, node: Node, outputs: List[Any]) -> None:
        """The layer computing the node's first output takes the node's name; new tensors take
        their ONNX names."""
        produced = {}
        for layer in ctx.node_layers:
            for j in range(layer.num_outputs):
                produced[layer.get_output(j)] = layer
        for i, value in enumerate(outputs):
            if i >= len(node.outputs) or not node.outputs[i] or value is None:
                continue
            if not isinstance(value, _core.ITensor) or value not in produced:
                continue
            if i == 0:
                produced[value].name = node.name
            if value.name != node.outputs[i]:
                try:
                    value.name = node.outputs[i]
                except ValueError:
                    pass  # the name is taken; the tensor keeps its generated name

    def _import_outputs(self, graph: onnx.GraphProto, ctx: ImporterContext) -> bool:
        ctx.node = None
        for out in graph.output:
            try:
                value = ctx.get(out.name)
                tensor = ctx.tensor(value)
                if tensor.name != out.name and not tensor.is_network_input and not tensor.is_network_output:
                    try:
                        tensor.name = out.name  # an intermediate passed through (Identity, Dropout, ...)
                    except ValueError:
                        pass
                if tensor.is_network_input or tensor.is_network_output or tensor.name != out.name:
                    layer = self.network.add_identity(tensor)
                    layer.name = f"output:{out.name}"
                    tensor = layer.get_output(0)
                    tensor.name = out.name
                self.network.mark_output(tensor)
            except ImportFailure as e:
                self._error(e.code, f"graph output '{out.name}': {e.desc}")
                return False
            except Exception as e:
                self._error(ErrorCode.INVALID_GRAPH, f"graph output '{out.name}': {e}")
                return False
        return True


def _defined_at(op_type: str, opset: int) -> bool:
    try:
        onnx.defs.get_schema(op_type, opset, "")
        return True
    except onnx.defs.SchemaError:
        return False


def _unconvertible(proto: onnx.NodeProto, opset: int) -> str:
    """Why a node of an old opset cannot be converted faithfully ("" when it can)."""
    attrs = {a.name: a for a in proto.attribute}
    if proto.op_type == "BatchNormalization" and opset < 9 and "spatial" in attrs \
            and onnx.helper.get_attribute_value(attrs["spatial"]) != 1:
        return ("BatchNormalization with spatial=0 (statistics per activation, not per channel) is not "
                "supported: opset 9 removed it, and the converter only handles spatial=1")
    return ""


def _short_reason(error: Exception) -> str:
    """The converter's message without its C++ source location and assertion text."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if "failed: " in text:
        text = text.split("failed: ", 1)[1]
    elif text.startswith("/") and ": " in text:
        text = text.split(": ", 1)[1]
    return text


def _locate_conversion_failure(model: onnx.ModelProto, opset: int,
                               error: Exception) -> "tuple[int, Optional[onnx.NodeProto], str]":
    """(index, node, reason) of the first node that the converter refuses on its own, found by
    converting each node as a one-node model; (-1, None, reason) if none fails alone."""
    from onnx import version_converter

    initializers = {t.name: t for t in model.graph.initializer}
    for index, proto in enumerate(model.graph.node):
        inputs = [n for n in dict.fromkeys(proto.input) if n]
        graph = onnx.helper.make_graph(
            [proto], "node", [onnx.helper.make_empty_tensor_value_info(n) for n in inputs],
            [onnx.helper.make_empty_tensor_value_info(n) for n in proto.output if n],
            [initializers[n] for n in inputs if n in initializers])
        single = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)])
        single.ir_version = model.ir_version
        try:
            version_converter.convert_version(single, MIN_OPSET)
        except Exception as e:
            return index, proto, _short_reason(e)
    return -1, None, _short_reason(error)


def _external_location(tensor: onnx.TensorProto) -> Tuple[str, bool]:
    """The tensor's external-data location and whether it is valid UTF-8 (protobuf hands a string
    field that is not as bytes; it is shown with escapes and never used as a path)."""
    for entry in tensor.external_data:
        if entry.key == "location":
            if isinstance(entry.value, bytes):
                return entry.value.decode("utf-8", "backslashreplace"), False
            return entry.value, True
    return "", True


def _unsafe_location(location: str) -> str:
    """Why an external-data location may not be read ("" when it may): ONNX's checker allows only
    relative paths that stay inside the model's directory."""
    if not location:
        return "which is empty (no 'location' entry)"
    if "\x00" in location:
        return "which contains a NUL character"
    if os.path.isabs(location) or location.startswith(("/", "\\")) or os.path.splitdrive(location)[0] \
            or (len(location) > 1 and location[1] == ":" and location[0].isalpha()):
        return "an absolute path"
    parts = location.replace("\\", "/").split("/")
    if ".." in parts:
        return "which climbs out of the model's directory with '..'"
    return ""


def _check_attribute_types(proto: onnx.NodeProto, opset: int) -> None:
    """Every attribute the operator's schema declares has the declared type (the importers and
    the constant folder rely on it); attributes the schema does not know are left alone."""
    try:
        schema = onnx.defs.get_schema(proto.op_type, opset, "")
    except onnx.defs.SchemaError:
        return  # not an operator of this opset: the importer says what is wrong
    for attribute in proto.attribute:
        declared = schema.attributes.get(attribute.name)
        if declared is not None and attribute.type != int(declared.type):
            given = onnx.AttributeProto.AttributeType.Name(attribute.type) \
                if attribute.type in onnx.AttributeProto.AttributeType.values() else str(attribute.type)
            raise ImportFailure(ErrorCode.INVALID_NODE,
                                f"attribute '{attribute.name}' is {given}, but {proto.op_type} declares it "
                                f"{onnx.AttributeProto.AttributeType.Name(int(declared.type))}")


_VALUES_FOR_SHAPE_INFERENCE_BYTES = 1 << 20


def _check_folded_sizes(node: Node, inputs: List[Optional[np.ndarray]], byte_limit: int) -> None:
    """Refuses to fold a node whose outputs would exceed `byte_limit` bytes, or whose output
    shapes ONNX's shape inference cannot tell from the inputs, before anything is computed."""
    # Large inputs (a ConstantOfShape fill) are given by type and shape only: values matter to
    # shape inference only where they are shapes, which are small, and copying a fill into a
    # TensorProto would allocate what the fill saved.
    initializers, typed = {}, {}
    for name, value in zip(node.inputs, inputs):
        if value is None or name in initializers or name in typed:
            continue
        if value.nbytes <= _VALUES_FOR_SHAPE_INFERENCE_BYTES:
            initializers[name] = numpy_helper.from_array(np.array(value, copy=not value.flags.c_contiguous), name)
        else:
            typed[name] = onnx.helper.make_tensor_value_info(
                name, onnx.helper.np_dtype_to_tensor_dtype(value.dtype), value.shape)
    outputs = [onnx.helper.make_empty_tensor_value_info(o) for o in node.outputs if o]
    graph = onnx.helper.make_graph([node.proto], "fold", list(typed.values()), outputs,
                                   list(initializers.values()))
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", node.opset)])
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as e:  # the inputs do not fit the operator
        raise ImportFailure(ErrorCode.INVALID_NODE, f"constant folding failed: {type(e).__name__}: {e}") from e
    for output in inferred.graph.output:
        tensor_type = output.type.tensor_type
        dims = tensor_type.shape.dim if tensor_type.HasField("shape") else None
        if dims is None or any(not d.HasField("dim_value") or d.dim_value < 0 for d in dims) \
                or tensor_type.elem_type == onnx.TensorProto.UNDEFINED:
            raise unsupported(f"cannot fold {node.op_type} at parse time: the shape of its output "
                              f"'{output.name}' cannot be inferred from its constant inputs",
                              ErrorCode.UNSUPPORTED_NODE_SHAPE)
        count = int(np.prod([d.dim_value for d in dims], dtype=object))
        try:
            itemsize = onnx.helper.tensor_dtype_to_np_dtype(tensor_type.elem_type).itemsize
        except (KeyError, ValueError, TypeError):
            raise unsupported(f"cannot fold {node.op_type} at parse time: its output '{output.name}' has element "
                              f"type {onnx_dtype_name(tensor_type.elem_type)}",
                              ErrorCode.UNSUPPORTED_NODE_DATATYPE) from None
        size = count * itemsize
        if size > byte_limit:
            shape = tuple(d.dim_value for d in dims)
            raise ImportFailure(ErrorCode.INVALID_NODE,
                                f"folding {node.op_type} at parse time would make output '{output.name}' of "
                                f"shape {shape} ({size} bytes), more than the limit of {byte_limit} bytes "
                                "(the larger of 256 MiB and the model's size)")


#: Operators whose output extents only the input values decide, and what those extents count: ONNX's
#: shape inference cannot size them before they run, but their inputs bound them (their importers,
#: ops/data_dependent.py, give the count in their refusals).
SIZED_BY_VALUES = {
    "NonZero": "the number of non-zero elements",
    "Compress": "the number of true conditions",
    "Unique": "the number of distinct values",
    "NonMaxSuppression": "the number of boxes kept",
}


def _check_bound_by_inputs(node: Node, inputs: List[Optional[np.ndarray]], byte_limit: int) -> None:
    """Refuses to fold an operator of SIZED_BY_VALUES whose outputs could exceed `byte_limit`: each
    output holds at most max(rank, 3) 64-bit values per input element (NonZero: an index per axis of
    each element; Unique: at most every element; NonMaxSuppression: 3 indices per box and class;
    Compress: at most every element)."""
    present = [v for v in inputs if v is not None]
    elements = sum(int(v.size) for v in present)
    bound = 8 * max([3] + [v.ndim for v in present]) * elements
    if bound > byte_limit:
        raise ImportFailure(ErrorCode.INVALID_NODE,
                            f"folding {node.op_type} at parse time could make an output of up to {bound} bytes, more "
                            f"than the limit of {byte_limit} bytes (the larger of 256 MiB and the model's size)")


def _fold_gather_elements(node: Node, inputs: List[Optional[np.ndarray]]) -> List[np.ndarray]:
    data, indices = inputs[0], inputs[1]
    assert data is not None and indices is not None
    axis = int(node.attr("axis", 0))
    axis = axis + data.ndim if axis < 0 else axis
    extent = data.shape[axis]
    if indices.size and (indices.min() < -extent or indices.max() >= extent):
        raise ImportFailure(ErrorCode.INVALID_NODE, f"GatherElements indices range from {int(indices.min())} to "
                            f"{int(indices.max())}, outside an axis of {extent}")
    positions = np.where(indices < 0, indices + extent, indices).astype(np.int64)
    return [np.take_along_axis(data, positions, axis=axis)]


#: Folds computed with NumPy where ONNX's reference implementation fails: its GatherElements uses
#: np.choose, which takes at most 32 choices (BERT's token-type buffer has 512).
_NUMPY_FOLDS = {"GatherElements": _fold_gather_elements}


def fold_constant_node(node: Node, inputs: List[Optional[np.ndarray]],
                       byte_limit: int = FOLDED_BYTES_LIMIT) -> List[np.ndarray]:
    """Evaluates a node whose inputs are all constants with ONNX's reference implementation,
    once its outputs are known to fit in `byte_limit` bytes each."""
    from onnx.reference import ReferenceEvaluator

    if node.op_type == "ConstantOfShape":
        return [_fill_of_shape(node, inputs[0], max(byte_limit, FILL_BYTES_LIMIT))]
    if node.op_type in SIZED_BY_VALUES:
        _check_bound_by_inputs(node, inputs, byte_limit)
    else:
        _check_folded_sizes(node, inputs, byte_limit)

    if node.op_type in _NUMPY_FOLDS:
        return _NUMPY_FOLDS[node.op_type](node, inputs)
    graph_inputs = []
    feeds: Dict[str, np.ndarray] = {}
    for name, value in zip(node.inputs, inputs):
        if value is None or name in feeds:
            continue
        elem = onnx.helper.np_dtype_to_tensor_dtype(value.dtype)
        graph_inputs.append(onnx.helper.make_tensor_value_info(name, elem, value.shape))
        feeds[name] = value
    outputs = [onnx.helper.make_empty_tensor_value_info(o) for o in node.outputs if o]
    graph = onnx.helper.make_graph([node.proto], "fold", graph_inputs, outputs)
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", node.opset)])
    try:
        results = ReferenceEvaluator(model).run(None, feeds)
    except Exception as e:
        raise ImportFailure(ErrorCode.INVALID_NODE, f"constant folding failed: {type(e).__name__}: {e}") from e
    folded = iter(np.asarray(r) for r in results)
    return [next(folded) if o else None for o in node.outputs]  # type: ignore[misc]


def _fill_of_shape(node: Node, shape: Optional[np.ndarray], byte_limit: int) -> np.ndarray:
    """ConstantOfShape on a constant shape: its value broadcast to the shape, a read-only view that
    takes no memory until a layer copies it."""
    if shape is None or shape.ndim != 1 or not np.issubdtype(shape.dtype, np.integer):
        raise ImportFailure(ErrorCode.INVALID_NODE, "input 0 (shape) of ConstantOfShape must be a 1-D integer "
                            f"tensor, got {None if shape is None else (shape.dtype, shape.shape)}")
    extents = tuple(int(d) for d in shape)
    if any(d < 0 for d in extents):
        raise ImportFailure(ErrorCode.INVALID_NODE, f"ConstantOfShape has a negative extent in its shape {extents}")
    value = next((numpy_helper.to_array(a.t) for a in node.proto.attribute if a.name == "value"),
                 np.zeros(1, np.float32))
    if value.size != 1:
        raise ImportFailure(ErrorCode.INVALID_NODE, f"the value of ConstantOfShape must hold one element, "
                            f"it holds {value.size}")
    size = int(np.prod(extents, dtype=object)) * value.itemsize
    if size > byte_limit:
        raise ImportFailure(ErrorCode.INVALID_NODE,
                            f"ConstantOfShape would make output '{node.outputs[0]}' of shape {extents} ({size} "
                            f"bytes), more than the limit of {byte_limit} bytes for a constant fill")
    return np.broadcast_to(value.reshape(()), extents)


# Operators whose output always has its first input's batch (axis 0), however the other axes change.
_KEEP_BATCH = frozenset({"Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
                         "LRN", "InstanceNormalization", "GroupNormalization", "BatchNormalization",
                         "DepthToSpace", "SpaceToDepth"})


def _record_kept_extents(ctx: ImporterContext, node: Node, inputs: List[Any], outputs: List[Any]) -> None:
    """Tells the context which run-time extents a node's outputs share with its first input, so that
    a later Reshape to, say, [x.shape[0], 64, -1] of another tensor with that batch is expressible:
    the batch through convolutions and pooling, every axis but the joined or split one through
    Concat and Split, the permuted axes through Transpose."""
    source = inputs[0] if inputs else None
    if not isinstance(source, _core.ITensor):
        return
    rank = len(source.shape)
    pairs: List[Tuple[int, int]] = []
    if node.op_type in _KEEP_BATCH:
        pairs = [(0, 0)]
    elif node.op_type in ("Concat", "Split") and rank:
        axis = int(node.attr("axis", 0))
        axis = axis + rank if axis < 0 else axis
        pairs = [(i, i) for i in range(rank) if i != axis]
    elif node.op_type == "Transpose":
        perm = node.attr("perm") or list(reversed(range(rank)))
        pairs = [(j, int(p)) for j, p in enumerate(perm)]
    elif node.op_type == "Slice" and rank:
        pairs = [(i, i) for i in range(rank) if i not in _sliced_axes(node, inputs, rank)]
    for out in outputs:
        if isinstance(out, _core.ITensor) and len(out.shape) == rank:
            for out_axis, in_axis in pairs:
                ctx.same_extent(out, out_axis, source, in_axis)


def _sliced_axes(node: Node, inputs: List[Any], rank: int) -> set:
    """The axes a Slice node may shorten: those it names, less those it takes whole (from 0 to the
    end, step 1); every axis when its parameters are not constants."""
    def constant(i: int, attribute: str) -> Optional[np.ndarray]:
        if node.opset < 10:
            value = node.attr(attribute)
            return None if value is None else np.array(value, np.int64)
        return inputs[i] if i < len(inputs) and isinstance(inputs[i], np.ndarray) else None
    starts, ends = constant(1, "starts"), constant(2, "ends")
    if starts is None or ends is None:
        return set(range(rank))
    axes = constant(3, "axes")
    steps = constant(4, "steps") if node.opset >= 10 else None
    if axes is None and (node.opset >= 10 and len(inputs) > 3 and inputs[3] is not None):
        return set(range(rank))  # run-time axes
    axes_list = [int(a) + rank if int(a) < 0 else int(a) for a in (axes if axes is not None else range(len(starts)))]
    steps_list = [int(v) for v in steps] if steps is not None else [1] * len(axes_list)
    whole = {a for a, b, e, st in zip(axes_list, starts, ends, steps_list)
             if int(b) == 0 and int(e) >= np.iinfo(np.int32).max and st == 1}
    return set(axes_list) - whole
