"""Regression tests for what the fuzzers found (tests/fuzz, docs/reliability.md "Fuzzing"): each
input once made the ONNX parser report an internal error, attempt a huge allocation, or lose a
runtime error message; now each ends in a clear error naming the node or field, and the process
goes on working."""
from __future__ import annotations

import struct
import sys
import time
from pathlib import Path
from typing import Any, List, Sequence, Tuple

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import mlprt
from mlprt.onnx_parser import ErrorCode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))
import engine_file  # noqa: E402

FINDINGS = Path(__file__).resolve().parents[1] / "fuzz" / "corpus" / "onnx"


def parse(model: bytes) -> Tuple[bool, List[mlprt.onnx_parser.ParserError]]:
    parser = mlprt.OnnxParser(mlprt.INetworkDefinition())
    ok = parser.parse(model)
    return ok, [parser.get_error(i) for i in range(parser.num_errors)]


def model_of(nodes: List[onnx.NodeProto], initializers: List[onnx.TensorProto], x_shape: Sequence = (2, 3),
             outputs: Sequence[str] = ("y",), extra_inputs: Sequence[onnx.ValueInfoProto] = ()) -> bytes:
    """x: float[x_shape] (and `extra_inputs`) -> nodes -> `outputs` (element types and shapes left
    to the parser)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))
    graph = helper.make_graph(nodes, "finding", [x, *extra_inputs],
                              [helper.make_empty_tensor_value_info(name) for name in outputs], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def assert_parser_still_works() -> None:
    ok, errors = parse(model_of([helper.make_node("Relu", ["x"], ["y"], name="relu")], []))
    assert ok, errors


@pytest.mark.parametrize("name, code, node, words", [
    ("finding-gather-without-indices", ErrorCode.INVALID_NODE, "gather", "Gather needs input 1 (indices)"),
    ("finding-constant-value-of-wrong-type", ErrorCode.INVALID_NODE, "fuzz6",
     "attribute 'value' is INT, but Constant declares it TENSOR"),
    # Comparisons of run-time tensors are BOOL tensors now: these fail at the comparison itself.
    ("finding-comparison-into-add", ErrorCode.INVALID_NODE, "matmul1",
     "shapes (2, 12) and (12, 8) do not broadcast"),
    ("finding-comparison-into-add-dtype", ErrorCode.INVALID_NODE, "matmul1",
     "shapes (2, 12) and (12, 8) do not broadcast"),
    ("finding-fold-shape-inference-error", ErrorCode.INVALID_NODE, "unsqueeze", "constant folding failed"),
    # A mask input of extent 2^63 - 1: the product's batch broadcast would have allocated 8 EiB.
    ("finding-matmul-broadcast-of-huge-extents", ErrorCode.UNSUPPORTED_NODE_SHAPE, "context",
     "needs a condition of 9223372036854775807 elements, beyond the 268435456"),
])
def test_fuzzer_finding_is_a_clear_error(name: str, code: ErrorCode, node: str, words: str) -> None:
    ok, errors = parse((FINDINGS / f"{name}.onnx").read_bytes())
    assert not ok and len(errors) == 1
    assert errors[0].code() == code, errors[0]
    assert errors[0].node_name() == node and words in errors[0].desc(), errors[0]
    assert_parser_still_works()


def test_graph_input_of_an_unknown_data_type_is_named_by_its_number() -> None:
    """The CI fuzzing run found a graph input whose elem_type ONNX does not define (286206): naming
    it raised inside protobuf and came out as an internal error."""
    ok, errors = parse((FINDINGS / "finding-graph-input-unknown-dtype.onnx").read_bytes())
    assert not ok and len(errors) == 1 and errors[0].code() == ErrorCode.UNSUPPORTED_GRAPH, errors
    assert "graph input 'x' has unsupported type <unknown data type 286206>" in errors[0].desc(), errors[0]
    assert_parser_still_works()


def test_external_location_that_is_not_utf8_names_the_tensor() -> None:
    """The CI fuzzing run (2026-12-05) made an initializer's external-data location invalid UTF-8:
    protobuf hands such a field to Python as bytes, and the path check raised a TypeError that came
    out as an internal error."""
    ok, errors = parse((FINDINGS / "finding-external-location-not-utf8.onnx").read_bytes())
    assert not ok and len(errors) == 1 and errors[0].code() == ErrorCode.INVALID_VALUE, errors
    assert "tensor 'axis1'" in errors[0].desc() and "not valid UTF-8" in errors[0].desc(), errors[0]
    assert_parser_still_works()


def test_cast_to_an_unknown_data_type_is_named_by_its_number() -> None:
    ok, errors = parse(model_of([helper.make_node("Cast", ["x"], ["y"], name="cast", to=4242)], []))
    assert not ok and errors[0].code() == ErrorCode.UNSUPPORTED_NODE_DATATYPE and errors[0].node_name() == "cast"
    assert "Cast to <unknown data type 4242> is not supported" in errors[0].desc(), errors[0]
    assert_parser_still_works()


def test_inspect_names_an_unknown_data_type(tmp_path: Path) -> None:
    from mlprt.tools.inspect_tool import onnx_report

    path = tmp_path / "unknown-dtype.onnx"
    path.write_bytes((FINDINGS / "finding-graph-input-unknown-dtype.onnx").read_bytes())
    inputs = onnx_report(str(path))["inputs"]
    assert inputs[0]["name"] == "x" and inputs[0]["dtype"] == "<unknown data type 286206>", inputs


def test_slice_without_ends_is_a_clear_error() -> None:
    shape = helper.make_node("Shape", ["x"], ["s"], name="shape")  # a dynamic extent: not folded
    sliced = helper.make_node("Slice", ["s", "b"], ["y"], name="slice")
    ok, errors = parse(model_of([shape, sliced], [numpy_helper.from_array(np.array([1], np.int64), "b")], ("n", 3)))
    assert not ok and "Slice needs input 2 (ends)" in errors[0].desc() and errors[0].node_name() == "slice"
    assert_parser_still_works()


@pytest.mark.parametrize("op, inputs, what", [
    ("Gather", ["s", "c"], "input 1 (indices) of Gather must hold integers, not complex64"),
    ("Unsqueeze", ["s", "c"], "input 1 (axes) of Unsqueeze must hold integers, not complex64"),
    ("Slice", ["s", "c", "c"], "input 1 (starts) of Slice must hold integers, not complex64"),
])
def test_integer_inputs_of_other_types_are_refused_not_cast(op: str, inputs: List[str], what: str) -> None:
    """The long fuzzing run found complex axes and indices accepted, their imaginary part dropped."""
    shape = helper.make_node("Shape", ["x"], ["s"], name="shape")  # a dynamic extent: not folded
    node = helper.make_node(op, inputs, ["y"], name="picky")
    ok, errors = parse(model_of([shape, node], [numpy_helper.from_array(np.array([0j], np.complex64), "c")], ("n", 3)))
    assert not ok and errors[0].node_name() == "picky" and what in errors[0].desc(), errors[0]
    assert_parser_still_works()


@pytest.mark.parametrize("op, arrays, limit", [
    # a fill stands for weights and takes no memory until used: its own, larger limit (2 GiB)
    ("ConstantOfShape", [np.array([2**40], np.int64)], "more than the limit of 2147483648 bytes for a constant fill"),
    ("ConstantOfShape", [np.array([2**16, 2**16], np.int64)], "limit of 2147483648 bytes for a constant fill"),
    ("Mul", [np.ones((10000, 1), np.float32), np.ones((1, 10000), np.float32)],  # 80 KB in, 400 MB out
     "more than the limit of 268435456 bytes"),
])
def test_folding_beyond_the_limit_is_refused_before_allocating(op: str, arrays: List[np.ndarray], limit: str) -> None:
    names = [f"c{i}" for i in range(len(arrays))]
    nodes = [helper.make_node(op, names, ["big"], name="big"), helper.make_node("Add", ["x", "big"], ["y"], name="add")]
    start = time.perf_counter()
    ok, errors = parse(model_of(nodes, [numpy_helper.from_array(a, n) for a, n in zip(arrays, names)]))
    assert time.perf_counter() - start < 5  # refused, not computed
    assert not ok and errors[0].code() == ErrorCode.INVALID_NODE and errors[0].node_name() == "big"
    assert limit in errors[0].desc(), errors[0]
    assert_parser_still_works()


def _fill_of_one_gib() -> List[Any]:
    return [helper.make_node("ConstantOfShape", ["s"], ["fill"], name="fill",
                             value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.5]))]


def test_a_fill_beyond_the_folding_limit_is_a_view_until_used() -> None:
    """The model zoo's light VGG-19 and ZFNet-512 give their 400 MB weights as ConstantOfShape
    fills; the parser once refused them at the 256 MiB folding limit. A 1 GiB fill now folds
    without memory: its shape is read without the fill being copied."""
    nodes = _fill_of_one_gib() + [helper.make_node("Shape", ["fill"], ["shape"], name="shape"),
                                  helper.make_node("ReduceMax", ["shape"], ["extent"], keepdims=0),
                                  helper.make_node("Cast", ["extent"], ["scale"], to=TensorProto.FLOAT),
                                  helper.make_node("Mul", ["x", "scale"], ["y"], name="scaled")]
    start = time.perf_counter()
    model = model_of(nodes, [numpy_helper.from_array(np.array([2**14, 2**14], np.int64), "s")])
    ok, errors = parse(model)
    assert ok, errors
    assert time.perf_counter() - start < 5
    x = np.random.default_rng(3).standard_normal((2, 3)).astype(np.float32)
    (y,) = mlprt.Session(model).run(None, {"x": x})
    np.testing.assert_allclose(y, x * 2**14, rtol=1e-6)


def test_computing_on_a_large_fill_is_refused_by_the_folding_limit() -> None:
    nodes = _fill_of_one_gib() + [helper.make_node("Neg", ["fill"], ["big"], name="negated"),
                                  helper.make_node("Add", ["x", "big"], ["y"], name="add")]
    start = time.perf_counter()
    ok, errors = parse(model_of(nodes, [numpy_helper.from_array(np.array([2**14, 2**14], np.int64), "s")]))
    assert time.perf_counter() - start < 5  # refused from the shapes, the fill never copied
    assert not ok and errors[0].node_name() == "negated"
    assert "more than the limit of 268435456 bytes" in errors[0].desc(), errors[0]
    assert_parser_still_works()


def test_folding_within_the_limit_still_folds() -> None:
    nodes = [helper.make_node("ConstantOfShape", ["s"], ["z"], name="zeros"),
             helper.make_node("Add", ["x", "z"], ["y"], name="add")]
    ok, errors = parse(model_of(nodes, [numpy_helper.from_array(np.array([2, 3], np.int64), "s")]))
    assert ok, errors


class Recorder(mlprt.ILogger):
    def __init__(self) -> None:
        super().__init__()
        self.messages: List[str] = []

    def log(self, severity: "mlprt.Logger.Severity", msg: str) -> None:
        self.messages.append(msg)


def small_engine() -> bytes:
    return (Path(__file__).resolve().parents[1] / "fuzz" / "corpus" / "engine" / "small_mlp.engine").read_bytes()


def test_runtime_error_quoting_bytes_that_are_not_utf8_reaches_the_logger() -> None:
    """The device check quotes the engine's device record, which may hold any bytes: the logger
    gets the message with those bytes replaced instead of losing it to a decode error."""
    engine = engine_file.retarget(small_engine(), b"platform", b"device \xff\xfe", b"vendor", b"driver", b"OpenCL")
    logger = Recorder()
    assert mlprt.Runtime(logger).deserialize_cuda_engine(engine) is None
    assert any("deserialize_cuda_engine" in m and "\ufffd" in m for m in logger.messages), logger.messages


def test_engine_with_a_tensor_name_that_is_not_utf8_is_refused() -> None:
    device = mlprt.current_device()
    engine = engine_file.retarget(small_engine(), device.platform, device.name, device.vendor,
                                  device.driver_version, device.opencl_version)
    version, sections = engine_file.split(engine)
    tag, body = sections[1]
    assert tag == b"TENS"
    # The first tensor's name follows arena_bytes (8) and the count (4): corrupt its first byte.
    length = struct.unpack_from("<I", body, 12)[0]
    assert length > 0
    sections[1] = (tag, body[:16] + b"\xff" + body[17:])
    logger = Recorder()
    runtime = mlprt.Runtime(logger)
    assert runtime.deserialize_cuda_engine(engine_file.join(version, sections)) is None
    assert any("section TENS, tensor 0" in m and "is not valid UTF-8" in m for m in logger.messages), logger.messages
    assert runtime.deserialize_cuda_engine(engine) is not None  # the runtime goes on working


@pytest.mark.parametrize("case", ["pad", "dropout", "expand"])
def test_constants_made_from_declared_sizes_are_refused_before_allocating(case: str) -> None:
    """Constants the parser makes from a model's declared sizes (Pad's mask of the padded shape with a
    run-time pad value, Dropout's all-true mask output, Expand's carrier of its target shape) are
    refused by name beyond the parser's constant limit (2^28 elements) instead of allocated, as
    ArgMax's positions once were (a fuzzer's finding)."""
    big = [2**16, 2**15]  # 2^31 elements declared
    if case == "pad":
        value = helper.make_tensor_value_info("v", TensorProto.FLOAT, [])
        pads = numpy_helper.from_array(np.array([1, 1, 1, 1], np.int64), "pads")
        model = model_of([helper.make_node("Pad", ["x", "pads", "v"], ["y"], name="pad_it")], [pads], big,
                                  extra_inputs=[value])
        node, words = "pad_it", "Pad's mask of the padded shape [65538, 32770]"
    elif case == "dropout":
        model = model_of([helper.make_node("Dropout", ["x"], ["y", "mask"], name="drop")], [], big,
                                  outputs=("y", "mask"))
        node, words = "drop", "Dropout's mask of shape [65536, 32768]"
    else:
        shape = helper.make_tensor_value_info("n", TensorProto.FLOAT, ["batch"])
        nodes = [helper.make_node("Shape", ["n"], ["n_shape"]),
                 helper.make_node("Concat", ["big_dims", "n_shape"], ["target"], axis=0),
                 helper.make_node("Expand", ["x", "target"], ["y"], name="expand_it")]
        dims = numpy_helper.from_array(np.array(big, np.int64), "big_dims")
        model = model_of(nodes, [dims], [1, 1, 1], extra_inputs=[shape])
        node, words = "expand_it", "would need a constant of 2147483648 elements"
    start = time.perf_counter()
    ok, errors = parse(model)
    assert time.perf_counter() - start < 5  # refused, not allocated
    assert not ok and errors[0].code() == ErrorCode.UNSUPPORTED_NODE_SHAPE, errors
    assert errors[0].node_name() == node and words in errors[0].desc(), errors[0]
    assert_parser_still_works()


def test_a_run_time_kernel_of_a_huge_declared_shape_is_refused_before_allocating() -> None:
    """A Conv whose kernel is a graph input declared (2^16, 1, 2^8, 2^8): the layer is made with a
    placeholder of the kernel's shape, refused by name beyond the constant limit, not allocated."""
    w = helper.make_tensor_value_info("w", TensorProto.FLOAT, [2**16, 1, 2**8, 2**8])
    model = model_of([helper.make_node("Conv", ["x", "w"], ["y"], name="conv_it")], [], [1, 1, 300, 300],
                              extra_inputs=[w])
    start = time.perf_counter()
    ok, errors = parse(model)
    assert time.perf_counter() - start < 5
    assert not ok and errors[0].node_name() == "conv_it", errors
    assert "Conv's kernel of shape [65536, 1, 256, 256] would need a constant of" in errors[0].desc(), errors[0]
    assert_parser_still_works()


def test_engine_checksum_is_the_header_checksum_and_the_reference_fnv1a() -> None:
    """mlprt._core.engine_checksum (the fuzzers' fast header fix-up) agrees with the Python FNV-1a
    of tests/fuzz/engine_file.py on awkward sizes and every buffer kind, gives the checksum a real
    engine's header records, and refuses a strided view by name."""
    rng = np.random.default_rng(91)
    for size in (0, 1, 7, 4099):
        data = rng.integers(0, 256, size, dtype=np.uint8)
        expected = engine_file.fnv1a64(data.tobytes())
        for view in (data.tobytes(), bytearray(data.tobytes()), memoryview(data.tobytes()), data):
            assert mlprt._core.engine_checksum(view) == expected, (size, type(view))
    engine = (FINDINGS.parent / "engine" / "small_mlp.engine").read_bytes()
    header_checksum = struct.unpack_from("<Q", engine, 24)[0]
    assert mlprt._core.engine_checksum(engine[engine_file.HEADER_BYTES:]) == header_checksum
    assert engine_file.with_header(engine[engine_file.HEADER_BYTES:], struct.unpack_from("<I", engine, 8)[0],
                                   checksum=mlprt._core.engine_checksum) == engine
    with pytest.raises(ValueError, match="payload is not contiguous"):
        mlprt._core.engine_checksum(np.arange(8, dtype=np.uint8)[::2])
