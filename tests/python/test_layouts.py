"""The builder's layout choice (docs/workflow.md, "Layouts"): convolutions may keep their
activations channels-last (TensorRT's TensorFormat.HWC) with reformat steps where layouts meet,
while engine inputs and outputs stay NCHW. MLPRT_CHANNELS_LAST=1 forces every group of
convolutions that can run so (=0 none), so that both layouts are tested whatever the timings on
this device; the outputs match ONNX Runtime either way, and the inspector shows each tensor's
format."""
from __future__ import annotations

import json
from typing import Dict, List, Tuple

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

import mlprt
from engine_helpers import RecordingLogger, infer, load, relative_error
from mlprt.engine_tools import BuildFailed, build_engine

LayerInfo = mlprt.LayerInformationFormat


def _conv(name: str, x: str, out: str, c: int, m: int, k: int, rng: np.random.Generator,
          inits: List[onnx.TensorProto], **attributes) -> onnx.NodeProto:
    groups = attributes.get("group", 1)
    spatial = (k,) if attributes.pop("one_d", False) else (k, k)
    inits.append(numpy_helper.from_array(rng.standard_normal((m, c // groups) + spatial).astype(np.float32) * 0.3,
                                         f"{name}.w"))
    inits.append(numpy_helper.from_array(rng.standard_normal(m).astype(np.float32), f"{name}.b"))
    return helper.make_node("Conv", [x, f"{name}.w", f"{name}.b"], [out], name=name, **attributes)


def _network_2d() -> bytes:
    """conv1 (3 -> 8, 3x3) + ReLU = a; conv2 (8 -> 8, 3x3 in 2 groups) + a + ReLU = b (an
    output); MaxPool(a) -> conv3 (8 -> 11, 1x1, stride 1) -> conv4 (3x3 depthwise) = c (an output);
    odd planes."""
    rng = np.random.default_rng(7)
    inits: List[onnx.TensorProto] = []
    nodes = [
        _conv("conv1", "x", "a0", 3, 8, 3, rng, inits, pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["a0"], ["a"]),
        _conv("conv2", "a", "b0", 8, 8, 3, rng, inits, pads=[1, 1, 1, 1], group=2),
        helper.make_node("Add", ["b0", "a"], ["b1"]),
        helper.make_node("Relu", ["b1"], ["b"]),
        helper.make_node("MaxPool", ["a"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        _conv("conv3", "p", "c0", 8, 11, 1, rng, inits),
        _conv("conv4", "c0", "c", 11, 11, 3, rng, inits, pads=[1, 1, 1, 1], group=11),
    ]
    graph = helper.make_graph(nodes, "layouts", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 9, 13])],
                              [helper.make_tensor_value_info("b", TensorProto.FLOAT, None),
                               helper.make_tensor_value_info("c", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10).SerializeToString()


def _network_1d() -> bytes:
    """Two 1-D convolutions (stride 2, then dilation 2) with a Sigmoid between: (N, 4, 23)."""
    rng = np.random.default_rng(8)
    inits: List[onnx.TensorProto] = []
    nodes = [
        _conv("conv1", "x", "a0", 4, 6, 3, rng, inits, one_d=True, pads=[1, 1], strides=[2]),
        helper.make_node("Sigmoid", ["a0"], ["a"]),
        _conv("conv2", "a", "y", 6, 5, 3, rng, inits, one_d=True, pads=[2, 2], dilations=[2]),
    ]
    graph = helper.make_graph(nodes, "layouts_1d", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4, 23])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10).SerializeToString()


NETWORKS = {"2d": (_network_2d, (3, 9, 13)), "1d": (_network_1d, (4, 23))}


def _build(name: str, fp16: bool) -> Tuple[mlprt.ICudaEngine, bytes]:
    make, shape = NETWORKS[name]
    data = make()
    plan = build_engine(data, fp16=fp16, profiles=[{"x": ((1,) + shape, (2,) + shape, (4,) + shape)}],
                        logger=RecordingLogger())
    return load(plan), data


def _layers(engine: mlprt.ICudaEngine) -> List[Dict[str, object]]:
    inspector = engine.create_engine_inspector()
    return [json.loads(inspector.get_layer_information(i, LayerInfo.JSON)) for i in range(engine.num_layers)]


def _check_outputs(engine: mlprt.ICudaEngine, name: str, data: bytes, fp16: bool, batches=(3, 1)) -> None:
    """Network `name`'s engine against ONNX Runtime on `data` (its model) at each batch."""
    shape = NETWORKS[name][1]
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    context = engine.create_execution_context()
    for batch in batches:
        x = np.random.default_rng(batch).standard_normal((batch,) + shape).astype(np.float32)
        got = infer(context, {"x": x})
        for output, expected in zip(session.get_outputs(), session.run(None, {"x": x})):
            error = relative_error(got[output.name], expected)
            assert error <= (1e-2 if fp16 else 1e-5), f"output {output.name} at batch {batch}: relative error {error:.3g}"


@pytest.mark.parametrize("fp16", [False, True], ids=["fp32", "fp16"])
@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_forced_channels_last_matches_onnxruntime(name: str, fp16: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPRT_CHANNELS_LAST", "1")
    engine, data = _build(name, fp16)
    layers = _layers(engine)
    convolutions = [layer for layer in layers if layer["LayerType"] == "Convolution"]
    assert convolutions and all(layer["TacticName"].startswith("hwc_") for layer in convolutions), layers
    if name == "2d":  # the depthwise layer on the channels-last depthwise kernel
        assert any(layer["TacticName"] == "hwc_depthwise" for layer in convolutions), convolutions
    for layer in convolutions:
        assert layer["Outputs"][0]["Format"] == "HWC" and layer["Inputs"][0]["Format"] == "HWC", layer
        assert layer["Inputs"][1]["Format"] == "HWC", layer  # the kernel, stored permuted
        assert all(tensor["Format"] == "LINEAR" for tensor in layer["Inputs"][2:3]), layer  # the bias
    reformats = [layer for layer in layers if layer["TacticName"].startswith("reformat_")]
    assert reformats and all(layer["LayerType"] == "Identity" for layer in reformats)
    for layer in reformats:
        to_hwc = layer["TacticName"] == "reformat_to_hwc"
        formats = (layer["Inputs"][0]["Format"], layer["Outputs"][0]["Format"])
        assert formats == (("LINEAR", "HWC") if to_hwc else ("HWC", "LINEAR")), layer
        assert layer["Inputs"][0]["Dimensions"] == layer["Outputs"][0]["Dimensions"]
    bindings = json.loads(engine.create_engine_inspector().get_engine_information(LayerInfo.JSON))["Bindings"]
    assert {binding["Name"] for binding in bindings} >= {"x"}
    # The engine's own tensors stay NCHW: its inputs are read and its outputs written LINEAR.
    for layer in layers:
        for tensor in layer["Inputs"] + layer["Outputs"]:
            if tensor["Role"] in ("INPUT", "OUTPUT"):
                assert tensor["Format"] == "LINEAR", (layer["Name"], tensor)
    text = engine.create_engine_inspector().get_engine_information(LayerInfo.ONELINE)
    assert " HWC\n" in text and "[Identity] tactic=reformat_to_hwc" in text, text
    # FP16 engines' boundary casts convert the layout too: no step only casts next to a reformat.
    casts = [layer for layer in layers if layer["LayerType"] == "Identity" and not layer["TacticName"]]
    if fp16:
        assert not casts, [layer["Name"] for layer in casts]
    _check_outputs(engine, name, data, fp16)


def test_never_keeps_every_tensor_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPRT_CHANNELS_LAST", "0")
    engine, data = _build("2d", False)
    for layer in _layers(engine):
        assert not layer["TacticName"].startswith(("hwc_", "reformat_")), layer
        assert all(tensor["Format"] == "LINEAR" for tensor in layer["Inputs"] + layer["Outputs"]), layer
    _check_outputs(engine, "2d", data, False)


def test_default_keeps_cpu_devices_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the setting, CPU devices keep LINEAR untimed (bench/RESULTS.md, PoCL layouts 1);
    GPUs time the layouts (the test below)."""
    monkeypatch.delenv("MLPRT_CHANNELS_LAST", raising=False)
    engine, data = _build("2d", False)
    formats = {tensor["Format"] for layer in _layers(engine) for tensor in layer["Inputs"] + layer["Outputs"]}
    if mlprt.current_device().type == "CPU":
        assert formats == {"LINEAR"}
    _check_outputs(engine, "2d", data, False)


@pytest.mark.parametrize("setting", ["timed", ""])
def test_timed_choice_is_consistent_and_matches(setting: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The timings decide (``timed`` on any device; the default on GPUs); whatever they chose, each
    group of convolutions is in one layout, reformats stand only where layouts meet, and the
    answers match."""
    monkeypatch.setenv("MLPRT_CHANNELS_LAST", setting)
    engine, data = _build("2d", False)
    layers = _layers(engine)
    by_output = {layer["Outputs"][0]["Name"]: layer for layer in layers}
    for layer in layers:
        for tensor in layer["Inputs"]:
            writer = by_output.get(tensor["Name"])
            if writer is not None:
                assert writer["Outputs"][0]["Format"] == tensor["Format"], (writer["Name"], layer["Name"])
        if layer["TacticName"].startswith("reformat_"):
            source = by_output.get(layer["Inputs"][0]["Name"])
            assert source is None or source["LayerType"] == "Convolution" or layer["TacticName"] == "reformat_to_hwc"
    _check_outputs(engine, "2d", data, False)


def test_an_unknown_setting_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPRT_CHANNELS_LAST", "yes")
    make, shape = NETWORKS["1d"]
    with pytest.raises(BuildFailed, match="MLPRT_CHANNELS_LAST is 'yes'; it takes 0, 1 or timed"):
        build_engine(make(), profiles=[{"x": ((1,) + shape, (2,) + shape, (4,) + shape)}], logger=RecordingLogger())
