"""Fuzzes mlprt.OnnxParser.parse with mutated ONNX models.

    python tests/fuzz/fuzz_onnx_parser.py [--runs N] [--seed S] [--max-total-time SECONDS]

Each input picks a seed model from tests/fuzz/corpus/onnx and makes one to four mutations to it,
structure-aware ones on the ModelProto (graph inputs dropped or renamed, dims made huge, negative
or 0, op types, attributes, element types and the opset changed, initializers truncated or given
huge dims, nodes dropped, reordered or added, shape-like constants set to edge values) and
byte-level ones on its serialization. parse must then return True, or False with at least one
error, none of them INTERNAL_ERROR (the parser's name for an exception it did not expect) nor an
allocation that failed: the process's address space is capped at what it uses after start-up
plus --memory-headroom-mb, far more than any seed model justifies, so an attempt to materialize
a tensor of 2^40 elements fails instead of swapping, and is reported. Exceptions escaping parse,
crashes, hangs (--timeout) are reported by libFuzzer, which writes the choice bytes that led there
to --artifacts; `python tests/fuzz/fuzz_onnx_parser.py ARTIFACT` replays one.
"""
from __future__ import annotations

import resource
from pathlib import Path
from typing import Callable, List, Optional, Sequence

import atheris
import onnx
from onnx import TensorProto, helper

import harness

with atheris.instrument_imports(include=["mlprt.onnx_parser"]):
    import mlprt
    from mlprt.onnx_parser import ErrorCode, OnnxParser, supported_operators

Mutation = Callable[[onnx.ModelProto, atheris.FuzzedDataProvider], None]

OP_TYPES = supported_operators() + ["", "NoSuchOp", "Loop", "If", "Scan", "Conv", "Resize", "Tile", "Expand",
                                    "Range", "ConstantOfShape"]
ATTRIBUTE_NAMES = ("axis", "axes", "perm", "transA", "transB", "alpha", "beta", "gamma", "epsilon", "keepdims",
                   "to", "value", "value_int", "value_ints", "value_float", "approximate", "allowzero", "min", "max",
                   "training_mode", "noop_with_empty_axes", "select_last_index", "kernel_shape", "strides",
                   "pads", "dilations", "group", "auto_pad", "ceil_mode", "count_include_pad", "mode",
                   "coordinate_transformation_mode", "nearest_mode", "output_padding", "output_shape", "size",
                   "blocksize", "storage_order", "cubic_coeff_a", "exclude_outside")
FLOATS = (0.0, -0.0, 1.0, -1.0, 0.5, float("nan"), float("inf"), float("-inf"), 1e30, -1e-30, 3.4e38)
ELEMENT_TYPES = tuple(range(0, 26))
OPSETS = (0, 1, 6, 10, 11, 12, 13, 14, 17, 18, 20, 21, 22, 27, 28, 29, 1000, -1)


def _pick(fdp: atheris.FuzzedDataProvider, items: Sequence):  # type: ignore[no-untyped-def]
    return items[fdp.ConsumeIntInRange(0, len(items) - 1)]


def _names(model: onnx.ModelProto) -> List[str]:
    graph = model.graph
    names = [v.name for v in graph.input] + [t.name for t in graph.initializer]
    names += [o for n in graph.node for o in n.output]
    return names + ["", "ghost"]


def _value_infos(model: onnx.ModelProto) -> List[onnx.ValueInfoProto]:
    graph = model.graph
    return list(graph.input) + list(graph.output) + list(graph.value_info)


def mutate_dims(model: onnx.ModelProto, fdp: atheris.FuzzedDataProvider) -> None:
    """A graph input's or output's dim: an edge value, a symbol, added or removed."""
    infos = [v for v in _value_infos(model) if v.type.HasField("tensor_type")]
    if not infos:
        return
    shape = _pick(fdp, infos).type.tensor_type.shape
    action = fdp.ConsumeIntInRange(0, 3)
    if action == 0 or not shape.dim:
        shape.dim.add().dim_value = harness.interesting_int(fdp)
    elif action == 1:
        del shape.dim[fdp.ConsumeIntInRange(0, len(shape.dim) - 1)]
    elif action == 2:
        shape.dim[fdp.ConsumeIntInRange(0, len(shape.dim) - 1)].dim_param = _pick(fdp, ("n", "batch", ""))
    else:
        shape.dim[fdp.ConsumeIntInRange(0, len(shape.dim) - 1)].dim_value = harness.interesting_int(fdp)


def mutate_element_type(model: onnx.ModelProto, fdp: atheris.FuzzedDataProvider) -> None:
    """The element type of a graph input/output or an initializer (data left as it was)."""
    graph = model.graph
    if fdp.ConsumeBool() and graph.initializer:
        _pick(fdp, graph.initializer).data_type = _pick(fdp, ELEMENT_TYPES)
    else:
        infos = _value_infos(model)
        if infos:
            _pick(fdp, infos).type.tensor_type.elem_type = _pick(fdp, ELEMENT_TYPES)


def mutate_op_type(model: onnx.ModelProto, fdp: atheris.FuzzedDataProvider) -> None:
    """A node becomes another operator (or an unknown one, or one of another domain)."""
    if model.graph.node:
        node = _pick(fdp, model.graph.node)
        node.op_type = _pick(fdp, OP_TYPES)
        if fdp.ConsumeIntInRange(0, 7) == 0:
            node.domain = _pick(fdp, ("com.microsoft", "ai.onnx.ml", "ai.onnx", ""))


def mutate_names(model: onnx.ModelProto, fdp: atheris.FuzzedDataProvider) -> None:
    """A node input/output or graph input/output renamed to another existing name or a dangling one."""
    graph, names = model.graph, _names(model)
    target = fdp.ConsumeIntInRange(0, 3)
    if target == 0 and graph.node:
        node = _pick(fdp, graph.node)
        if node.input:
            node.input[fdp.ConsumeIntInRange(0, len(node.input) - 1)] = _pick(fdp, names)
    elif target == 1 and graph.node:
        node = _pick(fdp, graph.node)
        if node.output:
            node.output[fdp.ConsumeIntInRange(0, len(node.output) - 1)] = _pick(fdp, names)
    elif target == 2 and graph.input:
        _pick(fdp, graph.input).name = _pick(fdp, names)
    elif graph.output:
        _pick(fdp, graph.output).name = _pick(fdp, names)


def mutate_remove(model: onnx.ModelProto, fdp: atheris.FuzzedDataProvider) -> None:
    """Something removed: a node, a graph input or output, an initializer, a node's input or attribute."""
    graph = model.graph
    containers = [c for c in (graph.node, graph.input, graph.output, graph.initializer) if c]
    if fdp.ConsumeBool() and graph.node:
        node = _pick(fdp, graph.node)
        part = node.input if fdp.ConsumeBool() else node.attribute
        if part:
            del part[fdp.ConsumeIntInRange(0, len(part) - 1)]
    elif containers:
        container = _pick(fdp, containers)
        del container[fdp.ConsumeIntInRange(0, len(container) - 1)]


def mutate_order(model: onnx.ModelProto, fdp: atheris.FuzzedDataProvider) -> None:
    """A node moved (out of topological order), duplicated, or two of its inputs swapped."""
    nodes = model.graph.node
    if not nodes:
        return
    action = fdp.ConsumeIntInRange(0, 2)
    i = fdp.ConsumeIntInRange(0, len(nodes) - 1)
    if action == 0:
        moved = onnx.NodeProto()
        moved.CopyFrom(nodes[i])
        del nodes[i]
        nodes.insert(fdp.ConsumeIntInRange(0, len(nodes)), moved)
    elif action == 1:
        copy = onnx.NodeProto()
        copy.CopyFrom(nodes[i])
        nodes.insert(fdp.ConsumeIntInRange(0, len(nodes)), copy)
    elif len(nodes[i].input) >= 2:
        nodes[i].input[0], nodes[i].input[1] = nodes[i].input[1], nodes[i].input[0]


def _attribute(name: str, fdp: atheris.FuzzedDataProvider) -> onnx.AttributeProto:
    """An attribute `name` holding an edge value of some kind (an int, float, list, string, tensor)."""
    kind = fdp.ConsumeIntInRange(0, 4)
    if kind == 0:
        return helper.make_attribute(name, harness.interesting_int(fdp))
    if kind == 1:
        return helper.make_attribute(name, _pick(fdp, FLOATS))
    if kind == 2:
        values = [harness.interesting_int(fdp) for _ in range(fdp.ConsumeIntInRange(0, 9))]
        return helper.make_attribute(name, values, attr_type=onnx.AttributeProto.INTS)
    if kind == 3:
        return helper.make_attribute(name, _pick(fdp, ("none", "tanh", "", "\xff", "SAME_UPPER", "VALID", "linear",
                                                       "cubic", "reflect", "edge", "CRD", "tf_crop_and_resize")))
    values = [harness.interesting_int(fdp) for _ in range(fdp.ConsumeIntInRange(0, 4))]
    return helper.make_attribute(name, helper.make_tensor("t", TensorProto.INT64, [len(values)], values))


def mutate_attribute(model: onnx.ModelProto, fdp: atheris.FuzzedDataProvider) -> None:
    """An attribute set (added or replaced) to an edge value of some kind."""
    if not model.graph.node:
        return
    node = _pick(fdp, model.graph.node)
    name = _pick(fdp, ATTRIBUTE_NAMES)
    for i, attribute in enumerate(node.attribute):
        if attribute.name == name:
            del node.attribute[i]
            break
    node.attribute.append(_attribute(name, fdp))


def mutate_opset(model: onnx.ModelProto, fdp: atheris.FuzzedDataProvider) -> None:
    """The default domain's opset version changed, or its import removed or doubled."""
    action = fdp.ConsumeIntInRange(0, 3)
    if action == 0 and model.opset_import:
        del model.opset_import[0]
    elif action == 1:
        model.opset_import.add().version = _pick(fdp, OPSETS)
    elif model.opset_import:
        model.opset_import[0].version = _pick(fdp, OPSETS)
    if fdp.ConsumeIntInRange(0, 7) == 0:
        model.ir_version = harness.interesting_int(fdp) % (2**63)


def mutate_initializer(model: onnx.ModelProto, fdp: atheris.FuzzedDataProvider) -> None:
    """An initializer truncated, given other (huge, negative, zero) dims, or marked external."""
    graph = model.graph
    if not graph.initializer:
        return
    tensor = _pick(fdp, graph.initializer)
    action = fdp.ConsumeIntInRange(0, 3)
    if action == 0 and tensor.raw_data:
        tensor.raw_data = tensor.raw_data[:fdp.ConsumeIntInRange(0, len(tensor.raw_data) - 1)]
    elif action == 1 and tensor.dims:
        tensor.dims[fdp.ConsumeIntInRange(0, len(tensor.dims) - 1)] = harness.interesting_int(fdp)
    elif action == 2:
        tensor.dims.append(harness.interesting_int(fdp))
    else:
        tensor.data_location = TensorProto.EXTERNAL
        entry = tensor.external_data.add()
        entry.key, entry.value = "location", _pick(fdp, ("weights.bin", "../../etc/passwd", "/dev/zero", ""))


def mutate_shape_constant(model: onnx.ModelProto, fdp: atheris.FuzzedDataProvider) -> None:
    """An int64 initializer (a shape, axes, a count) gets edge values: 2^40, -1, 0, ..."""
    shaped = [t for t in model.graph.initializer if t.data_type == TensorProto.INT64]
    values = [harness.interesting_int(fdp) for _ in range(fdp.ConsumeIntInRange(1, 4))]
    replacement = helper.make_tensor("", TensorProto.INT64, [len(values)], values)
    if shaped:
        target = _pick(fdp, shaped)
        replacement.name = target.name
        target.CopyFrom(replacement)
    else:
        replacement.name = f"shape_constant{len(model.graph.initializer)}"
        model.graph.initializer.append(replacement)


def _new_int64_constant(model: onnx.ModelProto, fdp: atheris.FuzzedDataProvider) -> str:
    """Adds an int64 initializer of one to four edge values (as shapes, axes and counts are); its name."""
    values = [harness.interesting_int(fdp) for _ in range(fdp.ConsumeIntInRange(1, 4))]
    dims = [len(values)] if fdp.ConsumeIntInRange(0, 3) or len(values) > 1 else []
    name = f"fuzz_constant{len(model.graph.initializer)}"
    model.graph.initializer.append(helper.make_tensor(name, TensorProto.INT64, dims, values))
    return name


def mutate_add_node(model: onnx.ModelProto, fdp: atheris.FuzzedDataProvider) -> None:
    """A new node of any operator, taking existing values or new int64 constants (as shapes are),
    and often feeding a new graph output."""
    graph, names = model.graph, _names(model)
    inputs = [_pick(fdp, names) if fdp.ConsumeBool() else _new_int64_constant(model, fdp)
              for _ in range(fdp.ConsumeIntInRange(0, 3))]
    output = f"fuzz_out{len(graph.node)}"
    node = helper.make_node(_pick(fdp, OP_TYPES), inputs, [output], name=f"fuzz{len(graph.node)}")
    for _ in range(fdp.ConsumeIntInRange(0, 2)):
        node.attribute.append(_attribute(_pick(fdp, ATTRIBUTE_NAMES), fdp))
    graph.node.insert(fdp.ConsumeIntInRange(0, len(graph.node)), node)
    if fdp.ConsumeBool():
        graph.output.append(helper.make_empty_tensor_value_info(output))


STRUCTURE_MUTATIONS: Sequence[Mutation] = (
    mutate_dims, mutate_element_type, mutate_op_type, mutate_names, mutate_remove, mutate_order,
    mutate_attribute, mutate_opset, mutate_initializer, mutate_shape_constant, mutate_add_node)


def mutated_model(seeds: Sequence[onnx.ModelProto], fdp: atheris.FuzzedDataProvider) -> bytes:
    """A seed with one to four mutations, structure-aware first, then on the bytes."""
    model = onnx.ModelProto()
    model.CopyFrom(_pick(fdp, seeds))
    count = fdp.ConsumeIntInRange(1, 4)
    byte_mutations = fdp.ConsumeIntInRange(0, count) if fdp.ConsumeIntInRange(0, 3) == 0 else 0
    for _ in range(count - byte_mutations):
        _pick(fdp, STRUCTURE_MUTATIONS)(model, fdp)
    data = model.SerializeToString()
    for _ in range(byte_mutations):
        data = harness.mutate_bytes(data, fdp)
    return data


class Finding(AssertionError):
    """An outcome that breaks the parser's promise (raised so that libFuzzer reports it)."""


def check_parse(data: bytes) -> None:
    """parse returns True, or False with errors that are neither internal nor failed allocations."""
    network = mlprt.INetworkDefinition()
    parser = OnnxParser(network)
    if parser.parse(data):
        harness.record("parsed")
        return
    harness.record(f"refused: {parser.get_error(0).code().name}" if parser.num_errors else "refused")
    if parser.num_errors == 0:
        raise Finding("parse returned False without an error")
    for i in range(parser.num_errors):
        error = parser.get_error(i)
        if error.code() == ErrorCode.INTERNAL_ERROR:
            raise Finding(f"internal error: {error}")
        if "MemoryError" in error.desc() or "Unable to allocate" in error.desc():
            raise Finding(f"an allocation beyond what the model justifies was attempted: {error}")
        if not error.desc():
            raise Finding(f"an error without a description: {error!r}")


def cap_address_space(headroom_mb: int) -> None:
    """Limits the address space to what the process maps now plus `headroom_mb`."""
    with open("/proc/self/statm") as statm:
        mapped = int(statm.read().split()[0]) * resource.getpagesize()
    limit = mapped + headroom_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def save_models(seeds: Sequence[onnx.ModelProto], inputs: Sequence[Path], directory: Path) -> None:
    """Writes the mutated model of each choice-byte file (for triage and regression tests)."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in inputs:
        model = mutated_model(seeds, atheris.FuzzedDataProvider(path.read_bytes()))
        (directory / f"{path.name}.onnx").write_bytes(model)
        print(f"{directory / path.name}.onnx")


def main(argv: Optional[Sequence[str]] = None) -> None:
    options = harness.argument_parser(__doc__.splitlines()[0], default_runs=3000, default_timeout=30,
                                      default_rss_mb=2048)
    options.add_argument("--memory-headroom-mb", type=int, default=1024,
                         help="address space allowed beyond what start-up mapped")
    options.add_argument("--save", type=Path, default=None,
                         help="with INPUTS: write the model each one makes to this directory instead of fuzzing")
    args = options.parse_args(argv)
    seeds = [onnx.load_from_string(data) for data in harness.load_seeds("onnx")]
    for seed in seeds:  # the seeds themselves (earlier findings among them); loads lazy imports
        check_parse(seed.SerializeToString())
    harness.OUTCOMES.clear()  # count the fuzzed inputs only
    from onnx.reference import ReferenceEvaluator  # noqa: F401  (constant folding imports it)

    if args.save is not None:
        save_models(seeds, args.inputs, args.save)
        return
    cap_address_space(args.memory_headroom_mb)

    def test_one_input(choices: bytes) -> None:
        check_parse(mutated_model(seeds, atheris.FuzzedDataProvider(choices)))

    harness.run(test_one_input, args)


if __name__ == "__main__":
    main()
