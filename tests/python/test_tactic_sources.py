"""IBuilderConfig.set_tactic_sources / get_tactic_sources (TensorRT's TacticSource mask): CUBLAS
and CUBLAS_LT stand for CLBlast, whose FP32 products are timed only when one of them is set; by
default they are left out on CPU devices (compiling CLBlast's kernels was most of a cold build
there, bench/RESULTS.md) and kept elsewhere. mlprt's own kernels are candidates whatever the mask."""
from __future__ import annotations

import numpy as np
import pytest

import mlprt
from engine_helpers import RecordingLogger, infer, load

LIBRARY = (1 << int(mlprt.TacticSource.CUBLAS)) | (1 << int(mlprt.TacticSource.CUBLAS_LT))
EVERY = sum(1 << int(source) for source in mlprt.TacticSource.__members__.values())


def build_product(weights: np.ndarray, sources: int | None) -> tuple:
    """x (batch, K) @ W, dynamic batch; (engine, the builder's timing messages, the config's mask)."""
    logger = RecordingLogger()
    builder = mlprt.Builder(logger)
    network = builder.create_network(0)
    x = network.add_input("x", mlprt.DataType.FLOAT, (-1, weights.shape[0]))
    w = network.add_constant(weights.shape, weights).get_output(0)
    y = network.add_matrix_multiply(x, mlprt.MatrixOperation.NONE, w, mlprt.MatrixOperation.NONE).get_output(0)
    y.name = "y"
    network.mark_output(y)
    config = builder.create_builder_config()
    if sources is not None:
        assert config.set_tactic_sources(sources)
    profile = builder.create_optimization_profile()
    profile.set_shape("x", (1, weights.shape[0]), (5, weights.shape[0]), (7, weights.shape[0]))
    config.add_optimization_profile(profile)
    plan = builder.build_serialized_network(network, config)
    assert plan is not None, logger.errors()
    timed = "\n".join(message for _, message in logger.messages if "(timed" in message)
    return load(bytes(plan)), timed, config.get_tactic_sources()


@pytest.mark.parametrize("sources", [None, LIBRARY, 1 << int(mlprt.TacticSource.CUBLAS_LT), 0])
def test_clblast_is_timed_only_when_a_library_source_is_set(sources: int | None) -> None:
    rng = np.random.default_rng(11)
    # At the timed batch (5) 5 x 1031 x 2053 = 10.6M multiply-adds: CLBlast is timed only on
    # products of 8M or more (its launches cost more than smaller products take).
    weights = rng.uniform(-1, 1, (1031, 2053)).astype(np.float32)
    engine, timed, mask = build_product(weights, sources)
    device = mlprt.current_device()
    if sources is None:  # the default: every source, less CLBlast's on CPUs
        on_cpu = "cpu" in device.type.lower()
        assert mask == (EVERY & ~LIBRARY if on_cpu else EVERY)
    library = bool(mask & LIBRARY)
    assert timed, "the product's tactics were not timed"
    assert ("clblast=" in timed) == library, timed
    assert "small_m8=" in timed or "tiled_m2n2_k16=" in timed, timed  # mlprt's own kernels always
    x = rng.uniform(-1, 1, (6, 1031)).astype(np.float32)
    context = engine.create_execution_context()
    context.set_input_shape("x", x.shape)
    y = infer(context, {"x": x})["y"]
    expected = x.astype(np.float64) @ weights.astype(np.float64)
    assert np.abs(y - expected).max() / np.abs(expected).max() <= 1e-5


def test_a_mask_naming_no_source_is_refused_and_changes_nothing() -> None:
    config = mlprt.Builder(mlprt.Logger()).create_builder_config()
    before = config.get_tactic_sources()
    assert config.set_tactic_sources(1 << 5) is False
    assert config.set_tactic_sources(EVERY | (1 << 9)) is False
    assert config.get_tactic_sources() == before
    assert config.set_tactic_sources(EVERY) is True and config.get_tactic_sources() == EVERY
