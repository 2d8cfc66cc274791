"""IBuilderConfig.builder_optimization_level (TensorRT's, 0-5, 3 by default): from 3 up a dynamic
engine's tactics are timed at each profile's min, opt, max and between; below 3 at the opt shapes
only, one tactic per layer for the whole profile, for a faster build."""
from __future__ import annotations

from typing import Optional

import numpy as np
import pytest

import mlprt
from engine_helpers import RecordingLogger, infer, load

WEIGHTS = np.random.default_rng(8).standard_normal((64, 24)).astype(np.float32)


def build_dynamic_product(level: Optional[int]) -> tuple:
    """x (-1, 3, 64) @ W (64, 24) with a profile 1 / 16 / 64 (rank 3: no fused MLP takes it);
    (plan or None, logger)."""
    logger = RecordingLogger()
    builder = mlprt.Builder(logger)
    network = builder.create_network(0)
    x = network.add_input("x", mlprt.DataType.FLOAT, (-1, 3, 64))
    w = network.add_constant(WEIGHTS.shape, WEIGHTS).get_output(0)
    y = network.add_matrix_multiply(x, mlprt.MatrixOperation.NONE, w, mlprt.MatrixOperation.NONE).get_output(0)
    y.name = "y"
    network.mark_output(y)
    config = builder.create_builder_config()
    if level is not None:
        config.builder_optimization_level = level
    profile = builder.create_optimization_profile()
    profile.set_shape("x", (1, 3, 64), (16, 3, 64), (64, 3, 64))
    config.add_optimization_profile(profile)
    return builder.build_serialized_network(network, config), logger


def test_the_property_keeps_what_is_set_and_refuses_negatives() -> None:
    config = mlprt.Builder(RecordingLogger()).create_builder_config()
    assert config.builder_optimization_level == 3
    for level in (0, 5, 9, 1):  # above 5 acts as 5, as in TensorRT
        config.builder_optimization_level = level
        assert config.builder_optimization_level == level
    with pytest.raises(ValueError, match="builder_optimization_level is -1; it takes 0 to 5"):
        config.builder_optimization_level = -1
    assert config.builder_optimization_level == 1


def timed_choices(logger: RecordingLogger) -> int:
    return sum("': chose " in message for _, message in logger.messages)


@pytest.mark.parametrize("level", [0, 2])
def test_below_three_the_product_is_timed_once_and_right_at_every_batch(level: int) -> None:
    default_plan, default_logger = build_dynamic_product(None)
    plan, logger = build_dynamic_product(level)
    assert default_plan is not None and plan is not None, logger.errors()
    assert timed_choices(logger) == 1, logger.messages
    assert timed_choices(default_logger) > 1, default_logger.messages  # batch 1, 4, 16, 32, 64
    context = load(bytes(plan)).create_execution_context()
    for batch in (1, 7, 64):
        x = np.random.default_rng(batch).standard_normal((batch, 3, 64)).astype(np.float32)
        (y,) = infer(context, {"x": x}).values()
        np.testing.assert_allclose(y, x.astype(np.float64) @ WEIGHTS, rtol=1e-5, atol=1e-5)
