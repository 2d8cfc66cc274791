"""External data given as bytes without a path: ``parser.parse(f.read())`` of a model that torch
2.13's default (dynamo) exporter wrote as ``model.onnx`` + ``model.onnx.data`` reads the weights
from the working directory, as the tutorials expect; hostile or missing locations are refused
with errors that name the tensor and the file."""
from __future__ import annotations

from pathlib import Path
from typing import List

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

import mlprt
from engine_helpers import RecordingLogger, infer, load, relative_error
from mlprt.engine_tools import create_config
from mlprt.onnx_parser import ErrorCode, OnnxParser
from test_onnx_parser_helpers import F, make_model, onnxruntime_outputs

N = helper.make_node


class _MLP(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(37, 53)
        self.relu = torch.nn.ReLU()
        self.fc2 = torch.nn.Linear(53, 11)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.relu(self.fc1(x)))


def _export(name: str, dynamic: bool) -> None:
    """The tutorial's export call, with torch's defaults (no dynamo= argument)."""
    torch.manual_seed(7)
    model = _MLP().eval()
    x = torch.randn(3, 37)
    kwargs = {"dynamic_axes": {"input": {0: "batch"}, "output": {0: "batch"}}} if dynamic else {}
    torch.onnx.export(model, x, name, input_names=["input"], output_names=["output"], **kwargs)


def _infos(logger: RecordingLogger) -> List[str]:
    return [m for s, m in logger.messages if s == mlprt.Logger.INFO]


def _build_from_bytes(data: bytes, logger: RecordingLogger, profiles=(), fp16: bool = False) -> mlprt.ICudaEngine:
    """The tutorial's build script: parse(f.read()) with no path, then build."""
    builder = mlprt.Builder(logger)
    network = builder.create_network(1 << int(mlprt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = OnnxParser(network, logger)
    assert parser.parse(data), [str(parser.get_error(i)) for i in range(parser.num_errors)]
    plan = builder.build_serialized_network(network, create_config(builder, fp16=fp16, profiles=profiles))
    assert plan is not None, logger.errors()
    return load(plan)


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
def test_dynamo_export_parsed_from_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         rng: np.random.Generator, dynamic: bool) -> None:
    monkeypatch.chdir(tmp_path)
    _export("model.onnx", dynamic)
    assert (tmp_path / "model.onnx.data").is_file()  # torch 2.13's exporter keeps the weights outside
    stored = onnx.load("model.onnx", load_external_data=False)
    assert any(t.data_location == TensorProto.EXTERNAL for t in stored.graph.initializer)
    with open("model.onnx", "rb") as f:
        data = f.read()
    logger = RecordingLogger()
    profiles = [{"input": ((1, 37), (4, 37), (8, 37))}] if dynamic else []
    engine = _build_from_bytes(data, logger, profiles)
    infos = [m for m in _infos(logger) if "external data" in m]
    assert len(infos) == 1, _infos(logger)
    assert str(tmp_path / "model.onnx.data") in infos[0] and "working directory" in infos[0], infos[0]
    context = engine.create_execution_context()
    for batch in ([3, 1, 8] if dynamic else [3]):
        x = rng.standard_normal((batch, 37)).astype(np.float32)
        got = infer(context, {"input": x})["output"]
        ref = onnxruntime_outputs(str(tmp_path / "model.onnx"), {"input": x})["output"]
        assert relative_error(got, ref) <= 1e-5, (batch, relative_error(got, ref))


def test_dynamo_export_from_another_directory_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bytes without a path, parsed away from the model's folder: the error names the tensor, the
    file looked for and what to do; with the path (or from the file) it parses."""
    (tmp_path / "export").mkdir()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "export")
    _export("model.onnx", dynamic=False)
    data = Path("model.onnx").read_bytes()
    monkeypatch.chdir(tmp_path / "elsewhere")
    parser = OnnxParser(mlprt.INetworkDefinition(), RecordingLogger())
    assert not parser.parse(data)
    error = parser.get_error(0)
    desc = error.desc()
    assert error.code() == ErrorCode.INVALID_VALUE
    assert "tensor 'fc1.weight'" in desc and "'model.onnx.data'" in desc, desc
    assert str(tmp_path / "elsewhere" / "model.onnx.data") in desc and "parse_from_file" in desc, desc
    assert OnnxParser(mlprt.INetworkDefinition(), None).parse(data, str(tmp_path / "export" / "model.onnx"))
    assert OnnxParser(mlprt.INetworkDefinition(), None).parse_from_file(str(tmp_path / "export" / "model.onnx"))


def _external_model(location: str, w: np.ndarray) -> onnx.ModelProto:
    model = make_model([N("Add", ["x", "w"], ["y"], name="add")], [("x", F, (2, 5))], ["y"], {"w": w})
    weights = model.graph.initializer[0]
    weights.ClearField("raw_data")
    weights.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(w.nbytes))):
        entry = weights.external_data.add()
        entry.key, entry.value = key, value
    return model


def test_hand_written_external_data_in_a_subfolder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   rng: np.random.Generator) -> None:
    """A location with a subfolder, relative to the working directory; values as ONNX Runtime."""
    w = rng.standard_normal((2, 5)).astype(np.float32)
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "w.bin").write_bytes(w.tobytes())
    model = _external_model("weights/w.bin", w)
    monkeypatch.chdir(tmp_path)
    logger = RecordingLogger()
    engine = _build_from_bytes(model.SerializeToString(), logger)
    assert any(str(tmp_path / "weights" / "w.bin") in m for m in _infos(logger)), _infos(logger)
    x = rng.standard_normal((2, 5)).astype(np.float32)
    got = infer(engine.create_execution_context(), {"x": x})["y"]
    onnx.save_model(model, str(tmp_path / "m.onnx"))
    ref = onnxruntime_outputs(str(tmp_path / "m.onnx"), {"x": x})["y"]
    assert relative_error(got, ref) <= 1e-5


@pytest.mark.parametrize("location,why", [
    ("../outside.bin", "'..'"),
    ("sub/../../outside.bin", "'..'"),
    ("/etc/hostname", "absolute"),
    ("C:/weights.bin", "absolute"),
    ("", "empty"),
])
def test_hostile_locations_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, location: str,
                                       why: str) -> None:
    w = np.arange(1, 11, dtype=np.float32).reshape(2, 5)
    (tmp_path / "outside.bin").write_bytes(w.tobytes())  # exists: refused for where it is, not for absence
    (tmp_path / "cwd" / "sub").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "cwd")
    data = _external_model(location, w).SerializeToString()
    for path in (None, str(tmp_path / "cwd" / "m.onnx")):
        parser = OnnxParser(mlprt.INetworkDefinition(), RecordingLogger())
        assert not parser.parse(data, path)
        error = parser.get_error(0)
        assert error.code() == ErrorCode.INVALID_VALUE, str(error)
        assert "tensor 'w'" in error.desc() and why in error.desc() and f"'{location}'" in error.desc(), error.desc()


def test_location_that_is_not_utf8_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """protobuf hands an invalid UTF-8 string field to Python as bytes (a fuzzer's finding: it was an
    internal error); the parser names the tensor and never uses the bytes as a path."""
    w = np.arange(1, 11, dtype=np.float32).reshape(2, 5)
    monkeypatch.chdir(tmp_path)
    data = _external_model("w_ights.bin", w).SerializeToString()
    assert data.count(b"w_ights.bin") == 1
    data = data.replace(b"w_ights.bin", b"w\x80ights.bin")  # same length: the message stays well formed
    for path in (None, str(tmp_path / "m.onnx")):
        parser = OnnxParser(mlprt.INetworkDefinition(), RecordingLogger())
        assert not parser.parse(data, path)
        error = parser.get_error(0)
        assert error.code() == ErrorCode.INVALID_VALUE, str(error)
        assert "tensor 'w'" in error.desc() and "not valid UTF-8" in error.desc(), error.desc()
        assert "'w\\x80ights.bin'" in error.desc(), error.desc()


def test_truncated_external_file_names_the_tensor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = np.arange(1, 11, dtype=np.float32).reshape(2, 5)
    (tmp_path / "w.bin").write_bytes(w.tobytes()[:12])
    monkeypatch.chdir(tmp_path)
    parser = OnnxParser(mlprt.INetworkDefinition(), RecordingLogger())
    assert not parser.parse(_external_model("w.bin", w).SerializeToString())
    error = parser.get_error(0)
    assert error.code() == ErrorCode.INVALID_VALUE and "tensor 'w'" in error.desc() and "w.bin" in error.desc()
