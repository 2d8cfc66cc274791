"""Bad inputs (issue 6, section 3): every case of the list, through the public Python API.

Each test checks (a) the kind of error, (b) that its message names the culprit (the node, tensor,
file, shape and profile range, address, dtype, device, ...) and (c) that the process stays
usable: ``assert_still_usable()`` then parses, builds and runs the tutorial MLP in the same
process and compares it with NumPy. docs/reliability.md ("Bad calls and bad inputs") lists the
cases with the behaviour each test pins down.
"""
from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import mlprt
import mlprt.driver as cuda
from mlprt import cudart
from mlprt.engine_tools import EngineRunner
from mlprt.onnx_parser import ErrorCode, ParserError
from engine_helpers import RecordingLogger, infer

F = TensorProto.FLOAT
N = helper.make_node
FP32_TOLERANCE = 1e-5

# --- the tutorial MLP, and the proof that the process still works ----------------------------------

_WEIGHTS_RNG = np.random.default_rng(2024)
WEIGHTS = {"fc1.weight": (_WEIGHTS_RNG.standard_normal((32, 784)) * 0.05).astype(np.float32),
           "fc1.bias": _WEIGHTS_RNG.standard_normal(32).astype(np.float32),
           "fc2.weight": (_WEIGHTS_RNG.standard_normal((10, 32)) * 0.2).astype(np.float32),
           "fc2.bias": _WEIGHTS_RNG.standard_normal(10).astype(np.float32)}
PROFILE = ((1, 784), (4, 784), (8, 784))


def tutorial_mlp() -> onnx.ModelProto:
    """The tutorials' SimpleMLP (784-32-10, ReLU) as PyTorch exports it: Gemm, Relu, Gemm."""
    nodes = [N("Gemm", ["input", "fc1.weight", "fc1.bias"], ["hidden"], name="fc1", transB=1),
             N("Relu", ["hidden"], ["activated"], name="relu"),
             N("Gemm", ["activated", "fc2.weight", "fc2.bias"], ["output"], name="fc2", transB=1)]
    graph = helper.make_graph(nodes, "simple_mlp",
                              [helper.make_tensor_value_info("input", F, ["batch", 784])],
                              [helper.make_tensor_value_info("output", F, ["batch", 10])],
                              [numpy_helper.from_array(value, name) for name, value in WEIGHTS.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model


def mlp_reference(x: np.ndarray) -> np.ndarray:
    hidden = np.maximum(x.astype(np.float64) @ WEIGHTS["fc1.weight"].T + WEIGHTS["fc1.bias"], 0.0)
    return hidden @ WEIGHTS["fc2.weight"].T + WEIGHTS["fc2.bias"]


def build_plan(model: bytes, profiles: Tuple[Tuple[Tuple[int, ...], ...], ...] = (PROFILE,),
               logger: Optional[RecordingLogger] = None) -> Optional[bytes]:
    """Parses and builds ``model`` (input 'input'); the plan, or None (the reasons in ``logger``)."""
    logger = logger or RecordingLogger()
    builder = mlprt.Builder(logger)
    network = builder.create_network(1 << int(mlprt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = mlprt.OnnxParser(network, logger)
    assert parser.parse(model), [str(parser.get_error(i)) for i in range(parser.num_errors)]
    config = builder.create_builder_config()
    for low, opt, high in profiles:
        profile = builder.create_optimization_profile()
        profile.set_shape("input", low, opt, high)
        config.add_optimization_profile(profile)
    plan = builder.build_serialized_network(network, config)
    return None if plan is None else bytes(plan)


def run_mlp(engine: mlprt.ICudaEngine, batch: int = 3) -> None:
    """One inference of the MLP engine, compared with NumPy."""
    x = np.random.default_rng(batch).standard_normal((batch, 784)).astype(np.float32)
    y = infer(engine.create_execution_context(), {"input": x})["output"]
    expected = mlp_reference(x)
    assert np.abs(y - expected).max() <= FP32_TOLERANCE * np.abs(expected).max()


def assert_still_usable() -> None:
    """(c): a fresh parse, build, load and inference of the tutorial MLP gives the right answer."""
    plan = build_plan(tutorial_mlp().SerializeToString())
    assert plan is not None
    run_mlp(mlprt.Runtime(RecordingLogger()).deserialize_cuda_engine(plan))


@pytest.fixture(scope="module")
def plan() -> bytes:
    """The tutorial MLP's engine, built once for the module."""
    built = build_plan(tutorial_mlp().SerializeToString())
    assert built is not None
    return built


def load_engine(plan: bytes) -> mlprt.ICudaEngine:
    engine = mlprt.Runtime(RecordingLogger()).deserialize_cuda_engine(plan)
    assert engine is not None
    return engine


def refused_engine(data: object) -> str:
    """Deserializes ``data``, which must be refused (None, as TensorRT); the logged reason."""
    logger = RecordingLogger()
    assert mlprt.Runtime(logger).deserialize_cuda_engine(data) is None
    assert logger.errors()
    return logger.errors()


# --- ONNX models ------------------------------------------------------------------------------------

def parse_errors(data: bytes, path: Optional[str] = None) -> List[ParserError]:
    """Parses ``data``, which must fail; every error, each also sent to the logger."""
    logger = RecordingLogger()
    parser = mlprt.OnnxParser(mlprt.INetworkDefinition(), logger)
    assert not parser.parse(data, path)
    errors = [parser.get_error(i) for i in range(parser.num_errors)]
    assert errors and len(logger.errors().splitlines()) >= len(errors)
    return errors


def model_of(nodes: List[onnx.NodeProto], inputs: Dict[str, List[object]], outputs: List[str],
             initializers: Optional[Dict[str, np.ndarray]] = None, opset: int = 17) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "bad",
                              [helper.make_tensor_value_info(name, F, shape) for name, shape in inputs.items()],
                              [helper.make_tensor_value_info(name, F, None) for name in outputs],
                              [numpy_helper.from_array(v, k) for k, v in (initializers or {}).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 9
    return model


@pytest.mark.parametrize("data", [b"not an ONNX model at all \x00\xff\xfe\x13", b"", b"\x0a\xff\xff\xff\xff\x0f"],
                         ids=["text", "empty", "huge-length-field"])
def test_malformed_onnx_bytes(data: bytes) -> None:
    (error,) = parse_errors(data)
    assert error.code() == ErrorCode.MODEL_DESERIALIZE_FAILED and error.node() == -1
    assert f"the {len(data)} bytes given" in error.desc() and "not an ONNX model" in error.desc()
    assert_still_usable()


def serialized_cut_points(data: bytes) -> Iterator[int]:
    yield from (1, 10, len(data) // 2, len(data) - 1)


def test_truncated_onnx_file_names_the_file(tmp_path: Path) -> None:
    data = tutorial_mlp().SerializeToString()
    for cut in serialized_cut_points(data):
        path = tmp_path / f"simple_mlp_cut_{cut}.onnx"
        path.write_bytes(data[:cut])
        parser = mlprt.OnnxParser(mlprt.INetworkDefinition(), RecordingLogger())
        assert not parser.parse_from_file(str(path)), cut
        error = parser.get_error(0)
        assert str(path) in error.desc() and f"({cut} bytes)" in error.desc(), error
        assert error.code() in (ErrorCode.MODEL_DESERIALIZE_FAILED, ErrorCode.INVALID_GRAPH)
    # A file cut right after its graph (the opset list lost) parses as protobuf: still named.
    model = tutorial_mlp()
    del model.opset_import[:]
    path = tmp_path / "no_opset.onnx"
    path.write_bytes(model.SerializeToString())
    parser = mlprt.OnnxParser(mlprt.INetworkDefinition(), None)
    assert not parser.parse_from_file(str(path))
    assert str(path) in parser.get_error(0).desc() and "opset" in parser.get_error(0).desc()
    assert_still_usable()


def test_node_input_that_nothing_produces() -> None:
    model = model_of([N("Relu", ["x"], ["a"], name="first"), N("Add", ["a", "ghost"], ["y"], name="adder")],
                     {"x": [2, 3]}, ["y"])
    (error,) = parse_errors(model.SerializeToString())
    assert (error.code(), error.node(), error.node_name(), error.node_operator()) == \
        (ErrorCode.INVALID_GRAPH, 1, "adder", "Add")
    assert "'ghost'" in error.desc() and str(error).startswith("node 1 'adder' (Add): ")
    assert_still_usable()


def test_cycle_names_both_nodes() -> None:
    model = model_of([N("Add", ["x", "b"], ["a"], name="n0"), N("Relu", ["a"], ["b"], name="n1")], {"x": [2]}, ["b"])
    errors = parse_errors(model.SerializeToString())
    assert (errors[0].code(), errors[0].node(), errors[0].node_name(), errors[0].node_operator()) == \
        (ErrorCode.INVALID_GRAPH, 0, "n0", "Add")
    assert "'b'" in errors[0].desc() and "node 1 'n1' (Relu)" in errors[0].desc() and "cycle" in errors[0].desc()
    assert_still_usable()


@pytest.mark.parametrize("op,domain", [("FancyOp", ""), ("MyGelu", "com.example"), ("RoiAlign", "")])
def test_unknown_operator(op: str, domain: str) -> None:
    model = model_of([N("Relu", ["x"], ["a"], name="r"), N(op, ["a"], ["y"], name="mystery", domain=domain)],
                     {"x": [1, 1, 4, 4]}, ["y"])
    if domain:
        model.opset_import.append(helper.make_opsetid(domain, 1))
    (error,) = parse_errors(model.SerializeToString())
    assert (error.code(), error.node(), error.node_name(), error.node_operator()) == \
        (ErrorCode.UNSUPPORTED_NODE, 1, "mystery", op)
    assert op in error.desc() and (not domain or domain in error.desc())
    assert_still_usable()


def test_opset_newer_than_supported() -> None:
    newest = onnx.defs.onnx_opset_version()
    model = model_of([N("Relu", ["x"], ["y"])], {"x": [2]}, ["y"], opset=newest + 5)
    (error,) = parse_errors(model.SerializeToString())
    assert error.code() == ErrorCode.UNSUPPORTED_GRAPH
    assert f"opset {newest + 5}" in error.desc() and f"({newest})" in error.desc()
    assert_still_usable()


def test_missing_initializer() -> None:
    model = tutorial_mlp()
    kept = [t for t in model.graph.initializer if t.name != "fc2.bias"]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    (error,) = parse_errors(model.SerializeToString())
    assert (error.code(), error.node(), error.node_name(), error.node_operator()) == \
        (ErrorCode.INVALID_GRAPH, 2, "fc2", "Gemm")
    assert "'fc2.bias'" in error.desc() and "initializer" in error.desc()
    assert_still_usable()


def stored_tensor(name: str, dims: List[int], raw: bytes = b"") -> onnx.TensorProto:
    """A float tensor with the given dims and raw bytes, which need not agree (as in a bad file)."""
    tensor = onnx.TensorProto()
    tensor.name, tensor.data_type, tensor.raw_data = name, F, raw
    tensor.dims.extend(dims)
    return tensor


@pytest.mark.parametrize("dims,raw,message", [
    ([-3], b"", "negative dimension -3 in its dims [-3]"),
    ([4, -1], b"\0" * 16, "negative dimension -1 in its dims [4, -1]"),
    ([2**40, 2**40], b"", "dims [1099511627776, 1099511627776]"),
    ([2**31, 2**31], b"\0" * 8, "dims [2147483648, 2147483648]"),
], ids=["negative", "negative-with-data", "huge-without-data", "huge-with-short-data"])
def test_initializer_with_negative_or_huge_dims(dims: List[int], raw: bytes, message: str) -> None:
    model = model_of([N("Add", ["x", "w"], ["y"], name="add")], {"x": [2]}, ["y"])
    model.graph.initializer.append(stored_tensor("w", dims, raw))
    (error,) = parse_errors(model.SerializeToString())
    assert error.code() == ErrorCode.INVALID_VALUE and "initializer 'w'" in error.desc() and message in error.desc()
    # The same tensor as a Constant node's value.
    constant = model_of([N("Constant", [], ["w"], name="const", value=stored_tensor("w", dims, raw)),
                         N("Add", ["x", "w"], ["y"], name="add")], {"x": [2]}, ["y"])
    (error,) = parse_errors(constant.SerializeToString())
    assert (error.node_name(), error.code()) == ("const", ErrorCode.INVALID_VALUE) and message in error.desc()
    assert_still_usable()


def test_graph_input_with_a_negative_dim() -> None:
    model = model_of([N("Relu", ["x"], ["y"])], {"x": [-5, 3]}, ["y"])
    (error,) = parse_errors(model.SerializeToString())
    assert error.code() == ErrorCode.INVALID_GRAPH and "graph input 'x'" in error.desc() and "(-5, 3)" in error.desc()
    assert_still_usable()


@pytest.mark.parametrize("location", ["../../outside.bin", "/etc/hostname"], ids=["relative", "absolute"])
def test_external_data_outside_the_model_directory(tmp_path: Path, location: str) -> None:
    """A model can name files for its weights; only files inside its own directory are read."""
    model = model_of([N("Add", ["x", "w"], ["y"], name="add")], {"x": [2]}, ["y"], {"w": np.ones(2, np.float32)})
    weights = model.graph.initializer[0]
    weights.ClearField("raw_data")
    weights.data_location = TensorProto.EXTERNAL
    entry = weights.external_data.add()
    entry.key, entry.value = "location", location
    path = tmp_path / "model" / "model.onnx"
    path.parent.mkdir()
    path.write_bytes(model.SerializeToString())
    parser = mlprt.OnnxParser(mlprt.INetworkDefinition(), None)
    assert not parser.parse_from_file(str(path))
    error = parser.get_error(0)
    assert error.code() == ErrorCode.INVALID_VALUE and "tensor 'w'" in error.desc() and location in error.desc()
    assert_still_usable()


def build_relu(shape: List[object], profile: Optional[Tuple[Tuple[int, ...], ...]]) -> str:
    """Builds Relu over an input 'input' of ``shape``, which must fail; the logged reason."""
    model = model_of([N("Relu", ["input"], ["output"], name="relu")], {"input": shape}, ["output"])
    logger = RecordingLogger()
    assert build_plan(model.SerializeToString(), (profile,) if profile else (), logger) is None
    return logger.errors()


@pytest.mark.parametrize("shape,profile,messages", [
    # Elements beyond 63 bits; bytes beyond 64 bits (this one used to wrap around to 0 bytes and
    # crash the device runtime); bytes beyond what one allocation may hold, static and in a profile.
    ([2**40, 2**40], None, ["input 'input'", "(1099511627776, 1099511627776)", "63 bits"]),
    ([2**31, 2**31], None, ["input 'input'", "(2147483648, 2147483648)", "64 bits"]),
    ([2**20, 2**20], None, ["input 'input'", "4398046511104 bytes", "(1048576, 1048576)", "one allocation"]),
    (["batch", 4], ((1, 4), (2, 4), (2**60, 4)), ["input 'input'", "profile 0 at its max", "(1152921504606846976, 4)"]),
])
def test_huge_dims_are_refused_by_the_builder(shape: List[object], profile, messages: List[str]) -> None:
    reason = build_relu(shape, profile)
    for message in messages:
        assert message in reason, (message, reason)
    assert_still_usable()


def test_activation_arena_larger_than_the_device_allows() -> None:
    """Two activations that live at once, each under the device's allocation limit, together
    over it: the builder refuses the arena before allocating anything."""
    limit = device_info().max_allocation
    features = 1024
    rows = int(0.6 * limit) // (4 * features)
    model = model_of([N("Relu", ["input"], ["a"], name="relu"), N("Sigmoid", ["a"], ["b"], name="sigmoid"),
                      N("Add", ["a", "b"], ["c"], name="add"), N("Tanh", ["c"], ["output"], name="tanh")],
                     {"input": ["batch", features]}, ["output"])
    logger = RecordingLogger()
    profile = ((1, features), (2, features), (rows, features))
    assert build_plan(model.SerializeToString(), (profile,), logger) is None
    assert "activation memory" in logger.errors() and "one allocation" in logger.errors()
    assert str(limit) in logger.errors()
    assert_still_usable()


# --- engine files ---------------------------------------------------------------------------------

HEADER = struct.Struct("<8sIIQQ")  # magic, version, reserved, payload size, checksum


def fnv1a(data: bytes) -> int:
    h = 0xcbf29ce484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def with_payload(plan: bytes, payload: bytes) -> bytes:
    """``plan``'s header around a new payload, with the size and checksum made to match."""
    magic, version, reserved, _, _ = HEADER.unpack_from(plan)
    return HEADER.pack(magic, version, reserved, len(payload), fnv1a(payload)) + payload


META_FIELDS = ["mlprt_version", "platform", "device", "vendor", "driver", "opencl_version"]


def read_meta(plan: bytes) -> Tuple[Dict[str, str], int]:
    """The META section's strings (docs/engine-format.md) and where the section ends."""
    assert plan[32:36] == b"META"
    (length,) = struct.unpack_from("<Q", plan, 36)
    fields, at = {}, 44
    for field in META_FIELDS:
        (size,) = struct.unpack_from("<I", plan, at)
        fields[field] = plan[at + 4:at + 4 + size].decode()
        at += 4 + size
    return fields, 44 + length


def with_meta(plan: bytes, **changes: str) -> bytes:
    """``plan`` as if built for another device or driver: META rewritten, checksum fixed."""
    fields, end = read_meta(plan)
    fields.update(changes)
    body = b"".join(struct.pack("<I", len(v.encode())) + v.encode() for v in (fields[f] for f in META_FIELDS))
    body += plan[end - 1:end]  # the fp16 flag
    return with_payload(plan, b"META" + struct.pack("<Q", len(body)) + body + plan[end:])


def test_crafted_engine_helpers_reproduce_the_plan(plan: bytes) -> None:
    """The helpers below craft valid files: unchanged fields give back the same bytes."""
    assert with_meta(plan) == plan and with_payload(plan, plan[32:]) == plan
    assert read_meta(plan)[0]["device"] == device_info().name


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.99])
def test_truncated_engine(plan: bytes, fraction: float) -> None:
    cut = max(int(len(plan) * fraction), 20)
    reason = refused_engine(plan[:cut])
    assert "truncated" in reason
    if cut >= 32:
        assert str(len(plan) - 32) in reason and str(cut - 32) in reason  # announced and present payload
    run_mlp(load_engine(plan))
    assert_still_usable()


@pytest.mark.parametrize("offset", [40, 200, -1, 1000])
def test_bit_flipped_engine(plan: bytes, offset: int) -> None:
    at = offset % len(plan)
    flipped = plan[:at] + bytes([plan[at] ^ 0x04]) + plan[at + 1:]
    reason = refused_engine(flipped)
    assert "corrupted: checksum mismatch" in reason
    assert_still_usable()


def test_engine_of_a_newer_format(plan: bytes) -> None:
    magic, version, reserved, size, checksum = HEADER.unpack_from(plan)
    newer = HEADER.pack(magic, version + 1, reserved, size, checksum) + plan[32:]
    reason = refused_engine(newer)
    assert "newer than this mlprt supports" in reason and str(version + 1) in reason and "rebuild" in reason
    assert_still_usable()


def test_engine_built_for_another_device_is_refused(plan: bytes) -> None:
    """As TensorRT refuses a plan built for another GPU model: the runtime names both devices."""
    here = read_meta(plan)[0]
    other = with_meta(plan, device="Imaginary GPU 9000", platform="Other Platform")
    reason = refused_engine(other)
    assert "'Imaginary GPU 9000' (Other Platform)" in reason and f"'{here['device']}' ({here['platform']})" in reason
    assert "rebuild the engine" in reason
    assert_still_usable()


def test_engine_built_with_another_driver_loads_and_recompiles(plan: bytes) -> None:
    """Same device, other driver version: the stored binaries are not used (a warning names both
    drivers) and the kernels are compiled from source; the answers stay right."""
    here = read_meta(plan)[0]
    logger = RecordingLogger()
    engine = mlprt.Runtime(logger).deserialize_cuda_engine(with_meta(plan, driver="0.0-old-driver"))
    assert engine is not None
    warnings = [m for s, m in logger.messages if s == mlprt.Logger.WARNING]
    assert any("0.0-old-driver" in m and here["driver"] in m for m in warnings), warnings
    run_mlp(engine)
    assert_still_usable()


def test_other_files_are_not_engines(plan: bytes) -> None:
    assert 'not an mlprt engine file' in refused_engine(tutorial_mlp().SerializeToString())
    assert "not an mlprt engine file" in refused_engine(b"")
    assert_still_usable()


@pytest.mark.parametrize("view", [lambda a: a[::-1], lambda a: np.repeat(a, 2)[::2],
                                  lambda a: np.stack([a, a], axis=1)[:, 0]], ids=["reversed", "strided", "column"])
def test_engine_bytes_that_are_not_contiguous(plan: bytes, view: Callable[[np.ndarray], np.ndarray]) -> None:
    """A strided view used to be read as the memory after its first element (out of bounds for
    a reversed view)."""
    data = view(np.frombuffer(plan, np.uint8))
    with pytest.raises(ValueError, match=r"serialized_engine is not contiguous in memory \(strides"):
        mlprt.Runtime(RecordingLogger()).deserialize_cuda_engine(data)
    config = mlprt.Builder(RecordingLogger()).create_builder_config()
    with pytest.raises(ValueError, match="timing cache data is not contiguous"):
        config.create_timing_cache(data)
    run_mlp(load_engine(plan))
    assert_still_usable()


# --- shapes and bindings --------------------------------------------------------------------------

def test_input_shape_outside_every_profile() -> None:
    """TensorRT's contract: set_input_shape returns False and logs an error naming the tensor,
    the shape and the range; execute then raises naming the input whose shape is unset."""
    two_profiles = build_plan(tutorial_mlp().SerializeToString(),
                              (((1, 784), (2, 784), (4, 784)), ((16, 784), (20, 784), (32, 784))))
    assert two_profiles is not None
    logger = RecordingLogger()
    engine = mlprt.Runtime(logger).deserialize_cuda_engine(two_profiles)
    context = engine.create_execution_context()
    stream = cuda.Stream()
    for profile, (low, high) in enumerate([((1, 784), (4, 784)), ((16, 784), (32, 784))]):
        if profile:
            assert context.set_optimization_profile_async(profile, stream.handle)
        assert not context.set_input_shape("input", (8, 784))
        reason = logger.errors().splitlines()[-1]
        assert all(part in reason for part in ["'input'", "(8, 784)", f"optimization profile {profile}",
                                               f"min {low}", f"max {high}"]), reason
        with pytest.raises(ValueError, match="shape of input 'input' is not set"):
            context.execute_async_v3(stream.handle)
    assert not context.set_input_shape("input", (2, 783)) and "(2, 783)" in logger.errors()
    assert not context.set_input_shape("input", (-1, 784)) and "concrete shape" in logger.errors()
    x = np.random.default_rng(20).standard_normal((20, 784)).astype(np.float32)
    y = infer(context, {"input": x}, stream)["output"]  # the same context, in profile 1
    assert np.abs(y - mlp_reference(x)).max() <= FP32_TOLERANCE * np.abs(mlp_reference(x)).max()
    assert_still_usable()


def test_execute_before_all_shapes_are_set(plan: bytes) -> None:
    context = load_engine(plan).create_execution_context()
    assert not context.all_binding_shapes_specified and context.infer_shapes() == ["input"]
    assert context.get_tensor_shape("output") == (-1, 10)
    stream = cuda.Stream()
    with pytest.raises(ValueError, match="shape of input 'input' is not set; call set_input_shape"):
        context.execute_async_v3(stream.handle)
    with pytest.raises(ValueError, match="shape of input 'input' is not set"):
        context.execute_v2([0, 0])
    assert_still_usable()


def bound_context(plan: bytes, batch: int = 4) -> Tuple[mlprt.IExecutionContext, Dict[str, cuda.DeviceAllocation]]:
    """A context with its input shape set and right-sized device memory bound to both tensors."""
    context = load_engine(plan).create_execution_context()
    assert context.set_input_shape("input", (batch, 784))
    memory = {"input": cuda.mem_alloc(batch * 784 * 4), "output": cuda.mem_alloc(batch * 10 * 4)}
    for name, allocation in memory.items():
        context.set_tensor_address(name, int(allocation))
    return context, memory


@pytest.mark.parametrize("after_runs", [False, True], ids=["unused", "after-runs"])
@pytest.mark.parametrize("tensor", ["input", "output"])
def test_freed_allocation_bound_with_set_tensor_address(plan: bytes, tensor: str, after_runs: bool) -> None:
    """Freed before the first run, or after runs that prepared and captured the context's steps
    (later calls skip the registry lookups of bindings that cannot have changed)."""
    context, memory = bound_context(plan)
    stream = cuda.Stream()
    if after_runs:
        for _ in range(3):
            assert context.execute_async_v3(stream.handle)
        stream.synchronize()
    address = int(memory[tensor])
    memory[tensor].free()
    with pytest.raises(ValueError) as error:
        context.execute_async_v3(stream.handle)
    assert f"{tensor} '{tensor}'" in str(error.value) and hex(address) in str(error.value)
    assert "freed" in str(error.value)
    # Binding a freed address is refused at once too.
    with pytest.raises(ValueError, match=hex(address)):
        context.set_tensor_address(tensor, address)
    assert_still_usable()


@pytest.mark.parametrize("tensor,short", [("input", 4), ("output", 1)])
def test_too_small_allocation_bound(plan: bytes, tensor: str, short: int) -> None:
    context, memory = bound_context(plan, batch=4)
    needed = 4 * (784 if tensor == "input" else 10) * 4
    small = cuda.mem_alloc(needed - short)
    stream = cuda.Stream()
    context.set_tensor_address(tensor, int(small))
    with pytest.raises(ValueError) as error:
        context.execute_async_v3(stream.handle)
    message = str(error.value)
    assert f"{tensor} '{tensor}'" in message and f"{needed} bytes" in message
    assert f"{needed - short} bytes" in message and hex(int(small)) in message
    # An offset inside a big enough allocation that leaves too little room is the same error.
    context.set_tensor_address(tensor, int(memory[tensor]) + 4)
    with pytest.raises(ValueError, match=f"{tensor} '{tensor}'.*overrun"):
        context.execute_async_v3(stream.handle)
    assert_still_usable()


# --- host arrays ----------------------------------------------------------------------------------

HTOD = [("memcpy_htod", lambda d, h: cuda.memcpy_htod(d, h)),
        ("memcpy_htod_async", lambda d, h: cuda.memcpy_htod_async(d, h, cuda.Stream()))]
DTOH = [("memcpy_dtoh", lambda d, h: cuda.memcpy_dtoh(h, d)),
        ("memcpy_dtoh_async", lambda d, h: cuda.memcpy_dtoh_async(h, d, cuda.Stream()))]
COPIES = HTOD + DTOH


def host_role(name: str) -> str:
    return "source" if "htod" in name else "destination"


@pytest.mark.parametrize("name,copy", COPIES, ids=[n for n, _ in COPIES])
def test_host_array_of_the_wrong_dtype(name: str, copy, rng: np.random.Generator) -> None:
    """Copies are byte copies (as in CUDA); a float64 array where the device memory holds float32
    shows up as twice the bytes, and the error says what the host array is."""
    device = cuda.mem_alloc(4 * 784 * 4)
    array = rng.standard_normal((4, 784))  # float64
    with pytest.raises(ValueError) as error:
        copy(device, array)
    message = str(error.value)
    assert "overrun" in message and f"the {host_role(name)} is a float64 array of shape (4, 784), 25088 bytes" in message
    assert hex(int(device)) in message and "12544 bytes" in message
    assert_still_usable()


@pytest.mark.parametrize("name,copy", COPIES, ids=[n for n, _ in COPIES])
def test_host_array_that_is_not_contiguous(name: str, copy, rng: np.random.Generator) -> None:
    device = cuda.mem_alloc(4096)
    strided = rng.standard_normal((16, 16)).astype(np.float32)[:, ::2]
    with pytest.raises(ValueError, match=rf"{host_role(name)} is not contiguous \(shape \(16, 8\), strides \(64, 8\)\)"):
        copy(device, strided)
    assert_still_usable()


@pytest.mark.parametrize("name,copy", COPIES, ids=[n for n, _ in COPIES])
def test_host_array_larger_than_the_device_memory(name: str, copy) -> None:
    """The other side of "too small": the device allocation cannot hold the host array."""
    device = cuda.mem_alloc(100)
    with pytest.raises(ValueError) as error:
        copy(device, np.zeros(101, np.uint8))
    assert "101 bytes at offset 0 overrun the device allocation" in str(error.value)
    assert "of 100 bytes" in str(error.value) and "uint8 array of shape (101,)" in str(error.value)
    assert_still_usable()


def test_host_array_too_small_for_the_byte_count() -> None:
    """APIs that take a byte count next to a host array check it against the array (cudart)."""
    err, device = cudart.cudaMalloc(64)
    assert err == cudart.cudaError_t.cudaSuccess
    small = np.zeros(8, np.float32)  # 32 bytes
    for kind, dst, src in [(cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, device, small),
                           (cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost, small, device)]:
        (err,) = cudart.cudaMemcpy(dst, src, 64, kind)
        assert err == cudart.cudaError_t.cudaErrorInvalidValue
    assert cudart.cudaFree(device) == (cudart.cudaError_t.cudaSuccess,)
    assert_still_usable()


def test_typed_host_inputs_are_checked(plan: bytes) -> None:
    """APIs that take typed arrays (EngineRunner, hence mlprt.Session) check dtype and shape."""
    runner = EngineRunner(load_engine(plan))
    with pytest.raises(ValueError, match="input 'input' must be float32, got float64"):
        runner.run({"input": np.zeros((2, 784))})
    with pytest.raises(ValueError, match=r"input 'input' shape \(2, 783\) is outside"):
        runner.run({"input": np.zeros((2, 783), np.float32)})
    with pytest.raises(ValueError, match=r"input 'input' shape \(9, 784\) is outside.*min \(1, 784\), max \(8, 784\)"):
        runner.run({"input": np.zeros((9, 784), np.float32)})
    x = np.random.default_rng(1).standard_normal((5, 784)).astype(np.float32)
    expected = mlp_reference(x)
    assert np.abs(runner.run({"input": x})["output"] - expected).max() <= FP32_TOLERANCE * np.abs(expected).max()
    assert_still_usable()


# --- device memory ----------------------------------------------------------------------------------

def device_info() -> mlprt.DeviceInfo:
    return mlprt.current_device()


def test_one_allocation_larger_than_the_device() -> None:
    device = device_info()
    for nbytes in (device.global_memory + 1, device.global_memory + (1 << 30)):
        with pytest.raises(MemoryError) as error:
            cuda.mem_alloc(nbytes)
        assert str(nbytes) in str(error.value) and device.name in str(error.value)
        err, pointer = cudart.cudaMalloc(nbytes)
        assert err == cudart.cudaError_t.cudaErrorMemoryAllocation and pointer is None
    assert_still_usable()


def fill_device(leave: int) -> List[cuda.DeviceAllocation]:
    """Allocations (never written, so no memory is touched) until less than ``leave`` bytes of the
    device's global memory are left to mlprt; MemoryError stops it early on drivers that refuse
    sooner."""
    device = device_info()
    held: List[cuda.DeviceAllocation] = []
    chunk, total = device.max_allocation, 0
    # A chunk is halved only when refused, so what is left is below the last refused chunk:
    # below `leave` once the chunks go under leave / 2 (stopping at `leave` itself could leave
    # up to twice that, as it did on the H200).
    while 2 * chunk >= leave and total <= device.global_memory:  # the bound: should nothing refuse
        try:
            held.append(cuda.mem_alloc(chunk))
            total += chunk
        except MemoryError:
            chunk //= 2
    return held


def test_allocations_beyond_the_device_memory_are_refused_up_front() -> None:
    """PoCL (and NVIDIA's OpenCL) accept buffers beyond the device's memory and fail only at first
    use (PoCL by exhausting host memory); mlprt counts what it holds per device and refuses first."""
    device = device_info()
    held = fill_device(leave=1 << 20)
    try:
        total = sum(a.size for a in held)
        assert total <= device.global_memory
        with pytest.raises(MemoryError) as error:
            cuda.mem_alloc(device.max_allocation)
        message = str(error.value)
        assert device.name in message and str(device.max_allocation) in message
        holds = re.search(r"mlprt already holds (\d+) bytes there and the device has (\d+) bytes", message)
        if holds:  # mlprt's own check (a driver may refuse before it): it counts these and more
            assert int(holds.group(1)) >= total and int(holds.group(2)) == device.global_memory
    finally:
        for allocation in held:
            allocation.free()
    big = cuda.mem_alloc(device.max_allocation)  # freed memory counts again
    big.free()
    assert_still_usable()


def test_execution_context_whose_activation_memory_cannot_be_allocated() -> None:
    model = model_of([N("Relu", ["input"], ["a"], name="relu"), N("Sigmoid", ["a"], ["b"], name="sigmoid"),
                      N("Add", ["a", "b"], ["output"], name="add")], {"input": ["batch", 4096]}, ["output"])
    built = build_plan(model.SerializeToString(), (((1, 4096), (8, 4096), (64, 4096)),))
    assert built is not None
    engine = load_engine(built)
    assert engine.device_memory_size > 0
    held = fill_device(leave=engine.device_memory_size)
    try:
        with pytest.raises(MemoryError) as error:
            engine.create_execution_context()
        message = str(error.value)
        assert f"needs {engine.device_memory_size} bytes of device memory" in message
        assert device_info().name in message
    finally:
        for allocation in held:
            allocation.free()
    context = engine.create_execution_context()
    x = np.random.default_rng(3).standard_normal((5, 4096)).astype(np.float32)
    y = infer(context, {"input": x})["output"]
    a = np.maximum(x, 0.0)
    np.testing.assert_allclose(y, a + 1.0 / (1.0 + np.exp(-a)), rtol=1e-5, atol=1e-6)
    assert_still_usable()
