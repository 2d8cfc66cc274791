"""The tutorials' convolutional networks end to end (vision_zoo.py): exported from PyTorch with
random weights by the TorchScript exporter, built into engines through TensorRT's API, `mlprt
exec` and `mlprt.Session`, and compared with ONNX Runtime and PyTorch: FP32 within 1e-4 relative
error, FP16 within 1e-2. Small spatial sizes keep PoCL's runs short; the architectures are whole."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Dict

import numpy as np
import onnxruntime
import pytest

import mlprt
from engine_helpers import RecordingLogger, check_detections, infer, load, relative_error
from mlprt.engine_tools import build_engine
from vision_zoo import MODELS, VisionModel


def _onnxruntime(data: bytes, x: np.ndarray) -> Dict[str, np.ndarray]:
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    return {o.name: value for o, value in zip(session.get_outputs(), session.run(None, {"x": x}))}


def _check(model: VisionModel, got: Dict[str, np.ndarray], x: np.ndarray, data: bytes, bound: float) -> None:
    references = {"onnxruntime": _onnxruntime(data, x), "pytorch": model.torch_outputs(x)}
    for reference, outputs in references.items():
        for name in model.outputs:
            assert got[name].shape == outputs[name].shape, (name, reference)
            if model.detections:
                check_detections(got[name], outputs[name], bound, reference)
                continue
            error = relative_error(got[name], outputs[name])
            assert error <= bound, f"{model.name} output {name}: relative error {error:.3g} against {reference}"


def test_detections_match_as_sets_and_swap_only_at_topk_cut() -> None:
    """check_detections: rows match in any order; a row without counterpart passes only where it and
    an unmatched reference row are both at TopK's cut (the reference's lowest kept score)."""
    expected = np.array([[[0, 0, 10, 10, 0.9, 1], [5, 5, 20, 20, 0.8, 2], [1, 1, 9, 9, 0.5, 3],
                          [2, 2, 8, 8, 0.5, 3]]], np.float32)
    check_detections(expected[:, ::-1].copy(), expected, 1e-4, "r")  # another order
    swapped = expected.copy()
    swapped[0, 3, :4] = [30, 30, 40, 40]  # another anchor of the cut's score
    check_detections(swapped, expected, 1e-4, "r")
    away = expected.copy()
    away[0, 1, :4] = [30, 30, 40, 40]  # a row above the cut with another box
    with pytest.raises(AssertionError, match="nor is it at TopK's cut, score 0.5"):
        check_detections(away, expected, 1e-4, "r")
    other_class = expected.copy()
    other_class[0, 0, 5] = 7
    with pytest.raises(AssertionError, match="no counterpart"):
        check_detections(other_class, expected, 1e-4, "r")
    twice = expected.copy()  # two rows at the cut but the reference has one spare only
    twice[0, 2, :4] = [30, 30, 40, 40]
    twice[0, 3, :4] = [50, 50, 60, 60]
    check_detections(twice, expected, 1e-4, "r")  # both of the reference's cut rows are unmatched
    twice[0, 1, :4] = [70, 70, 80, 80]
    twice[0, 1, 4] = 0.5  # a third row claiming the cut; scores no longer sort alike
    with pytest.raises(AssertionError):
        check_detections(twice, expected, 1e-4, "r")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_matches_onnxruntime_and_pytorch(name: str, tmp_path: Path) -> None:
    model = MODELS[name]
    data = model.export(opset=17)
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(data)
    engine = load(build_engine(str(path), logger=RecordingLogger()))
    x = np.random.default_rng(1).standard_normal(model.input_shape).astype(np.float32)
    _check(model, infer(engine.create_execution_context(), {"x": x}), x, data, 1e-4)


@pytest.mark.parametrize("name", ["resnet18", "super_resolution", "unet", "yolov8n"])
def test_model_in_fp16(name: str, tmp_path: Path) -> None:
    model = MODELS[name]
    data = model.export(opset=17)
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(data)
    engine = load(build_engine(str(path), fp16=True, logger=RecordingLogger()))
    x = np.random.default_rng(2).standard_normal(model.input_shape).astype(np.float32)
    _check(model, infer(engine.create_execution_context(), {"x": x}), x, data, 1e-2)


@pytest.mark.parametrize("name", ["super_resolution", "mobilenet_v2", "yolov8n"])
def test_dynamo_exports_match(name: str, tmp_path: Path) -> None:
    """torch.onnx.export's default exporter since PyTorch 2.9 (torch.export, opset 18)."""
    model = MODELS[name]
    data = model.export(dynamo=True)
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(data)
    engine = load(build_engine(str(path), logger=RecordingLogger()))
    x = np.random.default_rng(6).standard_normal(model.input_shape).astype(np.float32)
    _check(model, infer(engine.create_execution_context(), {"x": x}), x, data, 1e-4)


@pytest.mark.parametrize("opset", [10, 11, 13])
def test_super_resolution_tutorial_opsets(opset: int, tmp_path: Path) -> None:
    """The super-resolution tutorial exports at opset 10 (converted on import) and later ones."""
    model = MODELS["super_resolution"]
    data = model.export(opset=opset)
    path = tmp_path / "super_resolution.onnx"
    path.write_bytes(data)
    engine = load(build_engine(str(path), logger=RecordingLogger()))
    x = np.random.default_rng(opset).standard_normal(model.input_shape).astype(np.float32)
    _check(model, infer(engine.create_execution_context(), {"x": x}), x, data, 1e-4)


def test_embedding_net_with_dynamic_batch(tmp_path: Path) -> None:
    """The embedding network at a dynamic batch, one engine run at batch 1 and a prime batch."""
    model = MODELS["embedding_resnet18"]
    data = model.export(opset=17, dynamic_batch=True, batch=2)
    path = tmp_path / "embedding.onnx"
    path.write_bytes(data)
    shape = model.input_shape[1:]
    plan = build_engine(str(path), profiles=[{"x": ((1,) + shape, (2,) + shape, (5,) + shape)}],
                        logger=RecordingLogger())
    context = load(plan).create_execution_context()
    for batch in (1, 5, 3):
        x = np.random.default_rng(batch).standard_normal((batch,) + shape).astype(np.float32)
        got = infer(context, {"x": x})
        _check(model, got, x, data, 1e-4)
        np.testing.assert_allclose(np.linalg.norm(got["y"], axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name", ["mobilenet_v2", "yolov8n"])
def test_mlprt_exec_builds_a_dynamic_cnn_engine(name: str, tmp_path: Path) -> None:
    """trtexec's flags on a CNN: --onnx, --saveEngine and --minShapes/--optShapes/--maxShapes (the
    YOLO tutorials build their detectors this way)."""
    model = MODELS[name]
    data = model.export(opset=17, dynamic_batch=True, batch=2)
    onnx_path, engine_path = tmp_path / f"{name}.onnx", tmp_path / f"{name}.engine"
    onnx_path.write_bytes(data)
    result = subprocess.run([sys.executable, "-m", "mlprt", "exec", f"--onnx={onnx_path}",
                             f"--saveEngine={engine_path}", "--minShapes=x:1x3x64x64", "--optShapes=x:2x3x64x64",
                             "--maxShapes=x:4x3x64x64", "--iterations=2"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    context = load(engine_path.read_bytes()).create_execution_context()
    for batch in (3, 1):
        x = np.random.default_rng(batch).standard_normal((batch, 3, 64, 64)).astype(np.float32)
        _check(model, infer(context, {"x": x}), x, data, 1e-4)


def test_session_runs_a_cnn(tmp_path: Path) -> None:
    model = MODELS["superpoint"]
    path = tmp_path / "superpoint.onnx"
    data = model.export(opset=17)
    path.write_bytes(data)
    session = mlprt.Session(str(path), use_cache=False)
    x = np.random.default_rng(5).standard_normal(model.input_shape).astype(np.float32)
    got = dict(zip(model.outputs, session.run(None, {"x": x})))
    _check(model, got, x, data, 1e-4)


def test_reshape_copies_a_batch_taken_from_another_tensor(tmp_path: Path) -> None:
    """Exporters build reshape targets from the shape of an earlier tensor ([x.shape[0], -1, 4]
    after a convolution and a transpose, as detection heads do): the parser knows the batch
    survives convolutions, transposes and slices, so the reshape is expressible at any batch."""
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(8)
    inits = [numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w"),
             numpy_helper.from_array(np.array([0], np.int64), "zero"),
             numpy_helper.from_array(np.array([-1, 4], np.int64), "rest"),
             numpy_helper.from_array(np.array([1], np.int64), "one"),
             numpy_helper.from_array(np.array([5], np.int64), "five"),
             numpy_helper.from_array(np.array([2], np.int64), "axis2")]
    n = helper.make_node
    nodes = [n("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             n("Slice", ["c", "one", "five", "axis2"], ["s"]),  # rows 1..4: the batch stays
             n("Transpose", ["s"], ["t"], perm=[0, 2, 3, 1]),
             n("Shape", ["x"], ["shape"]),
             n("Gather", ["shape", "zero"], ["batch"], axis=0),
             n("Concat", ["batch", "rest"], ["target"], axis=0),
             n("Reshape", ["t", "target"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    path = tmp_path / "reshape.onnx"
    path.write_bytes(model.SerializeToString())
    plan = build_engine(str(path), profiles=[{"x": ((1, 3, 6, 6), (2, 3, 6, 6), (4, 3, 6, 6))}], logger=RecordingLogger())
    engine = load(plan)
    assert tuple(engine.get_tensor_shape("y")) == (-1, 24, 4)
    context = engine.create_execution_context()
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for batch in (3, 1):
        x = rng.standard_normal((batch, 3, 6, 6)).astype(np.float32)
        got = infer(context, {"x": x})["y"]
        expected = session.run(None, {"x": x})[0]
        assert got.shape == expected.shape == (batch, 24, 4)
        assert relative_error(got, expected) <= 1e-5
