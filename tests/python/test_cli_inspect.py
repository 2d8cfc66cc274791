"""``mlprt inspect`` on engines and ONNX models, and the IEngineInspector binding behind it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

import onnx
import pytest
from onnx import TensorProto, helper

import mlprt
from mlprt._core import LayerInformationFormat
from mlprt.onnx_parser import supported_operators
from zoo import zoo_exports  # noqa: F401  (fixture)

PROFILE = ("--minShapes", "input:1x784", "--optShapes", "input:4x784", "--maxShapes", "input:8x784")


def run_mlprt(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlprt", *args], capture_output=True, text=True,
                          env=dict(os.environ), timeout=600)


@pytest.fixture(scope="module")
def mlp_engine(zoo_exports, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """simple_mlp (784 -> 32 -> ReLU -> 10), dynamic batch, built by mlprt exec."""
    path = tmp_path_factory.mktemp("inspect") / "mlp.engine"
    result = run_mlprt("exec", "--onnx", str(zoo_exports.get("simple_mlp", "legacy", True)), *PROFILE,
                       "--saveEngine", str(path), "--skipInference")
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture(scope="module")
def engine_json(mlp_engine: Path) -> Dict[str, object]:
    result = run_mlprt("inspect", str(mlp_engine), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def gemm_layers(info: Dict[str, object]) -> list:
    return [layer for layer in info["Layers"] if layer["LayerType"] == "MatrixMultiply"]


def test_engine_json_header_and_io(engine_json: Dict[str, object]) -> None:
    assert engine_json["Format"] == "mlprt engine"
    assert engine_json["MlprtVersion"] == mlprt.__version__
    assert engine_json["Device"]["Name"] == mlprt.current_device().name
    assert engine_json["FP16"] is False and engine_json["NumProfiles"] == 1
    # 784*32 + 32 + 32*10 + 10 float weights at least.
    assert engine_json["WeightBytes"] >= 4 * (784 * 32 + 32 + 32 * 10 + 10)
    # A FusedMLP step keeps its hidden activations on chip: no arena then.
    fused = any(layer["LayerType"] == "FusedMLP" for layer in engine_json["Layers"])
    assert engine_json["ActivationBytes"] > 0 or fused
    bindings = {b["Name"]: b for b in engine_json["Bindings"]}
    assert bindings["input"]["Mode"] == "INPUT" and bindings["output"]["Mode"] == "OUTPUT"
    assert bindings["input"]["DataType"] == bindings["output"]["DataType"]
    assert bindings["input"]["Dimensions"] == [-1, 784]
    assert bindings["input"]["Profiles"] == [{"Min": [1, 784], "Opt": [4, 784], "Max": [8, 784]}]
    assert "Profiles" not in bindings["output"]


def test_engine_json_layers_show_fusion_and_tactics(engine_json: Dict[str, object]) -> None:
    for layer in engine_json["Layers"]:
        assert layer["FusedLayers"] == layer["Name"].split(" + ")
    if [layer["LayerType"] for layer in engine_json["Layers"]] == ["FusedMLP"]:
        # The builder made the whole MLP one step, both layers in it: one fused kernel, or (where the
        # timing at opt favoured them, as on a loaded CPU) the two products one after the other.
        (mlp,) = engine_json["Layers"]
        tactic = mlp["TacticName"]
        if not tactic.startswith("fused_mlp_r"):
            prefix, _, products = tactic.partition(":")
            assert prefix in ("layers_kxn", "layers_nxk"), tactic
            assert len(products.split("|")) == 2 and all(products.split("|")), tactic
        assert mlp["Epilogue"] == "784x32 bias + RELU | 32x10 bias"
        assert mlp["WeightBytes"] >= 4 * (784 * 32 + 32 + 32 * 10 + 10)
        assert mlp["Outputs"][0]["Dimensions"] == [-1, 10]
        return
    gemms = gemm_layers(engine_json)
    assert len(gemms) == 2
    # The first GEMM carries the bias and the ReLU: several network layers in one step.
    first = gemms[0]
    assert len(first["FusedLayers"]) > 1 and "RELU" in first["Epilogue"]
    assert all(layer["TacticName"] for layer in gemms)
    assert first["WeightBytes"] >= 4 * (784 * 32 + 32)
    assert first["Outputs"][0]["Dimensions"] == [-1, 32]


def test_engine_text(mlp_engine: Path, engine_json: Dict[str, object]) -> None:
    result = run_mlprt("inspect", str(mlp_engine))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"built by mlprt {mlprt.__version__}" in out
    assert mlprt.current_device().name in out
    assert "input: " in out and "profile 0: min (1, 784) opt (4, 784) max (8, 784)" in out
    assert f"activation arena: {engine_json['ActivationBytes']} B" in out
    for layer in gemm_layers(engine_json):
        assert layer["Name"] in out and f"tactic {layer['TacticName']}" in out
    assert f"layers ({len(engine_json['Layers'])}):" in out


def test_inspector_binding(mlp_engine: Path) -> None:
    engine = mlprt.Runtime(mlprt.Logger()).deserialize_cuda_engine(mlp_engine.read_bytes())
    inspector = engine.create_engine_inspector()
    assert inspector.engine is not None
    for index in range(engine.num_layers):
        line = inspector.get_layer_information(index, LayerInformationFormat.ONELINE)
        layer = json.loads(inspector.get_layer_information(index, LayerInformationFormat.JSON))
        assert line.startswith(layer["Name"] + " [" + layer["LayerType"] + "]")
        if layer["TacticName"]:
            assert f"tactic={layer['TacticName']}" in line
    with pytest.raises(IndexError, match="out of range"):
        inspector.get_layer_information(engine.num_layers, LayerInformationFormat.JSON)
    text = inspector.get_engine_information(LayerInformationFormat.ONELINE)
    assert len(text.splitlines()) == 2 + engine.num_layers


def unsupported_model(path: Path) -> str:
    """A model with a Relu and an operator mlprt cannot import; returns that operator."""
    op = next(o for o in ("Det", "STFT", "Unique", "NonMaxSuppression") if o not in supported_operators())
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["r"]), helper.make_node(op, ["r"], ["y"])],
                              "unsupported", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return op


def test_onnx_model_lists_unsupported_ops(tmp_path: Path) -> None:
    path = tmp_path / "odd.onnx"
    op = unsupported_model(path)
    result = run_mlprt("inspect", str(path))
    assert result.returncode == 0, result.stderr
    assert f"unsupported operators: {op}" in result.stdout
    assert "x: FLOAT (batch, 3, 3)" in result.stdout and "ai.onnx 17" in result.stdout
    result = run_mlprt("inspect", str(path), "--json")
    report = json.loads(result.stdout)
    assert report["unsupported_operators"] == [op]
    assert report["operators"] == {"Relu": 1, op: 1}
    assert report["inputs"] == [{"name": "x", "dtype": "FLOAT", "shape": ["batch", 3, 3]}]
    assert report["opsets"] == {"ai.onnx": 17}


def test_onnx_zoo_model_is_supported(zoo_exports) -> None:  # noqa: F811
    result = run_mlprt("inspect", str(zoo_exports.get("simple_mlp", "legacy", True)), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["unsupported_operators"] == []
    assert report["inputs"][0]["name"] == "input" and report["inputs"][0]["shape"][1] == 784
    assert isinstance(report["inputs"][0]["shape"][0], str)  # the dynamic batch
    assert sum(report["operators"].values()) == report["nodes"] > 0


def test_inspect_errors(tmp_path: Path) -> None:
    missing = run_mlprt("inspect", str(tmp_path / "absent.engine"))
    assert missing.returncode != 0 and "absent.engine" in missing.stderr
    junk = tmp_path / "junk.engine"
    junk.write_bytes(b"MLPRTENG but truncated")
    bad = run_mlprt("inspect", str(junk))
    assert bad.returncode != 0 and "mlprt inspect:" in bad.stderr
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\xff\xfe not protobuf")
    bad = run_mlprt("inspect", str(broken))
    assert bad.returncode != 0 and "broken.onnx" in bad.stderr
    for result in (missing, bad):
        assert "Traceback" not in result.stderr


def test_tactic_ranges_of_a_dynamic_product(tmp_path: Path) -> None:
    """A product timed across a wide profile (batch 1 to 2048 rows of 128 x 64): the row kernels
    win at batch 1 by far and lose by far at 2048, so the step keeps tactic ranges; the inspector
    shows them (JSON, one line, ``mlprt inspect``) and the engine is right at both ends."""
    import numpy as np
    from engine_helpers import build, infer, load

    rng = np.random.default_rng(5)
    weights = rng.standard_normal((128, 64)).astype(np.float32)

    def populate(network: mlprt.INetworkDefinition) -> None:
        x = network.add_input("x", mlprt.DataType.FLOAT, (-1, 1, 128))  # rank 3: no fused MLP
        w = network.add_constant((128, 64), weights).get_output(0)
        y = network.add_matrix_multiply(x, mlprt.MatrixOperation.NONE, w, mlprt.MatrixOperation.NONE).get_output(0)
        y.name = "y"
        network.mark_output(y)

    plan = build(populate, [{"x": ((1, 1, 128), (256, 1, 128), (2048, 1, 128))}])
    engine = load(plan)
    inspector = engine.create_engine_inspector()
    layers = [json.loads(inspector.get_layer_information(i, LayerInformationFormat.JSON)) for i in range(engine.num_layers)]
    product = next(layer for layer in layers if layer["LayerType"] == "MatrixMultiply")
    ranges = product["TacticRanges"]
    assert len(ranges) >= 2, product
    assert ranges[-1]["UpToOutputElements"] is None
    bounds = [r["UpToOutputElements"] for r in ranges[:-1]]
    assert bounds == sorted(bounds) and bounds[0] >= 64, ranges
    assert all(r["Tactic"] for r in ranges)
    assert all(layer["TacticRanges"] == [] for layer in layers if layer is not product)
    index = layers.index(product)
    line = inspector.get_layer_information(index, LayerInformationFormat.ONELINE)
    assert f"tactics-by-output-elements=[{ranges[0]['Tactic']} up to {bounds[0]}" in line, line
    path = tmp_path / "ranges.engine"
    path.write_bytes(bytes(plan))
    shown = run_mlprt("inspect", str(path))
    assert shown.returncode == 0, shown.stderr
    assert f"by output elements: {ranges[0]['Tactic']} up to {bounds[0]}" in shown.stdout, shown.stdout
    context = engine.create_execution_context()
    for batch in (1, 2048, 3):
        x = rng.standard_normal((batch, 1, 128)).astype(np.float32)
        out = infer(context, {"x": x})["y"]
        expected = x.astype(np.float64) @ weights
        assert np.max(np.abs(out - expected)) <= 1e-4 * np.max(np.abs(expected)), batch
