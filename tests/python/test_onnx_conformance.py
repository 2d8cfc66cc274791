"""mlprt.backend (ONNX's backend interface) and ONNX's conformance suite run through it.

The suite (tests/conformance/) runs every case ONNX Runtime passes in worker processes and checks
the outcome against tests/conformance/expected_failures.txt: a failure not listed, a listed case
that passes, a wrong answer, a crash or a hang fail the test. Regenerate the list from a run with
``python tests/conformance/run.py --update-expected``.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import mlprt
import mlprt.backend as backend

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "conformance"))

import harness  # noqa: E402
import run as conformance_run  # noqa: E402


def _model(nodes, inputs, outputs, initializers=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


# ---- mlprt.backend ---------------------------------------------------------------------------

def test_prepare_and_run_a_static_model_builds_once(rng):
    # (no MatMul: its first build compiles every GEMM tactic, a minute on a fresh kernel cache)
    w = rng.standard_normal((2, 3)).astype(np.float32)
    model = _model([helper.make_node("Add", ["x", "w"], ["m"]), helper.make_node("Relu", ["m"], ["y"]),
                    helper.make_node("Neg", ["m"], ["z"])],
                   [_vi("x", [2, 3])], [_vi("z", [2, 3]), _vi("y", [2, 3])],
                   [onnx.numpy_helper.from_array(w, "w")])
    rep = backend.prepare(model, "CPU")
    assert rep.builds == 1 and rep.engine is not None           # static: built by prepare
    x = rng.standard_normal((2, 3)).astype(np.float32)
    out = rep.run([x])
    assert len(out) == 2                                         # the graph's order: z, y
    np.testing.assert_allclose(out[0], -(x + w), rtol=1e-6)
    np.testing.assert_allclose(out["y"], np.maximum(x + w, 0), rtol=1e-6)
    np.testing.assert_allclose(rep.run({"x": x}).z, -(x + w), rtol=1e-6)
    assert rep.builds == 1


def test_dynamic_input_builds_for_the_first_run_and_again_when_shapes_change(rng):
    model = _model([helper.make_node("Sigmoid", ["x"], ["y"])], [_vi("x", ["batch", 5])], [_vi("y", ["batch", 5])])
    rep = backend.prepare(model)
    assert rep.builds == 0 and rep.engine is None
    for batch, builds in ((3, 1), (3, 1), (7, 2), (3, 2)):
        x = rng.standard_normal((batch, 5)).astype(np.float32)
        (y,) = rep.run([x])
        np.testing.assert_allclose(y, 1 / (1 + np.exp(-x)), rtol=1e-5, atol=1e-6)
        assert y.shape == (batch, 5) and rep.builds == builds
    assert tuple(rep.engine.get_tensor_shape("x")) == (3, 5)     # static engines, no profile
    with pytest.raises(ValueError, match="has shape"):
        rep.run([np.zeros((3, 6), np.float32)])


def test_unnamed_dynamic_dims_take_the_run_shape(rng):
    model = _model([helper.make_node("Abs", ["x"], ["y"])], [_vi("x", [None, 3, None])], [_vi("y", [None, 3, None])])
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(backend.run_model(model, [x])[0], np.abs(x))


def test_integer_parameter_inputs_are_built_into_the_engine_per_value(rng):
    """Axes given as a graph input (as ONNX's reduction tests do) are shape tensors: each run builds
    for their values, and other values build another engine."""
    model = _model([helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=0)],
                   [_vi("x", [3, 4, 5]), _vi("axes", [1], TensorProto.INT64)], [_vi("y", ["a", "b"])], opset=13)
    rep = backend.prepare(model, "CPU")
    assert rep.baked_inputs == ["axes"] and rep.builds == 0
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    for axis in (1, 2, 1):
        (y,) = rep.run({"x": x, "axes": np.array([axis], np.int64)})
        np.testing.assert_allclose(y, x.sum(axis=axis), rtol=1e-5, atol=1e-6)
    assert rep.builds == 2                                       # axis 1 again reuses its engine
    # Indices the kernels take at run time stay inputs: nothing is built per value.
    gather = backend.prepare(_model([helper.make_node("Gather", ["x", "i"], ["y"])],
                                    [_vi("x", [3, 4]), _vi("i", [2], TensorProto.INT64)], [_vi("y", [2, 4])]), "CPU")
    table = rng.standard_normal((3, 4)).astype(np.float32)
    for picks in ([2, 0], [-1, 1]):
        (y,) = gather.run({"x": table, "i": np.array(picks, np.int64)})
        np.testing.assert_array_equal(y, table[picks])
    assert gather.baked_inputs == [] and gather.builds == 1


def test_unsupported_operator_names_node_and_op_at_prepare():
    model = _model([helper.make_node("Relu", ["x"], ["r"]),
                    helper.make_node("MaxUnpool", ["r", "w"], ["y"], name="unpool1", kernel_shape=[1, 1])],
                   [_vi("x", [1, 1, 4, 4]), _vi("w", [1, 1, 4, 4], TensorProto.INT64)], [_vi("y", [1, 1, 4, 4])])
    with pytest.raises(backend.BackendError,
                       match=r"node 1 'unpool1' \(MaxUnpool\): operator MaxUnpool is not supported") as info:
        backend.prepare(model)
    assert info.value.stage == "parse" and info.value.errors[0].node_operator() == "MaxUnpool"
    dynamic = _model([helper.make_node("MaxUnpool", ["x", "w"], ["y"], name="c", kernel_shape=[1, 1])],
                     [_vi("x", ["n", 1, 4, 4]), _vi("w", ["n", 1, 4, 4], TensorProto.INT64)],
                     [_vi("y", ["n", 1, 4, 4])])
    with pytest.raises(backend.BackendError, match=r"'c' \(MaxUnpool\)"):
        backend.prepare(dynamic)                                 # refused before any run
    assert isinstance(backend.BackendError("parse", []), RuntimeError)


def test_dtypes_are_the_models(rng):
    model = _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", [3])], [_vi("y", [3])])
    with pytest.raises(TypeError, match="must be float32"):
        backend.run_model(model, [np.zeros(3, np.float64)])
    with pytest.raises(ValueError, match="takes 1"):
        backend.run_model(model, [np.zeros(3, np.float32)] * 2)


def test_run_node_infers_output_types_or_takes_outputs_info(rng):
    a = rng.standard_normal((2, 3)).astype(np.float32)
    b = rng.standard_normal((3,)).astype(np.float32)
    (y,) = backend.run_node(helper.make_node("Add", ["a", "b"], ["y"]), [a, b])
    np.testing.assert_allclose(y, a + b, rtol=1e-6)
    (y,) = backend.run_node(helper.make_node("Mul", ["a", "b"], ["y"]), {"a": a, "b": b},
                            outputs_info=[(np.float32, (2, 3))])
    np.testing.assert_allclose(y, a * b, rtol=1e-6)
    with pytest.raises(onnx.checker.ValidationError):
        backend.run_node(helper.make_node("NoSuchOp", ["a"], ["y"]), [a])


def test_devices_and_compatibility():
    assert backend.supports_device("CPU")
    gpu = "GPU" in str(mlprt.current_device().type).upper()
    assert backend.supports_device("CUDA") == gpu
    if not gpu:
        with pytest.raises(ValueError, match="cannot run on device 'CUDA'"):
            backend.prepare(_model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", [1])], [_vi("y", [1])]), "CUDA")
    ok = _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", [1])], [_vi("y", [1])])
    assert backend.is_compatible(ok) and backend.is_compatible(ok.SerializeToString())
    ml = _model([helper.make_node("Binarizer", ["x"], ["y"], domain="ai.onnx.ml")], [_vi("x", [1])], [_vi("y", [1])])
    assert not backend.is_compatible(ml)


def test_onnx_backend_test_collects_and_runs_on_mlprt():
    import unittest

    import onnx.backend.test
    suite = onnx.backend.test.BackendTest(backend, __name__)
    suite.include(r"^test_(single_relu_model|expand_shape_model1)_cpu$")
    cases = suite.test_cases
    assert set(cases) >= {"OnnxBackendNodeModelTest", "OnnxBackendSimpleModelTest"}
    results = {}
    for name in ("test_single_relu_model_cpu", "test_expand_shape_model1_cpu"):
        result = unittest.TestResult()
        cases["OnnxBackendSimpleModelTest"](name).run(result)
        assert result.testsRun == 1 and not result.skipped, name
        results[name] = result
    assert results["test_single_relu_model_cpu"].wasSuccessful()     # onnx's own runner and comparison
    expand = results["test_expand_shape_model1_cpu"]
    if "Expand" not in mlprt.onnx_parser.supported_operators():        # an error naming the operator, not a skip
        assert len(expand.errors) == 1 and "BackendError" in expand.errors[0][1]
        assert "(Expand): operator Expand is not supported" in expand.errors[0][1]


# ---- the harness ---------------------------------------------------------------------------

def test_category_drops_names_and_numbers():
    message = ("mlprt cannot parse the model:\n  node 3 'add_1' (Add): operand a has type INT8; "
               "expected FLOAT or HALF [UNSUPPORTED_NODE_DATATYPE]")
    assert harness.category(message) == "operand a has type INT8; expected FLOAT or HALF"
    assert harness.category("mlprt cannot parse the model:\n  node 0 '' (Conv): operator Conv is not "
                            "supported [UNSUPPORTED_NODE]") == "operator Conv is not supported"
    assert harness.category("step 'mm': no matrix multiplication tactic could run it") == \
        "no matrix multiplication tactic could run it"


def _report(**outcomes):
    report = harness.RunReport()
    for name, outcome in outcomes.items():
        report.results[name] = {"outcome": outcome, "reason": "r", "detail": "d"}
    return report


def test_problems_enforce_the_shrinking_list():
    expected = {"a": "r", "b": "r", "gone": "r"}
    found = conformance_run.problems(_report(a="fail", b="pass", c="fail", d="wrong", e="crash", f="hang", g="pass"),
                                     expected, complete=True)
    text = "\n".join(found)
    assert "NOW PASSES b: remove it" in text and "NEW FAILURE c" in text and "WRONG ANSWER d" in text
    assert "CRASH e" in text and "HANG f" in text and "STALE ENTRY gone" in text
    assert len(found) == 6                       # a (listed, still failing) is fine
    assert conformance_run.problems(_report(a="fail", b="fail", gone="fail"), expected, complete=True) == []


def _worker_case(name, model, inputs, outputs, rtol=1e-3, atol=1e-7):
    return harness.Case(name, "node", rtol, atol, model=model.SerializeToString(), data_sets=[(inputs, outputs)])


def test_worker_pool_reports_pass_fail_wrong_crash_and_hang(tmp_path):
    relu = _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", [4])], [_vi("y", [4])])
    x = np.array([-1, 0, 2, 3], np.float32)
    unpool = _model([helper.make_node("MaxUnpool", ["x", "w"], ["y"], kernel_shape=[1, 1])],
                  [_vi("x", [1, 1, 2, 2]), _vi("w", [1, 1, 1, 1])], [_vi("y", [1, 1, 2, 2])])
    cases = [_worker_case("t/pass", relu, [x], [np.maximum(x, 0)]),
             _worker_case("t/wrong", relu, [x], [np.maximum(x, 0) + 1]),
             _worker_case("t/fail", unpool, [np.ones((1, 1, 2, 2), np.float32), np.ones((1, 1, 1, 1), np.float32)], []),
             harness.Case("t/crash", "crash-test"), harness.Case("t/hang", "hang-test"),
             _worker_case("t/after", relu, [x], [np.maximum(x, 0)])]
    report = harness.run_cases(cases, workers=2, timeout=10)
    outcomes = {n: r["outcome"] for n, r in report.results.items()}
    assert outcomes == {"t/pass": "pass", "t/wrong": "wrong", "t/fail": "fail", "t/crash": "crash",
                        "t/hang": "hang", "t/after": "pass"}
    assert report.results["t/fail"]["reason"] == "operator MaxUnpool is not supported"
    assert "SIGSEGV" in report.results["t/crash"]["detail"]


# ---- the suite -----------------------------------------------------------------------------

def test_committed_lists_are_consistent():
    expected = harness.read_list(harness.EXPECTED_FILE)
    ort_failing = harness.read_list(harness.ORT_FAILING_FILE)
    assert expected and ort_failing
    assert all(reason for reason in expected.values()), "every expected failure needs a reason"
    assert not set(expected) & set(ort_failing), "cases ONNX Runtime fails are not counted"
    assert not any(r in ("wrong answer", "worker died", "timeout") for r in expected.values())
    summary = json.loads(harness.SUMMARY_FILE.read_text())
    assert summary["expected_failures"] == len(expected)
    assert summary["ort_failing"] == len(ort_failing)
    assert summary["passed"] + summary["expected_failures"] == summary["counted"]
    assert summary["counted"] + summary["ort_failing"] == summary["cases"]
    assert sum(summary["by_reason"].values()) == len(expected)
    # Wider tolerances are few, bounded by the FP16 bar of 1e-2, and each says why.
    tolerances = harness.read_list(harness.TOLERANCE_FILE)
    names = {case.name for case in harness.node_cases()}
    for name, entry in tolerances.items():
        rtol, _, reason = entry.partition("\t")
        assert name in names and 1e-3 < float(rtol) <= 1e-2 and len(reason) > 40, (name, entry)
    assert {c.name: c.rtol for c in harness.all_cases() if c.name in tolerances} == \
        {name: float(e.partition("\t")[0]) for name, e in tolerances.items()}


def test_onnx_conformance_suite():
    """Every case ONNX Runtime passes, through mlprt.backend, against the expected-failure list."""
    cases = harness.counted_cases()
    report = harness.run_cases(cases, workers=int(os.environ.get("MLPRT_CONFORMANCE_WORKERS", "2")))
    found = conformance_run.problems(report, harness.read_list(harness.EXPECTED_FILE), complete=True)
    passed = len(report.names("pass"))
    print(f"conformance: {passed} of {len(cases)} pass, {len(report.names('fail'))} expected failures, "
          f"{report.seconds:.0f} s")
    assert not found, f"{len(found)} conformance problem(s):\n" + "\n".join(found)
