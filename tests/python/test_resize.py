"""Resize through the ONNX parser and the resize layer, against ONNX Runtime at awkward shapes
(ONNX's conformance cases check it against onnx's own expected outputs too; onnx.reference
computes coordinates in float64 and rounds 3 / 0.6f to 4 where ONNX Runtime, in float, gets 5): every interpolation, coordinate transformation
and nearest rounding the importer takes, scales and sizes, FP16, a dynamic batch, and
add_resize through the network API."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
import onnxruntime

import mlprt
from engine_helpers import RecordingLogger, build, infer, load, relative_error
from mlprt.engine_tools import build_engine


def _onnxruntime(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def _model(x_shape, attributes, scales=None, sizes=None, dynamic_batch=False):
    inputs = ["x", "", "scales" if scales is not None else "", "sizes" if sizes is not None else ""]
    while inputs[-1] == "":
        inputs.pop()
    node = helper.make_node("Resize", inputs, ["y"], **attributes)
    initializers = []
    if scales is not None:
        initializers.append(helper.make_tensor("scales", TensorProto.FLOAT, [len(scales)], scales))
    if sizes is not None:
        initializers.append(helper.make_tensor("sizes", TensorProto.INT64, [len(sizes)], sizes))
    shape = ["n"] + list(x_shape[1:]) if dynamic_batch else list(x_shape)
    graph = helper.make_graph([node], "resize", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializers)
    # IR version 10: ONNX Runtime 1.30 (the GPU machine's) reads no newer one.
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)], ir_version=10)


CASES = [
    pytest.param((1, 2, 5, 7), {"mode": "nearest"}, [1, 1, 2.0, 3.0], None, id="nearest-half-pixel-upsample"),
    pytest.param((2, 3, 7, 5), {"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
                                "nearest_mode": "floor"}, [1, 1, 0.6, 1.7], None, id="nearest-asymmetric-floor"),
    pytest.param((1, 1, 5, 6), {"mode": "nearest", "coordinate_transformation_mode": "align_corners",
                                "nearest_mode": "ceil"}, None, [1, 1, 9, 4], id="nearest-align-corners-ceil-sizes"),
    pytest.param((1, 2, 6, 5), {"mode": "nearest", "nearest_mode": "round_prefer_ceil"}, [1, 1, 1.5, 2.5], None,
                 id="nearest-round-prefer-ceil"),
    pytest.param((2, 3, 5, 7), {"mode": "linear"}, [1, 1, 2.0, 2.0], None, id="bilinear-half-pixel"),
    pytest.param((1, 2, 7, 5), {"mode": "linear", "coordinate_transformation_mode": "align_corners"}, None,
                 [1, 2, 3, 11], id="bilinear-align-corners-sizes"),
    pytest.param((1, 2, 9, 8), {"mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"}, None,
                 [1, 2, 1, 3], id="bilinear-pytorch-half-pixel-single-row"),
    pytest.param((1, 1, 6, 7), {"mode": "cubic"}, [1, 1, 1.7, 0.8], None, id="cubic"),
    pytest.param((1, 2, 5, 5), {"mode": "cubic", "cubic_coeff_a": -0.5, "exclude_outside": 1}, [1, 1, 2.0, 2.0],
                 None, id="cubic-exclude-outside"),
    pytest.param((2, 3, 11), {"mode": "linear", "coordinate_transformation_mode": "asymmetric"}, [1, 1, 2.5], None,
                 id="linear-1d"),
]


@pytest.mark.parametrize("fp16", [False, True], ids=["fp32", "fp16"])
@pytest.mark.parametrize("x_shape,attributes,scales,sizes", CASES)
def test_resize_matches_onnxruntime(x_shape, attributes, scales, sizes, fp16, tmp_path) -> None:
    model = _model(x_shape, attributes, scales, sizes)
    x = np.random.default_rng(sum(x_shape)).standard_normal(x_shape).astype(np.float32)
    expected = _onnxruntime(model, x)
    path = tmp_path / "resize.onnx"
    onnx.save(model, str(path))
    engine = load(build_engine(str(path), fp16=fp16, logger=RecordingLogger()))
    got = infer(engine.create_execution_context(), {"x": x})["y"]
    assert got.shape == expected.shape
    assert relative_error(got, expected) <= (1e-2 if fp16 else 1e-5)  # the quality bar (the H200 rounds to 1.5e-6)


def test_resize_keeps_a_dynamic_batch(tmp_path) -> None:
    model = _model((1, 2, 4, 5), {"mode": "linear"}, [1, 1, 2.0, 1.5], None, dynamic_batch=True)
    path = tmp_path / "resize.onnx"
    onnx.save(model, str(path))
    plan = build_engine(str(path), profiles=[{"x": ((1, 2, 4, 5), (2, 2, 4, 5), (3, 2, 4, 5))}],
                        logger=RecordingLogger())
    context = load(plan).create_execution_context()
    for batch in (3, 1):
        x = np.random.default_rng(batch).standard_normal((batch, 2, 4, 5)).astype(np.float32)
        expected = _onnxruntime(model, x)
        assert relative_error(infer(context, {"x": x})["y"], expected) <= 1e-6


def test_add_resize_through_the_network_api() -> None:
    def populate(network: mlprt.INetworkDefinition) -> None:
        x = network.add_input("x", mlprt.DataType.FLOAT, (1, 1, 2, 3))
        layer = network.add_resize(x)
        layer.shape = (1, 1, 4, 6)
        layer.scales = []
        assert layer.resize_mode == mlprt.InterpolationMode.NEAREST
        assert layer.coordinate_transformation == mlprt.ResizeCoordinateTransformation.ASYMMETRIC
        assert layer.get_output(0).shape == (1, 1, 4, 6)
        layer.get_output(0).name = "y"
        network.mark_output(layer.get_output(0))

    x = np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3)
    got = infer(load(build(populate)).create_execution_context(), {"x": x})["y"]
    np.testing.assert_array_equal(got, x.repeat(2, axis=2).repeat(2, axis=3))


def test_bad_resizes_name_the_node(tmp_path) -> None:
    from mlprt.onnx_parser import OnnxParser
    model = _model((1, 1, 4, 4), {"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize"},
                   [1, 1, 2.0, 2.0], None)
    network = mlprt.Builder(RecordingLogger()).create_network(0)
    parser = OnnxParser(network, RecordingLogger())
    assert not parser.parse(model.SerializeToString())
    assert "tf_crop_and_resize" in parser.get_error(0).desc()
    with pytest.raises(ValueError, match=r"scale -1\.0+ on axis 2 must be positive"):
        x = network.add_input("z", mlprt.DataType.FLOAT, (1, 1, 4, 4))
        network.add_resize(x, scales=[1.0, 1.0, -1.0, 1.0])
