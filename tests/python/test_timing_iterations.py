"""IBuilderConfig.avg_timing_iterations (TensorRT's): timed runs averaged per candidate tactic; 0,
the default, lets the builder's timing budget decide, or MLPRT_TIMING_ITERATIONS where that is
set (the test suites set 1: they check answers, not speed). The C++ tests count the runs."""
from __future__ import annotations

import numpy as np
import pytest

import mlprt
from engine_helpers import RecordingLogger, infer, load


def build_product(config_iterations: int | None) -> tuple:
    """x (3, 40) @ W (40, 6); (plan or None, logger)."""
    weights = np.random.default_rng(4).standard_normal((40, 6)).astype(np.float32)
    logger = RecordingLogger()
    builder = mlprt.Builder(logger)
    network = builder.create_network(0)
    x = network.add_input("x", mlprt.DataType.FLOAT, (3, 40))
    w = network.add_constant(weights.shape, weights).get_output(0)
    y = network.add_matrix_multiply(x, mlprt.MatrixOperation.NONE, w, mlprt.MatrixOperation.NONE).get_output(0)
    y.name = "y"
    network.mark_output(y)
    config = builder.create_builder_config()
    if config_iterations is not None:
        config.avg_timing_iterations = config_iterations
    return builder.build_serialized_network(network, config), logger, weights


def test_the_property_keeps_what_is_set_and_refuses_negatives() -> None:
    config = mlprt.Builder(RecordingLogger()).create_builder_config()
    assert config.avg_timing_iterations == 0
    config.avg_timing_iterations = 4
    assert config.avg_timing_iterations == 4
    with pytest.raises(ValueError, match="avg_timing_iterations is -1"):
        config.avg_timing_iterations = -1
    assert config.avg_timing_iterations == 4


@pytest.mark.parametrize("iterations", [1, 3])
def test_a_build_with_set_iterations_gives_the_right_answer(iterations: int) -> None:
    plan, logger, weights = build_product(iterations)
    assert plan is not None, logger.errors()
    x = np.random.default_rng(5).standard_normal((3, 40)).astype(np.float32)
    (y,) = infer(load(bytes(plan)).create_execution_context(), {"x": x}).values()
    np.testing.assert_allclose(y, x @ weights, rtol=1e-5, atol=1e-5)


def test_a_bad_environment_setting_fails_the_build_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPRT_TIMING_ITERATIONS", "many")
    plan, logger, _ = build_product(None)
    assert plan is None
    assert "MLPRT_TIMING_ITERATIONS is 'many'" in logger.errors(), logger.messages
    # The config's own value wins over the environment's.
    plan, logger, _ = build_product(2)
    assert plan is not None, logger.errors()
