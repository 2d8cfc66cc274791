"""BuilderFlag.TF32: FP32 products may run on TF32 tensor cores where the device has them
(NVIDIA GPUs whose tensor-core probe passes), at about 1e-3 relative error; elsewhere, and
without the flag, FP32 stays exact FP32."""
from __future__ import annotations

import numpy as np

import mlprt
from engine_helpers import RecordingLogger, infer, load

K = N = 256
BATCH = 512


def build_matmul(weights: np.ndarray, tf32: bool) -> tuple:
    """x (BATCH, K) @ W (K, N) with or without BuilderFlag.TF32; (engine, timed tactic text)."""
    logger = RecordingLogger()
    builder = mlprt.Builder(logger)
    network = builder.create_network(0)
    x = network.add_input("x", mlprt.DataType.FLOAT, (BATCH, K))
    w = network.add_constant((K, N), weights).get_output(0)
    y = network.add_matrix_multiply(x, mlprt.MatrixOperation.NONE, w, mlprt.MatrixOperation.NONE).get_output(0)
    y.name = "y"
    network.mark_output(y)
    config = builder.create_builder_config()
    if tf32:
        config.set_flag(mlprt.BuilderFlag.TF32)
    assert config.get_flag(mlprt.BuilderFlag.TF32) == tf32
    plan = builder.build_serialized_network(network, config)
    assert plan is not None, logger.errors()
    timed = "\n".join(message for _, message in logger.messages if "(timed" in message)
    return load(bytes(plan)), timed, builder.platform_has_tf32


def test_tf32_flag_offers_tensor_cores_only_where_the_device_has_them() -> None:
    rng = np.random.default_rng(3)
    weights = rng.uniform(-1, 1, (K, N)).astype(np.float32)
    x = rng.uniform(-1, 1, (BATCH, K)).astype(np.float32)
    expected = x.astype(np.float64) @ weights.astype(np.float64)
    scale = np.abs(expected).max()

    exact, timed_exact, has_tf32 = build_matmul(weights, tf32=False)
    assert "mma_tf32" not in timed_exact  # never without the flag
    y = infer(exact.create_execution_context(), {"x": x})["y"]
    assert np.abs(y - expected).max() / scale <= 1e-5

    relaxed, timed_tf32, _ = build_matmul(weights, tf32=True)
    device = mlprt.current_device()
    nvidia = "nvidia" in (device.vendor + " " + device.platform).lower()
    if not nvidia:
        assert has_tf32 is False and "mma_tf32" not in timed_tf32
    assert has_tf32 == ("mma_tf32" in timed_tf32)  # the flag adds exactly the TF32 tactics
    y = infer(relaxed.create_execution_context(), {"x": x})["y"]
    # TF32 rounds inputs to 10 mantissa bits and accumulates in float: ~1e-3 relative.
    assert np.abs(y - expected).max() / scale <= (5e-3 if has_tf32 else 1e-5)
