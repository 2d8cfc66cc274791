"""Opsets 7 to 10: converted to opset 11 with onnx.version_converter (said at INFO), then
imported; old attribute forms compared with ONNX Runtime; errors name the opset and the node."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

import mlprt
import mlprt.backend
from engine_helpers import infer, load, relative_error
from mlprt.engine_tools import build_engine
from mlprt.onnx_parser import ErrorCode, OnnxParser
from mlprt.onnx_parser.parser import _locate_conversion_failure
from network_reference import evaluate
from test_onnx_parser_helpers import (F, RecordingLogger, check_against_onnxruntime, make_model,
                                      onnxruntime_outputs, parse_errors)

N = helper.make_node


def _conversion_infos(parser: OnnxParser) -> List[str]:
    return [m for s, m in parser.logger.messages if s == mlprt.Logger.INFO and "converted the model" in m]


def _parse_logged(model: onnx.ModelProto) -> Tuple[object, OnnxParser]:
    network = mlprt.INetworkDefinition()
    parser = OnnxParser(network, RecordingLogger())
    assert parser.parse(model.SerializeToString()), [str(parser.get_error(i)) for i in range(parser.num_errors)]
    return network, parser


def _r(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


class _MLP(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(37, 53)
        self.fc2 = torch.nn.Linear(53, 11)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.fc2(torch.relu(self.fc1(x))), dim=-1)


@pytest.mark.parametrize("opset", [7, 8, 9, 10])
def test_torchscript_mlp_export(tmp_path: Path, rng: np.random.Generator, opset: int) -> None:
    """torch.onnx.export(..., opset_version=7..10, dynamo=False), dynamic batch, built and run."""
    torch.manual_seed(opset)
    path = tmp_path / "mlp.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_MLP().eval(), torch.randn(3, 37), str(path), dynamo=False, opset_version=opset,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    model = onnx.load(str(path))
    assert model.opset_import[0].version == opset
    _, parser = _parse_logged(model)
    (info,) = _conversion_infos(parser)
    assert f"from opset {opset} to opset 11" in info, info
    logger = RecordingLogger()
    engine = load(build_engine(str(path), profiles=[{"input": ((1, 37), (4, 37), (9, 37))}], logger=logger))
    context = engine.create_execution_context()
    for batch in (1, 9):
        x = _r(rng, batch, 37)
        got = infer(context, {"input": x})["output"]
        assert relative_error(got, onnxruntime_outputs(model, {"input": x})["output"]) <= 1e-5


def _bn(opset: int, **attrs: object) -> Tuple[list, list, Dict[str, np.ndarray], int]:
    rng = np.random.default_rng(5)
    stats = {"s": rng.standard_normal(3), "b": rng.standard_normal(3), "m": rng.standard_normal(3),
             "v": rng.random(3) + 0.5}
    return ([N("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3, **attrs)], [("x", (2, 3, 5))],
            {k: v.astype(np.float32) for k, v in stats.items()}, opset)


# name: (nodes, inputs, initializers, opset)
CASES = {
    "batchnorm_spatial_opset7": _bn(7, spatial=1),
    "batchnorm_opset8": _bn(8),
    "batchnorm_opset9": _bn(9),
    "dropout_ratio_opset7": ([N("Dropout", ["x"], ["y"], ratio=0.4)], [("x", (3, 4))], {}, 7),
    "dropout_opset10": ([N("Dropout", ["x"], ["y"])], [("x", (3, 4))], {}, 10),
    "clip_attributes_opset7": ([N("Clip", ["x"], ["y"], min=-0.4, max=0.6)], [("x", (3, 7))], {}, 7),
    "clip_min_only_opset10": ([N("Clip", ["x"], ["y"], min=-0.2)], [("x", (3, 7))], {}, 10),
    "slice_attributes_opset9": ([N("Shape", ["x"], ["s"]),
                                 N("Slice", ["s"], ["b"], starts=[0], ends=[1], axes=[0]),
                                 N("Concat", ["b", "minus1"], ["shape"], axis=0),
                                 N("Reshape", ["x", "shape"], ["y"])],
                                [("x", (2, 3, 5))], {"minus1": np.array([-1], np.int64)}, 9),
    "reshape_opset7": ([N("Reshape", ["x", "shape"], ["y"])], [("x", (2, 3, 5))],
                       {"shape": np.array([5, -1], np.int64)}, 7),
    "gemm_opset7": ([N("Gemm", ["a", "b", "c"], ["y"], transB=1, alpha=0.5, beta=2.0)], [("a", (4, 6))],
                    {"b": (5, 6), "c": (5,)}, 7),
    "gemm_opset9": ([N("Gemm", ["a", "b", "c"], ["y"], transA=1)], [("a", (6, 4))], {"b": (6, 5), "c": (4, 5)}, 9),
    "softmax_2d_coercion_opset7": ([N("Softmax", ["x"], ["y"], axis=1)], [("x", (2, 3, 4))], {}, 7),
    "softmax_default_axis_opset10": ([N("Softmax", ["x"], ["y"])], [("x", (2, 3, 4))], {}, 10),
    "logsoftmax_2d_coercion_opset8": ([N("LogSoftmax", ["x"], ["y"], axis=2)], [("x", (2, 3, 4, 5))], {}, 8),
    "squeeze_unsqueeze_axes_opset7": ([N("Unsqueeze", ["x"], ["u"], axes=[0, 3]),
                                       N("Relu", ["u"], ["r"]),
                                       N("Squeeze", ["r"], ["y"], axes=[3])], [("x", (3, 4))], {}, 7),
    "max_min_sum_mean_opset7": ([N("Max", ["a", "b", "c"], ["m1"]), N("Min", ["a", "b"], ["m2"]),
                                 N("Sum", ["m1", "m2", "c"], ["s"]), N("Mean", ["s", "a", "b"], ["y"])],
                                [("a", (2, 3)), ("b", (2, 3))], {"c": (2, 3)}, 7),
    "max_min_sum_mean_broadcast_opset8": ([N("Max", ["a", "b", "c"], ["m1"]), N("Min", ["a", "b"], ["m2"]),
                                           N("Sum", ["m1", "m2", "c"], ["s"]), N("Mean", ["s", "a"], ["y"])],
                                          [("a", (2, 3, 4)), ("b", (4,))], {"c": (3, 1)}, 8),
    "matmul_add_relu_sigmoid_tanh_opset9": ([N("MatMul", ["a", "w"], ["m"]), N("Add", ["m", "bias"], ["s"]),
                                             N("Relu", ["s"], ["r"]), N("Sigmoid", ["r"], ["g"]),
                                             N("Tanh", ["g"], ["y"])], [("a", (3, 7))],
                                            {"w": (7, 5), "bias": (5,)}, 9),
    "transpose_flatten_opset8": ([N("Transpose", ["x"], ["t"], perm=[0, 2, 1]), N("Flatten", ["t"], ["y"], axis=1)],
                                 [("x", (2, 3, 4))], {}, 8),
    "leakyrelu_elu_selu_opset7": ([N("LeakyRelu", ["x"], ["a"], alpha=0.3), N("Elu", ["a"], ["b"], alpha=0.7),
                                   N("Selu", ["b"], ["y"])], [("x", (3, 4))], {}, 7),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_old_forms_against_onnxruntime(name: str, rng: np.random.Generator) -> None:
    nodes, inputs, initializers, opset = CASES[name]
    values = {k: (v if isinstance(v, np.ndarray) else _r(rng, *v)) for k, v in initializers.items()}
    model = make_model(nodes, [(n, F, s) for n, s in inputs], ["y"], values, opset=opset)
    feeds = {n: _r(rng, *s) for n, s in inputs}
    check_against_onnxruntime(model, feeds)
    _, parser = _parse_logged(model)
    (info,) = _conversion_infos(parser)
    assert f"from opset {opset} to opset 11" in info


def test_opset_11_is_not_converted() -> None:
    model = make_model([N("Relu", ["x"], ["y"])], [("x", F, (2, 3))], ["y"], opset=11)
    _, parser = _parse_logged(model)
    assert not _conversion_infos(parser)


def test_opset_6_gemm_with_broadcast_is_converted(rng: np.random.Generator) -> None:
    """Gemm's broadcast attribute belongs to opset 6 and older (the first exporters' models): the
    converter turns it into opset 11's broadcasting Gemm."""
    b = rng.standard_normal((3, 4)).astype(np.float32)
    c = rng.standard_normal(4).astype(np.float32)
    model = make_model([N("Gemm", ["a", "b", "c"], ["y"], broadcast=1)], [("a", F, (2, 3))], ["y"],
                       {"b": b, "c": c}, opset=6)
    model.ir_version = 4
    model.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", F, [2, 4]))
    a = rng.standard_normal((2, 3)).astype(np.float32)
    import mlprt.backend  # ONNX Runtime has no Gemm(6) kernel: NumPy is the reference

    (y,) = mlprt.backend.prepare(model).run({"a": a})
    np.testing.assert_allclose(y, a @ b + c, rtol=1e-5, atol=1e-6)


def test_opset_0_is_refused() -> None:
    model = make_model([N("Relu", ["x"], ["y"])], [("x", F, (2, 3))], ["y"], opset=1)
    model.opset_import[0].version = 0
    (error,) = parse_errors(model)
    assert error.code() == ErrorCode.UNSUPPORTED_GRAPH
    assert "opset 0" in error.desc() and "opsets 1 to" in error.desc(), error.desc()


def test_batchnorm_spatial_0_names_the_node() -> None:
    stats = {k: np.full((3, 5), 0.5, np.float32) for k in "sbmv"}
    model = make_model([N("Relu", ["x"], ["r"], name="relu"),
                        N("BatchNormalization", ["r", "s", "b", "m", "v"], ["y"], name="bn", spatial=0)],
                       [("x", F, (2, 3, 5))], ["y"], stats, opset=7)
    (error,) = parse_errors(model)
    assert (error.node(), error.node_name(), error.node_operator()) == (1, "bn", "BatchNormalization")
    assert "spatial=0" in error.desc() and "opset 7" in error.desc(), error.desc()


def test_operator_missing_from_the_old_opset_names_node_and_opset() -> None:
    model = make_model([N("Relu", ["x"], ["r"]), N("Gelu", ["r"], ["y"], name="gelu")], [("x", F, (2, 3))],
                       ["y"], opset=9)
    (error,) = parse_errors(model)
    assert (error.node(), error.node_name()) == (1, "gelu")
    assert "Gelu" in error.desc() and "opset 9" in error.desc(), error.desc()


def test_conversion_failure_is_located_at_its_node() -> None:
    """What the parser reports when onnx.version_converter itself fails: the node, the opsets, the
    converter's reason without its C++ assertion text (Scan 8 -> 9 is such a conversion)."""
    model = make_model([N("Relu", ["x"], ["r"], name="relu"), N("Scan", ["r"], ["y"], name="scan")],
                       [("x", F, (2,))], ["y"], opset=8)
    with pytest.raises(Exception) as failure:
        onnx.version_converter.convert_version(model, 11)
    index, proto, reason = _locate_conversion_failure(model, 8, failure.value)
    assert (index, proto.name) == (1, "scan")
    assert reason and "Assertion" not in reason and "/project" not in reason, reason
    # The parser refuses Scan before converting, naming it.
    (error,) = parse_errors(model)
    assert error.node_name() == "scan" and "Scan" in error.desc()


def _old_opset_node_cases() -> List[object]:
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = collect_testcases()
    return [c for c in cases
            if 7 <= next((o.version for o in c.model.opset_import if o.domain in ("", "ai.onnx")), 0) <= 10]


def test_onnx_backend_node_cases_at_old_opsets() -> None:
    """ONNX's own node cases of opsets 7 to 10 (50 in onnx 1.23: And/Or/Xor, Scan, Upsample,
    TfIdfVectorizer, ...): each one whose operators mlprt has must give ONNX's outputs; every other
    one must be refused cleanly, naming the operator."""
    cases = _old_opset_node_cases()
    assert len(cases) >= 40
    parser_probe = OnnxParser(mlprt.INetworkDefinition(), None)
    for case in cases:
        ops = {n.op_type for n in case.model.graph.node}
        network = mlprt.INetworkDefinition()
        parser = OnnxParser(network, None)
        ok = parser.parse(case.model.SerializeToString())
        if all(parser_probe.supports_operator(op) for op in ops):
            errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
            if not ok and all("known at parse time" in e for e in errors):
                # Parameters (Upsample's scales) given as graph inputs: mlprt.backend builds their
                # values into the engine, as for ONNX's suite.
                rep = mlprt.backend.prepare(case.model)
                for inputs, outputs in case.data_sets:
                    for got, ref in zip(rep.run(inputs), outputs):
                        assert relative_error(np.asarray(got), np.asarray(ref)) <= 1e-5, case.name
                continue
            assert ok, (case.name, errors)
            for inputs, outputs in case.data_sets:
                got = evaluate(network, {i.name: v for i, v in zip(case.model.graph.input, inputs)})
                for out, ref in zip(case.model.graph.output, outputs):
                    assert relative_error(got[out.name], np.asarray(ref)) <= 1e-5, case.name
        else:
            assert not ok, case.name
            errors = [parser.get_error(i) for i in range(parser.num_errors)]
            assert all(e.code() in (ErrorCode.UNSUPPORTED_NODE, ErrorCode.UNSUPPORTED_NODE_DATATYPE)
                       for e in errors), (case.name, [str(e) for e in errors])
            assert any(e.node_operator() in ops and e.node_operator() in e.desc() for e in errors), \
                (case.name, [str(e) for e in errors])
