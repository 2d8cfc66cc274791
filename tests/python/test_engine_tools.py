"""mlprt.engine_tools: shape arguments, one-call builds, and the runner's reusable buffers."""
from __future__ import annotations

import numpy as np
import onnxruntime
import pytest

import mlprt
from engine_helpers import relative_error
from mlprt.engine_tools import BuildFailed, EngineRunner, build_engine, parse_shapes, profile_from_shapes
from zoo import ZOO, zoo_exports  # noqa: F401  (zoo_exports: fixture)


def test_parse_shapes():
    assert parse_shapes("input:1x784,mask:2x3x5") == {"input": (1, 784), "mask": (2, 3, 5)}
    assert parse_shapes("'in:put':7") == {"in:put": (7,)}
    assert parse_shapes("scalar:") == {"scalar": ()}
    for bad in ("input", "input:1xa", "input:-1x3", ":4"):
        with pytest.raises(ValueError):
            parse_shapes(bad)


def test_profile_from_shapes_fills_missing_extremes():
    profile = profile_from_shapes({"a": (1, 4)}, {"a": (8, 4), "b": (2,)}, {"a": (16, 4)})
    assert profile == {"a": ((1, 4), (8, 4), (16, 4)), "b": ((2,), (2,), (2,))}


def test_build_and_run_reuses_buffers(zoo_exports, tmp_path):
    path = zoo_exports.get("two_tower", "legacy", True)
    profile = {"image": ((1, 784), (8, 784), (32, 784)), "meta": ((1, 16), (8, 16), (32, 16))}
    cache = tmp_path / "timing.cache"
    plan = build_engine(path, profiles=[profile], timing_cache=cache)
    assert cache.stat().st_size > 0
    runner = EngineRunner(mlprt.Runtime(mlprt.Logger()).deserialize_cuda_engine(plan))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    buffers = None
    for batch in (32, 5, 1, 32):
        feeds = ZOO["two_tower"].example_inputs(batch, seed=batch)
        got = runner.run(feeds)
        expected = dict(zip(ZOO["two_tower"].outputs, session.run(None, feeds)))
        for name in expected:
            assert relative_error(got[name], expected[name]) <= 1e-5
        current = {name: int(b.device) for name, b in runner._bindings.items()}
        assert buffers is None or current == buffers  # the first, largest batch sized them
        buffers = current


def test_errors_say_what_to_change(zoo_exports):
    path = zoo_exports.get("simple_mlp", "legacy", True)
    with pytest.raises(BuildFailed, match="no optimization profile"):
        build_engine(path)
    with pytest.raises(BuildFailed, match="could not be parsed"):
        build_engine(b"not a model")
    runner = EngineRunner(mlprt.Runtime(mlprt.Logger()).deserialize_cuda_engine(
        build_engine(path, profiles=[{"input": ((1, 784), (4, 784), (8, 784))}])))
    with pytest.raises(ValueError, match="outside the engine's profile"):
        runner.run({"input": np.zeros((9, 784), np.float32)})
    with pytest.raises(ValueError, match="must be float32"):
        runner.run({"input": np.zeros((2, 784), np.float64)})
    with pytest.raises(ValueError, match="missing input"):
        runner.run({})
