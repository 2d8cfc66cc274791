"""DataType, nptype, volume, and the TensorRT-style Logger / ILogger fed by the C++ core."""
from __future__ import annotations

import os
import uuid

import numpy as np
import pytest

import mlprt
from mlprt import _core
from mlprt.compiler import SourceModule
from mlprt.logger import _route_core_messages


@pytest.mark.parametrize("dtype, expected", [
    (mlprt.DataType.FLOAT, np.float32), (mlprt.DataType.HALF, np.float16),
    (mlprt.DataType.INT8, np.int8), (mlprt.DataType.INT32, np.int32),
    (mlprt.DataType.BOOL, np.bool_), (mlprt.DataType.UINT8, np.uint8),
    (mlprt.DataType.INT64, np.int64),
])
def test_nptype_and_itemsize(dtype, expected) -> None:
    assert mlprt.nptype(dtype) is expected
    assert dtype.itemsize == np.dtype(expected).itemsize


def test_nptype_refuses_other_things() -> None:
    with pytest.raises(TypeError, match="not an mlprt.DataType"):
        mlprt.nptype("float32")


def test_volume() -> None:
    assert mlprt.volume((1, 784)) == 784
    assert mlprt.volume([3, 5, 7]) == 105
    assert mlprt.volume(()) == 1
    assert mlprt.volume((4, 0, 2)) == 0
    with pytest.raises(ValueError, match=r"\(-1, 784\) has a dynamic or negative dimension"):
        mlprt.volume((-1, 784))


def test_logger_prints_at_or_above_its_severity(capsys) -> None:
    logger = mlprt.Logger(mlprt.Logger.INFO)
    logger.log(mlprt.Logger.WARNING, "shown")
    logger.log(mlprt.Logger.INFO, "also shown")
    logger.log(mlprt.Logger.VERBOSE, "hidden")
    err = capsys.readouterr().err
    assert "[mlprt] [W] shown" in err and "[mlprt] [I] also shown" in err
    assert "hidden" not in err
    assert mlprt.Logger().min_severity == mlprt.Logger.Severity.WARNING


class Collecting(mlprt.ILogger):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list = []

    def log(self, severity, msg) -> None:
        self.messages.append((severity, msg))


def test_core_warnings_reach_an_ilogger_subclass(tmp_path, monkeypatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("MLPRT_CACHE_DIR", str(blocker / "cache"))  # cannot be created
    monkeypatch.setenv("MLPRT_PROGRAM_BINARIES", "1")  # the disk cache is used (on PoCL too)
    collector = Collecting()
    _route_core_messages(collector)
    try:
        SourceModule(f"__kernel void k(__global int* p) {{ p[0] = 1; }} // {uuid.uuid4()}")
    finally:
        _core.reset_log_sink()
    warnings = [m for s, m in collector.messages if s == mlprt.ILogger.WARNING]
    assert any("program cache: cannot create" in m and str(blocker) in m for m in warnings)


def test_logger_severity_filters_core_messages(capsys) -> None:
    _route_core_messages(mlprt.Logger(mlprt.Logger.ERROR))
    try:
        _core.log(mlprt.Logger.WARNING, "below ERROR")
        _core.log(mlprt.Logger.ERROR, "an error")
    finally:
        _core.reset_log_sink()
    err = capsys.readouterr().err
    assert "[mlprt] [E] an error" in err and "below ERROR" not in err


def test_loggers_need_a_log_method() -> None:
    with pytest.raises(TypeError, match="log\\(severity, msg\\)"):
        _route_core_messages(object())
    assert os.environ.get("MLPRT_CACHE_DIR")
