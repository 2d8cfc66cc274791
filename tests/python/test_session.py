"""mlprt.Session: ONNX Runtime's calling convention, the engine cache, buffer reuse, errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
import pytest

import mlprt
import mlprt.session as session_module
from engine_helpers import relative_error
from mlprt.engine_tools import BuildFailed, build_engine
from zoo import ZOO, zoo_exports  # noqa: F401  (zoo_exports: fixture)

MLP_PROFILE = {"input": [(1, 784), (8, 784), (16, 784)]}


def reference(path: Path, feeds):
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)


def test_run_like_onnxruntime(zoo_exports, tmp_path: Path) -> None:
    path = zoo_exports.get("two_tower", "legacy", True)
    sess = mlprt.Session(str(path), profiles={"image": [(1, 784), (4, 784), (8, 784)],
                                              "meta": [(1, 16), (4, 16), (8, 16)]}, cache_dir=tmp_path)
    assert [(a.name, a.shape, a.type) for a in sess.get_inputs()] == [
        ("image", ["batch", 784], "tensor(float)"), ("meta", ["batch", 16], "tensor(float)")]
    assert [(a.name, a.shape, a.type) for a in sess.get_outputs()] == [
        ("logits", ["batch", 10], "tensor(float)"), ("probs", ["batch", 10], "tensor(float)")]
    ort = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [a.shape for a in ort.get_inputs()] == [a.shape for a in sess.get_inputs()]
    feeds = ZOO["two_tower"].example_inputs(5, seed=2)
    got = sess.run(None, feeds)
    assert isinstance(got, list) and len(got) == 2
    for mine, theirs in zip(got, reference(path, feeds)):
        assert mine.shape == theirs.shape == (5, 10) and relative_error(mine, theirs) <= 1e-5
    probs, logits = sess.run(["probs", "logits"], feeds)
    np.testing.assert_array_equal(probs, got[1])
    np.testing.assert_array_equal(logits, got[0])
    assert sess.run(["probs"], feeds)[0].shape == (5, 10)


def test_engine_is_cached_and_reused(zoo_exports, tmp_path: Path, monkeypatch) -> None:
    path = zoo_exports.get("simple_mlp", "legacy", True)
    first = mlprt.Session(path, profiles=MLP_PROFILE, cache_dir=tmp_path)
    assert first.built and first.cache_path is not None and first.cache_path.parent == tmp_path
    assert [p.name for p in tmp_path.iterdir()] == [first.cache_path.name]
    assert first.cache_path.read_bytes().startswith(b"MLPRTENG")
    builds = []
    monkeypatch.setattr(session_module, "build_engine",
                        lambda *a, **k: builds.append(1) or build_engine(*a, **k))
    second = mlprt.Session(str(path), profiles=MLP_PROFILE, cache_dir=tmp_path)
    assert not second.built and builds == [] and second.cache_path == first.cache_path
    x = np.random.default_rng(0).standard_normal((3, 784)).astype(np.float32)
    np.testing.assert_array_equal(first.run(None, {"input": x})[0], second.run(None, {"input": x})[0])
    # Other flags, another entry: fp16 and another profile each build once.
    fp16 = mlprt.Session(path, fp16=True, profiles=MLP_PROFILE, cache_dir=tmp_path)
    other = mlprt.Session(path, profiles={"input": [(1, 784), (2, 784), (4, 784)]}, cache_dir=tmp_path)
    assert fp16.built and other.built and len(builds) == 2
    assert len({first.cache_path, fp16.cache_path, other.cache_path}) == 3
    assert len(list(tmp_path.glob("*.engine"))) == 3 and not list(tmp_path.glob("*.tmp"))
    assert relative_error(fp16.run(None, {"input": x})[0], reference(path, {"input": x})[0]) <= 1e-2
    # A damaged cache entry is rebuilt, not trusted.
    first.cache_path.write_bytes(b"MLPRTENG" + b"\0" * 100)
    repaired = mlprt.Session(path, profiles=MLP_PROFILE, cache_dir=tmp_path)
    assert repaired.built and len(builds) == 3
    assert not mlprt.Session(path, profiles=MLP_PROFILE, cache_dir=tmp_path).built


def test_default_cache_dir_follows_the_environment(zoo_exports, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MLPRT_CACHE_DIR", str(tmp_path / "root"))
    assert session_module.default_cache_dir() == tmp_path / "root" / "engines"
    sess = mlprt.Session(zoo_exports.get("simple_mlp", "legacy", False))
    assert sess.cache_path is not None and sess.cache_path.parent == tmp_path / "root" / "engines"
    monkeypatch.delenv("MLPRT_CACHE_DIR")
    assert session_module.default_cache_dir() == Path.home() / ".cache" / "mlprt" / "engines"
    uncached = mlprt.Session(zoo_exports.get("simple_mlp", "legacy", False), use_cache=False)
    assert uncached.built and uncached.cache_path is None


def test_buffers_are_reused_and_grow_only_for_bigger_shapes(zoo_exports, tmp_path: Path) -> None:
    path = zoo_exports.get("simple_mlp", "legacy", True)
    sess = mlprt.Session(path, profiles=MLP_PROFILE, cache_dir=tmp_path)
    runner = sess._runner
    rng = np.random.default_rng(1)
    sess.run(None, {"input": rng.standard_normal((4, 784)).astype(np.float32)})
    allocations = runner.allocations
    addresses = {n: int(b.device) for n, b in runner._bindings.items()}
    assert allocations == 2 and runner.capacity("input") == 4 * 784
    for batch in (4, 2, 1, 3):
        x = rng.standard_normal((batch, 784)).astype(np.float32)
        out = sess.run(None, {"input": x})[0]
        assert out.shape == (batch, 10)
        assert relative_error(out, reference(path, {"input": x})[0]) <= 1e-5
    assert runner.allocations == allocations
    assert {n: int(b.device) for n, b in runner._bindings.items()} == addresses
    big = rng.standard_normal((16, 784)).astype(np.float32)
    assert sess.run(None, {"input": big})[0].shape == (16, 10)
    assert runner.allocations == allocations + 2 and runner.capacity("input") == 16 * 784
    assert runner.capacity("output") == 16 * 10
    small = big[:2].copy()
    assert relative_error(sess.run(None, {"input": small})[0], reference(path, {"input": small})[0]) <= 1e-5
    assert runner.allocations == allocations + 2


def test_default_profile_for_dynamic_models(zoo_exports, tmp_path: Path) -> None:
    path = zoo_exports.get("simple_mlp", "legacy", True)
    sess = mlprt.Session(path, cache_dir=tmp_path)
    assert sess.profile == {"input": ((1, 784), (1, 784), (64, 784))}
    assert [tuple(s) for s in sess.engine.get_tensor_profile_shape("input", 0)] == [(1, 784), (1, 784), (64, 784)]
    assert sess.run(None, {"input": np.zeros((64, 784), np.float32)})[0].shape == (64, 10)
    with pytest.raises(ValueError, match=r"outside the engine's profile \(1, 784\)..\(64, 784\)"):
        sess.run(None, {"input": np.zeros((65, 784), np.float32)})
    static = mlprt.Session(zoo_exports.get("simple_mlp", "legacy", False), cache_dir=tmp_path)
    assert static.profile == {} and static.get_inputs()[0].shape == [5, 784]


def test_engine_files_and_bytes(zoo_exports, tmp_path: Path) -> None:
    path = zoo_exports.get("simple_mlp", "legacy", True)
    plan = build_engine(path, profiles=[{"input": ((1, 784), (2, 784), (4, 784))}])
    engine_file = tmp_path / "mlp.engine"
    engine_file.write_bytes(plan)
    x = np.random.default_rng(3).standard_normal((4, 784)).astype(np.float32)
    want = reference(path, {"input": x})[0]
    for source in (engine_file, str(engine_file), plan):
        sess = mlprt.Session(source, cache_dir=tmp_path / "unused")
        assert not sess.built and sess.cache_path is None
        assert sess.get_inputs()[0].shape == [None, 784]          # engines keep no dimension names
        assert sess.profile == {"input": ((1, 784), (2, 784), (4, 784))}
        assert relative_error(sess.run(None, {"input": x})[0], want) <= 1e-5
    assert not (tmp_path / "unused").exists()
    onnx_bytes = mlprt.Session(path.read_bytes(), profiles=MLP_PROFILE, cache_dir=tmp_path / "c")
    assert onnx_bytes.built and relative_error(onnx_bytes.run(None, {"input": x})[0], want) <= 1e-5


def test_errors_say_what_to_change(zoo_exports, tmp_path: Path) -> None:
    path = zoo_exports.get("two_tower", "legacy", True)
    profiles = {"image": [(1, 784), (2, 784), (4, 784)], "meta": [(1, 16), (2, 16), (4, 16)]}
    sess = mlprt.Session(path, profiles=profiles, cache_dir=tmp_path)
    feeds = ZOO["two_tower"].example_inputs(2)
    with pytest.raises(ValueError, match=r"missing input\(s\) \['meta'\]: run\(\) needs a value for every input"):
        sess.run(None, {"image": feeds["image"]})
    with pytest.raises(ValueError, match=r"unknown input\(s\) \['extra'\]"):
        sess.run(None, {**feeds, "extra": feeds["meta"]})
    with pytest.raises(TypeError, match=r"input 'meta' must be float32 \(tensor\(float\)\), got float64: "
                                        r"convert it with .astype\(numpy.float32\)"):
        sess.run(None, {**feeds, "meta": feeds["meta"].astype(np.float64)})
    with pytest.raises(ValueError, match=r"input 'image' has shape \(2, 783\), the model takes \?x784"):
        sess.run(None, {**feeds, "image": np.zeros((2, 783), np.float32)})
    with pytest.raises(ValueError, match=r"input 'image' has shape \(9, 784\), outside the engine's profile "
                                         r"\(1, 784\)..\(4, 784\): pass a wider profiles= to Session, e.g. "
                                         r"profiles=\{'image': \[\(1, 784\), \(2, 784\), \(9, 784\)\]\}"):
        sess.run(None, {"image": np.zeros((9, 784), np.float32), "meta": np.zeros((9, 16), np.float32)})
    with pytest.raises(ValueError, match=r"unknown output\(s\) \['nope'\]; the model's outputs are \['logits', 'probs'\]"):
        sess.run(["nope"], feeds)
    assert sess.run(None, feeds)[0].shape == (2, 10)      # still usable after the errors
    with pytest.raises(ValueError, match="profiles= names 'imgae', which is not an input"):
        mlprt.Session(path, profiles={"imgae": [(1, 784)] * 3}, cache_dir=tmp_path)
    with pytest.raises(ValueError, match=r"must be three shapes \(min, opt, max\)"):
        mlprt.Session(path, profiles={"image": [(1, 784), (2, 784)]}, cache_dir=tmp_path)
    with pytest.raises(TypeError, match="profiles= is one profile"):
        mlprt.Session(path, profiles=[profiles], cache_dir=tmp_path)
    with pytest.raises(BuildFailed, match="meta"):  # the builder names the input without a range
        mlprt.Session(path, profiles={"image": profiles["image"]}, cache_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="no such model or engine file"):
        mlprt.Session(tmp_path / "missing.onnx")
    with pytest.raises(BuildFailed, match="could not be parsed"):
        mlprt.Session(b"definitely not onnx", cache_dir=tmp_path)
    engine_file = tmp_path / "x.engine"
    engine_file.write_bytes(build_engine(path, profiles=[{k: tuple(v) for k, v in profiles.items()}]))
    with pytest.raises(ValueError, match="is an engine that is already built"):
        mlprt.Session(engine_file, fp16=True)
    broken = tmp_path / "broken.engine"
    broken.write_bytes(b"MLPRTENG" + b"\1" * 64)
    with pytest.raises(ValueError, match="could not be loaded as an engine"):
        mlprt.Session(broken)


def test_exports() -> None:
    assert mlprt.Session is session_module.Session
    assert mlprt.testing.compare_with_onnxruntime is not None
    assert "Session" in mlprt.__all__ and "testing" in mlprt.__all__
