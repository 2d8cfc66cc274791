"""The parser on the zoo: each model exported by both PyTorch exporters, static and dynamic batch,
parsed, evaluated with NumPy (network_reference) and compared with ONNX Runtime."""
from __future__ import annotations

import numpy as np
import onnx
import pytest

import mlprt
from mlprt.onnx_parser import OnnxParser
from network_reference import evaluate
from test_onnx_parser_helpers import RecordingLogger, layers, onnxruntime_outputs, relative_error
from zoo import EXPORTERS, STATIC_BATCH, ZOO, zoo_exports  # noqa: F401  (zoo_exports: fixture)

DYNAMIC_BATCHES = (1, 7, 64)


def _parse_file(path: object) -> object:
    network = mlprt.INetworkDefinition()
    parser = OnnxParser(network, RecordingLogger())
    ok = parser.parse_from_file(str(path))
    assert ok, "\n".join(str(parser.get_error(i)) for i in range(parser.num_errors))
    return network


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_model_matches_onnxruntime(zoo_exports: object, name: str, exporter: str, dynamic: bool) -> None:
    path = zoo_exports.get(name, exporter, dynamic)
    network = _parse_file(path)
    spec = ZOO[name]
    assert [network.get_input(i).name for i in range(network.num_inputs)] == [n for n, _ in spec.inputs]
    assert [network.get_output(i).name for i in range(network.num_outputs)] == list(spec.outputs)
    for i, (_, shape) in enumerate(spec.inputs):
        batch = -1 if dynamic else STATIC_BATCH
        assert network.get_input(i).shape == (batch,) + shape
        assert network.get_input(i).dtype == mlprt.DataType.FLOAT
    for i in range(network.num_outputs):
        assert network.get_output(i).shape[0] == (-1 if dynamic else STATIC_BATCH)
    model_bytes = path.read_bytes()
    for batch in (DYNAMIC_BATCHES if dynamic else (STATIC_BATCH,)):
        feeds = spec.example_inputs(batch, seed=batch)
        got = evaluate(network, feeds)
        ref = onnxruntime_outputs(model_bytes, feeds)
        for out in spec.outputs:
            assert got[out].shape == ref[out].shape
            err = relative_error(got[out], ref[out])
            assert err <= 1e-5, f"{name} {exporter} batch {batch} output {out}: relative error {err:.3g}"


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("name", ["flatten_mlp", "view_flatten_mlp"])
def test_zoo_dynamic_flatten_is_one_shuffle(zoo_exports: object, name: str, exporter: str) -> None:
    """The Shape/Gather/Unsqueeze/Concat chain (or Flatten) folds into one reshape to [0, 784]
    or [-1, 784]: no layer computes shapes at run time."""
    network = _parse_file(zoo_exports.get(name, exporter, True))
    shuffles = [l for l in layers(network) if isinstance(l, mlprt.IShuffleLayer)]
    assert len(shuffles) == 1
    assert shuffles[0].reshape_dims in ([0, 784], [-1, 784])
    assert shuffles[0].get_input(0).is_network_input
    assert shuffles[0].get_output(0).shape == (-1, 784)
    kinds = {type(l).__name__ for l in layers(network)}
    assert kinds <= {"IShuffleLayer", "IConstantLayer", "IMatrixMultiplyLayer", "IElementWiseLayer",
                     "IActivationLayer"}


def test_zoo_legacy_view_export_uses_a_shape_chain(zoo_exports: object) -> None:
    """Guards the previous test's premise: the legacy exporter emits Shape -> Gather -> ... ."""
    model = onnx.load(str(zoo_exports.get("view_flatten_mlp", "legacy", True)))
    ops = [n.op_type for n in model.graph.node]
    assert "Shape" in ops and "Gather" in ops and "Reshape" in ops


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_zoo_batchnorm_becomes_scale_and_shift(zoo_exports: object, exporter: str) -> None:
    network = _parse_file(zoo_exports.get("mlp_batchnorm", exporter, False))
    ops = [l.op for l in layers(network) if isinstance(l, mlprt.IElementWiseLayer)]
    assert all(op in (mlprt.ElementWiseOperation.SUM, mlprt.ElementWiseOperation.PROD) for op in ops)
    assert not any(isinstance(l, mlprt.INormalizationLayer) for l in layers(network))


def test_zoo_layer_names_come_from_nodes(zoo_exports: object) -> None:
    path = zoo_exports.get("simple_mlp", "legacy", False)
    network = _parse_file(path)
    node_names = {n.name for n in onnx.load(str(path)).graph.node}
    names = [l.name for l in layers(network)]
    assert any(n in node_names for n in names)
    assert all(any(n == m or n.startswith(m + "/") for m in node_names) for n in names), names
    assert np.all(np.isfinite(evaluate(network, ZOO["simple_mlp"].example_inputs(STATIC_BATCH))["output"]))
