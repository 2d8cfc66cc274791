"""Per-layer profiling: IExecutionContext.profiler, enqueue_emits_profile, report_to_profiler
(TensorRT's IProfiler), and `mlprt exec --dumpProfile`.

A profiled inference reports every step of the engine once, in execution order, under the
inspector's layer names, with its device time; it computes the same outputs as an unprofiled one.
"""
from __future__ import annotations

import io
import json
import math
import time
from typing import List, Tuple

import numpy as np
import pytest

import mlprt
import mlprt.driver as cuda

from engine_helpers import build, infer, load
from test_launch_capture import IN, PROFILE, reference, several_steps, weights_for


class Recording(mlprt.IProfiler):
    def __init__(self) -> None:
        super().__init__()
        self.reports: List[Tuple[str, float]] = []

    def report_layer_time(self, layer_name: str, ms: float) -> None:
        self.reports.append((layer_name, ms))


@pytest.fixture(scope="module")
def engine() -> mlprt.ICudaEngine:
    plan = build(several_steps(weights_for(11)), profiles=[PROFILE])
    assert plan is not None
    return load(bytes(plan))


def layer_names(engine: mlprt.ICudaEngine) -> List[str]:
    inspector = engine.create_engine_inspector()
    return [json.loads(inspector.get_layer_information(i, mlprt.LayerInformationFormat.JSON))["Name"]
            for i in range(engine.num_layers)]


def test_every_layer_is_reported_once_per_inference_in_order(engine, rng) -> None:
    context = engine.create_execution_context()
    profiler = Recording()
    context.profiler = profiler
    assert context.profiler is profiler
    assert context.enqueue_emits_profile
    names = layer_names(engine)
    assert len(names) >= 3
    w = weights_for(11)
    for call, batch in enumerate([5, 5, 13]):  # the second call replays captured launches
        profiler.reports.clear()
        x = rng.standard_normal((batch, IN)).astype(np.float32)
        started = time.perf_counter()
        y = infer(context, {"x": x})["y"]
        wall_ms = (time.perf_counter() - started) * 1e3
        np.testing.assert_allclose(y, reference(x, w), rtol=1e-5, atol=1e-6)
        assert [name for name, _ in profiler.reports] == names, f"call {call}"
        times = [ms for _, ms in profiler.reports]
        assert all(math.isfinite(ms) and ms >= 0.0 for ms in times), times
        assert sum(times) > 0.0
        # Device time of the steps cannot exceed the wall time of the whole call.
        assert sum(times) <= wall_ms, (times, wall_ms)


def test_deferred_reports_come_from_report_to_profiler(engine, rng) -> None:
    context = engine.create_execution_context()
    profiler = Recording()
    context.profiler = profiler
    context.enqueue_emits_profile = False
    assert not context.enqueue_emits_profile
    assert not context.report_to_profiler()  # nothing run yet
    infer(context, {"x": rng.standard_normal((3, IN)).astype(np.float32)})
    assert profiler.reports == []
    assert context.report_to_profiler()
    assert [name for name, _ in profiler.reports] == layer_names(engine)
    assert not context.report_to_profiler()  # reported once only


def test_no_profiler_reports_nothing_and_none_turns_profiling_off(engine, rng) -> None:
    context = engine.create_execution_context()
    assert context.profiler is None
    assert not context.report_to_profiler()
    profiler = Recording()
    context.profiler = profiler
    context.profiler = None
    assert context.profiler is None
    infer(context, {"x": rng.standard_normal((2, IN)).astype(np.float32)})
    assert profiler.reports == []
    assert not context.report_to_profiler()


def test_an_object_without_report_layer_time_is_refused_by_type(engine) -> None:
    context = engine.create_execution_context()
    with pytest.raises(TypeError, match="report_layer_time.*got int"):
        context.profiler = 3
    with pytest.raises(TypeError, match="got object"):
        context.profiler = object()
    assert context.profiler is None


def test_a_profiler_that_raises_reaches_the_caller_and_the_context_stays_usable(engine, rng) -> None:
    class Failing(mlprt.IProfiler):
        def report_layer_time(self, layer_name: str, ms: float) -> None:
            raise RuntimeError(f"profiler refused {layer_name}")

    context = engine.create_execution_context()
    context.profiler = Failing()
    x = rng.standard_normal((7, IN)).astype(np.float32)
    with pytest.raises(RuntimeError, match="profiler refused"):
        infer(context, {"x": x})
    context.profiler = None
    np.testing.assert_allclose(infer(context, {"x": x})["y"], reference(x, weights_for(11)), rtol=1e-5, atol=1e-6)


def test_the_printing_profiler_writes_one_line_per_layer(engine, rng) -> None:
    context = engine.create_execution_context()
    out = io.StringIO()
    context.profiler = mlprt.Profiler(out)
    infer(context, {"x": rng.standard_normal((4, IN)).astype(np.float32)})
    lines = out.getvalue().splitlines()
    assert [line.rsplit(": ", 1)[0] for line in lines] == layer_names(engine)
    assert all(line.endswith(" ms") and float(line.rsplit(": ", 1)[1][:-3]) >= 0.0 for line in lines)


def test_execute_v2_reports_too(engine, rng) -> None:
    context = engine.create_execution_context()
    profiler = Recording()
    context.profiler = profiler
    x = rng.standard_normal((2, IN)).astype(np.float32)
    assert context.set_input_shape("x", x.shape)
    x_device = cuda.to_device(x)
    y_device = cuda.mem_alloc(4 * int(np.prod(context.get_tensor_shape("y"))))
    bindings = [0, 0]
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        bindings[i] = int(x_device) if name == "x" else int(y_device)
    assert context.execute_v2(bindings)
    assert [name for name, _ in profiler.reports] == layer_names(engine)


def test_layer_times_aggregates_like_trtexec() -> None:
    times = mlprt.profiler.LayerTimes()
    for ms in (1.0, 3.0, 2.0):
        times.report_layer_time("conv", ms)
        times.report_layer_time("relu", ms / 2)
    assert times.inferences == 3
    rows = {row["name"]: row for row in times.rows()}
    assert list(rows) == ["conv", "relu"]
    assert rows["conv"]["timeMs"] == 6.0 and rows["conv"]["averageMs"] == 2.0 and rows["conv"]["medianMs"] == 2.0
    assert rows["conv"]["percentage"] == pytest.approx(100 * 6 / 9)
    lines = times.table().splitlines()
    assert lines[0] == "=== Profile (3 iterations) ==="
    assert lines[-1].split() == ["9.0000", "3.0000", "3.0000", "100.0", "Total"]
    assert times.as_json()[0] == {"count": 3}
    empty = mlprt.profiler.LayerTimes()
    assert empty.inferences == 0 and empty.as_json() == [{"count": 0}]
    assert empty.table().splitlines()[-1].split()[-1] == "Total"
