"""Steps that depend only on the input shapes (axis ranges, and what reads only them and
constants) run once per set of input shapes: an execution context skips them while the shapes stay
the same, reusing their results, which the builder keeps apart in the arena. Checked against NumPy
over calls that keep the shapes with new data, change them and go back; with a profiler, which
reports a reused step with 0 ms; and with an engine output that only depends on shapes, which is
written on every call. The inspector and `mlprt inspect` mark the steps that run once per shapes."""
from __future__ import annotations

import json
import subprocess
import sys
from typing import Dict, List, Tuple

import numpy as np

import mlprt
from engine_helpers import build, infer, load
from test_profiler import Recording

EW = mlprt.ElementWiseOperation
PROFILE = {"x": ((1, 1), (2, 8), (4, 16))}


def _populate(network: mlprt.INetworkDefinition) -> None:
    """y = x + 2 * (0, 1, ..., S - 1) + B (the positions along axis 1 and the batch as a count,
    shape-only); w = the positions along axis 0 (an engine output)."""
    x = network.add_input("x", mlprt.DataType.FLOAT, (-1, -1))
    positions = network.add_axis_range(x, 1, mlprt.DataType.FLOAT).get_output(0)
    two = network.add_constant((1,), np.array([2.0], np.float32)).get_output(0)
    doubled = network.add_elementwise(positions, two, EW.PROD).get_output(0)
    rows = network.add_axis_range(x, 0, mlprt.DataType.FLOAT).get_output(0)
    ones = network.add_elementwise(network.add_elementwise(rows, rows, EW.SUB).get_output(0),
                                   network.add_constant((1,), np.array([1.0], np.float32)).get_output(0),
                                   EW.SUM).get_output(0)
    batch = network.add_reduce(ones, mlprt.ReduceOperation.SUM, 1, True).get_output(0)
    shifted = network.add_elementwise(doubled, batch, EW.SUM).get_output(0)
    y = network.add_elementwise(x, shifted, EW.SUM).get_output(0)
    w = network.add_axis_range(x, 0, mlprt.DataType.INT32).get_output(0)
    for name, tensor in (("y", y), ("w", w)):
        tensor.name = name
        network.mark_output(tensor)


def _expected(x: np.ndarray) -> Dict[str, np.ndarray]:
    batch, sequence = x.shape
    return {"y": x + 2 * np.arange(sequence, dtype=np.float32) + batch, "w": np.arange(batch, dtype=np.int32)}


def _layers(engine: mlprt.ICudaEngine) -> List[Tuple[str, str]]:
    inspector = engine.create_engine_inspector()
    info = [json.loads(inspector.get_layer_information(i, mlprt.LayerInformationFormat.JSON))
            for i in range(engine.num_layers)]
    return [(layer["Name"], layer["LayerType"]) for layer in info]


def test_shape_steps_run_once_per_set_of_input_shapes(rng) -> None:
    plan = build(_populate, profiles=[PROFILE])
    assert plan is not None
    engine = load(bytes(plan))
    context = engine.create_execution_context()
    profiler = Recording()
    context.profiler = profiler
    layers = _layers(engine)
    names = [name for name, _ in layers]
    final = [name for name, kind in layers if kind == "ElementWise"][-1]  # x + shifted: reads x
    reused_counts = []
    for shape in ((2, 5), (2, 5), (2, 5), (3, 11), (2, 5), (2, 5)):
        profiler.reports.clear()
        x = rng.standard_normal(shape).astype(np.float32)
        got = infer(context, {"x": x})
        for name, value in _expected(x).items():
            np.testing.assert_allclose(got[name], value, rtol=1e-6, err_msg=f"{name} at {shape}")
        assert [name for name, _ in profiler.reports] == names  # every layer, in order
        reused = [name for name, ms in profiler.reports if ms == 0.0]
        assert final not in reused
        reused_counts.append(len(reused))
    # New shapes compute everything; the same shapes again reuse the shape-only steps (the two
    # axis ranges of floats, the product, the count and the sum: not the INT32 engine output).
    assert reused_counts[0] == 0 and reused_counts[3] == 0 and reused_counts[4] == 0
    assert reused_counts[1] == reused_counts[2] == reused_counts[5] == 7, reused_counts
    # The inspector marks exactly those steps, in JSON and in its one-line form.
    inspector = engine.create_engine_inspector()
    marked = [json.loads(inspector.get_layer_information(i, mlprt.LayerInformationFormat.JSON))["RunsOncePerShapes"]
              for i in range(engine.num_layers)]
    reused = [name for name, ms in profiler.reports if ms == 0.0]
    assert [name for name, once in zip(names, marked) if once] == reused
    lines = [inspector.get_layer_information(i, mlprt.LayerInformationFormat.ONELINE) for i in range(engine.num_layers)]
    assert ["once-per-shapes" in line for line in lines] == marked


def test_a_select_reads_only_the_shape_of_the_operand_it_never_picks(rng) -> None:
    """select(all-true constant, positions, x) broadcasts the positions to x's shape (as the
    parser's Expand to a run-time shape does): it depends on x's shape only, and is reused. With a
    condition that is not constant the select runs on every call."""
    def populate(constant_condition: bool):
        def build_network(network: mlprt.INetworkDefinition) -> None:
            x = network.add_input("x", mlprt.DataType.FLOAT, (-1, -1))
            positions = network.add_axis_range(x, 1, mlprt.DataType.FLOAT).get_output(0)
            if constant_condition:
                condition = network.add_constant((1, 1), np.ones((1, 1), np.bool_)).get_output(0)
            else:
                zero = network.add_constant((1, 1), np.zeros((1, 1), np.float32)).get_output(0)
                condition = network.add_elementwise(x, zero, EW.GREATER).get_output(0)
            spread = network.add_select(condition, positions, x).get_output(0)
            y = network.add_elementwise(x, spread, EW.PROD).get_output(0)
            y.name = "y"
            network.mark_output(y)
        return build_network

    for constant_condition, reused in ((True, 2), (False, 1)):
        plan = build(populate(constant_condition), profiles=[PROFILE])
        assert plan is not None
        context = load(bytes(plan)).create_execution_context()
        profiler = Recording()
        context.profiler = profiler
        for call in range(3):
            profiler.reports.clear()
            x = rng.standard_normal((3, 7)).astype(np.float32)
            expected = x * (np.arange(7, dtype=np.float32) if constant_condition else np.where(x > 0, np.arange(7), x))
            np.testing.assert_allclose(infer(context, {"x": x})["y"], expected, rtol=1e-6)
            assert sum(ms == 0.0 for _, ms in profiler.reports) == (0 if call == 0 else reused), profiler.reports


def test_a_step_reading_a_view_of_a_shape_result_is_reused(rng) -> None:
    """At static shapes a reshape of the positions is a view of them (no step): the product that
    reads the view depends on shapes only and is reused with the positions."""
    def populate(network: mlprt.INetworkDefinition) -> None:
        x = network.add_input("x", mlprt.DataType.FLOAT, (2, 6))
        positions = network.add_axis_range(x, 1, mlprt.DataType.FLOAT).get_output(0)
        row = network.add_shuffle(positions)
        row.reshape_dims = (1, 6)
        two = network.add_constant((1, 1), np.full((1, 1), 2.0, np.float32)).get_output(0)
        doubled = network.add_elementwise(row.get_output(0), two, EW.PROD).get_output(0)
        y = network.add_elementwise(x, doubled, EW.SUM).get_output(0)
        y.name = "y"
        network.mark_output(y)

    plan = build(populate)
    assert plan is not None
    engine = load(bytes(plan))
    assert "Shuffle" not in [kind for _, kind in _layers(engine)]  # the reshape is a view
    context = engine.create_execution_context()
    profiler = Recording()
    context.profiler = profiler
    for call in range(2):
        profiler.reports.clear()
        x = rng.standard_normal((2, 6)).astype(np.float32)
        np.testing.assert_allclose(infer(context, {"x": x})["y"], x + 2 * np.arange(6), rtol=1e-6)
        assert sum(ms == 0.0 for _, ms in profiler.reports) == (0 if call == 0 else 2), profiler.reports


def test_mlprt_inspect_says_which_steps_run_once_per_shapes(tmp_path) -> None:
    plan = build(_populate, profiles=[PROFILE])
    assert plan is not None
    path = tmp_path / "shape_steps.engine"
    path.write_bytes(bytes(plan))
    result = subprocess.run([sys.executable, "-m", "mlprt", "inspect", str(path)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("runs once per set of input shapes") == 7, result.stdout
