"""mlprt.testing.compare_with_onnxruntime: the report's numbers, the pass rule, inputs and engines."""
from __future__ import annotations

import numpy as np
import onnxruntime
import pytest

import mlprt
from mlprt.engine_tools import BuildFailed, build_engine
from mlprt.testing import compare_arrays, compare_with_onnxruntime, default_tolerances, random_inputs
from zoo import ZOO, zoo_exports  # noqa: F401  (zoo_exports: fixture)


def test_compare_arrays_matches_numpy() -> None:
    expected = np.array([[1.0, -2.0, 0.0], [4.0, 0.5, 3.0]], np.float32)
    got = expected + np.array([[1e-6, -3e-3, 0.0], [2e-2, 0.0, -1e-3]], np.float32)
    atol, rtol = 1e-3, 1e-3
    result = compare_arrays("y", got, expected, atol, rtol)
    a, b = got.astype(np.float64), expected.astype(np.float64)
    diff = np.abs(a - b)
    rel = np.divide(diff, np.abs(b), out=np.zeros_like(diff), where=diff != 0)
    assert result.max_abs == pytest.approx(diff.max()) and result.max_abs_index == (1, 0)
    assert result.mean_abs == pytest.approx(diff.mean())
    assert result.max_rel == pytest.approx(rel.max()) and result.max_rel_index == (1, 0)
    assert rel[0, 1] == pytest.approx(0.0015, rel=1e-3) and result.max_rel == pytest.approx(0.005, rel=1e-3)
    assert result.mean_rel == pytest.approx(rel.mean())
    bad = ~np.isclose(got, expected, atol=atol, rtol=rtol)
    assert result.mismatches == int(bad.sum()) == 2
    assert not result.passed and result.worst_index == (1, 0)
    assert result.worst_values == (pytest.approx(4.02), 4.0)
    text = str(result)
    assert "FAILED: 2 of 6 elements" in text and "at (1, 0)" in text
    assert compare_arrays("y", got, expected, atol=0.03, rtol=0).passed


def test_compare_arrays_edge_cases() -> None:
    nan, inf = np.float32("nan"), np.float32("inf")
    both = np.array([nan, inf, 1.0], np.float32)
    assert compare_arrays("y", both, both.copy(), 0.0, 0.0).passed            # NaN == NaN, inf == inf
    one_nan = compare_arrays("y", np.array([nan, 1.0], np.float32), np.array([1.0, 1.0], np.float32), 1, 1)
    assert not one_nan.passed and one_nan.mismatches == 1 and one_nan.worst_index == (0,)
    rel_zero = compare_arrays("y", np.array([1e-7], np.float32), np.array([0.0], np.float32), 1e-6, 0)
    assert rel_zero.passed and rel_zero.max_rel == np.inf                       # atol covers b == 0
    shape = compare_arrays("y", np.zeros((2, 3), np.float32), np.zeros((3, 2), np.float32), 1, 1)
    assert not shape.passed and "shape (2, 3) differs" in str(shape)
    dtype = compare_arrays("y", np.zeros(2, np.float16), np.zeros(2, np.float32), 1, 1)
    assert not dtype.passed and "dtype float16 differs" in str(dtype)


def test_random_inputs_are_seeded_and_typed() -> None:
    specs = {"x": ((3, 4), np.float32), "i": ((5,), np.int64), "m": ((2,), np.bool_)}
    first, second = random_inputs(specs, seed=7), random_inputs(specs, seed=7)
    assert all(np.array_equal(first[n], second[n]) for n in specs)
    assert not np.array_equal(first["x"], random_inputs(specs, seed=8)["x"])
    assert first["x"].dtype == np.float32 and first["x"].shape == (3, 4)
    assert first["x"].min() >= -1 and first["x"].max() < 1
    assert first["i"].dtype == np.int64 and first["m"].dtype == np.bool_
    assert default_tolerances(False) == (1e-5, 1e-5) and default_tolerances(True) == (1e-2, 1e-2)


def test_report_numbers_against_onnxruntime(zoo_exports) -> None:
    path = zoo_exports.get("two_tower", "legacy", True)
    inputs = ZOO["two_tower"].example_inputs(6, seed=3)
    report = compare_with_onnxruntime(path, inputs=inputs)
    assert report.passed, str(report)
    report.assert_passed()
    assert [o.name for o in report.outputs] == ["logits", "probs"]
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    reference = dict(zip(["logits", "probs"], session.run(None, inputs)))
    for name, want in reference.items():
        output = report[name]
        diff = np.abs(report.results[name].astype(np.float64) - want.astype(np.float64))
        assert output.shape == (6, 10) and output.dtype == "float32"
        assert output.max_abs == pytest.approx(diff.max()) and output.mean_abs == pytest.approx(diff.mean())
        assert diff[output.max_abs_index] == pytest.approx(diff.max())
        np.testing.assert_array_equal(report.reference[name], want)
    assert "PASSED: 2 of 2 outputs" in str(report)


def test_random_inputs_use_profile_opt_and_given_shapes(zoo_exports) -> None:
    path = zoo_exports.get("simple_mlp", "legacy", True)
    profile = {"input": ((1, 784), (3, 784), (8, 784))}
    report = compare_with_onnxruntime(path, profiles=profile, seed=5)
    assert report.inputs["input"].shape == (3, 784) and report.passed
    again = compare_with_onnxruntime(path, profiles=[profile], seed=5, input_shapes={"input": (7, 784)})
    assert again.inputs["input"].shape == (7, 784) and again.passed
    np.testing.assert_array_equal(again.inputs["input"],
                                  random_inputs({"input": ((7, 784), np.float32)}, seed=5)["input"])
    # A dynamic model without profiles: the default profile, opt at the given inputs' shape.
    wide = compare_with_onnxruntime(path, inputs={"input": np.ones((100, 784), np.float32)})
    assert wide.passed and wide.results["output"].shape == (100, 10)


def test_fp16_passes_loose_and_fails_exact(zoo_exports) -> None:
    path = zoo_exports.get("simple_mlp", "legacy", False)
    plan = build_engine(path, fp16=True)
    report = compare_with_onnxruntime(path, engine=plan, fp16=True)
    assert report.passed and report.atol == 1e-2, str(report)
    strict = compare_with_onnxruntime(path, engine=plan, atol=0, rtol=0)
    assert not strict.passed and strict.outputs[0].mismatches > 0
    with pytest.raises(AssertionError, match="(?s)differs from ONNX Runtime.*FAILED"):
        strict.assert_passed()


def test_engine_object_and_errors(zoo_exports) -> None:
    path = zoo_exports.get("simple_mlp", "legacy", False)
    engine = mlprt.Runtime(mlprt.Logger()).deserialize_cuda_engine(build_engine(path))
    report = compare_with_onnxruntime(path.read_bytes(), engine=engine)
    assert report.passed and report.inputs["input"].shape == (5, 784)
    with pytest.raises(ValueError, match="could not be loaded"):
        compare_with_onnxruntime(path, engine=b"garbage")
    with pytest.raises(BuildFailed, match="could not be parsed"):
        compare_with_onnxruntime(b"not onnx", inputs={"input": np.zeros((5, 784), np.float32)})
    with pytest.raises(ValueError, match="unknown input"):
        compare_with_onnxruntime(path, engine=engine, input_shapes={"nope": (1,)})
