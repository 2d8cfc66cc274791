"""BuilderFlag and IBuilderConfig.flags as TensorRT scripts use them: ``config.flags = 1 <<
int(trt.BuilderFlag.FP16)`` (TensorRT 7 and 8 tutorials), TensorRT 10's members and numbers, the flags
mlprt honours, and a clear refusal for those it cannot."""
from __future__ import annotations

from typing import List

import numpy as np
import pytest

import mlprt
from engine_helpers import RecordingLogger, chained_products, infer, load, relative_error

Flag = mlprt.BuilderFlag


def build_with(flags: int, weights: List[np.ndarray], logger: RecordingLogger,
               cache: "mlprt.ITimingCache | None" = None) -> mlprt.ICudaEngine:
    builder = mlprt.Builder(logger)
    network = builder.create_network(1 << int(mlprt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    chained_products(network, weights)
    config = builder.create_builder_config()
    config.flags = flags
    if cache is not None:
        assert config.set_timing_cache(cache, ignore_mismatch=False)
    plan = builder.build_serialized_network(network, config)
    assert plan is not None, logger.errors()
    return load(plan)


def test_members_carry_tensorrt_10s_numbers():
    assert [int(Flag.FP16), int(Flag.INT8), int(Flag.REFIT), int(Flag.DISABLE_TIMING_CACHE), int(Flag.TF32),
            int(Flag.OBEY_PRECISION_CONSTRAINTS), int(Flag.DIRECT_IO)] == [0, 1, 4, 5, 6, 9, 11]
    assert int(Flag.STRICT_TYPES) not in {int(f) for name, f in Flag.__members__.items() if name != "STRICT_TYPES"}


def test_the_mask_round_trips_through_flags_and_get_flag():
    config = mlprt.Builder(RecordingLogger()).create_builder_config()
    assert config.flags == 0
    config.flags = 1 << int(Flag.FP16) | 1 << int(Flag.OBEY_PRECISION_CONSTRAINTS)
    assert config.get_flag(Flag.FP16) and config.get_flag(Flag.OBEY_PRECISION_CONSTRAINTS)
    assert not config.get_flag(Flag.TF32)
    config.flags = config.flags & ~(1 << int(Flag.FP16))      # as tutorials clear one
    assert not config.get_flag(Flag.FP16)
    config.set_flag(Flag.TF32)
    assert config.flags == 1 << int(Flag.OBEY_PRECISION_CONSTRAINTS) | 1 << int(Flag.TF32)
    config.flags = 0
    assert config.flags == 0 and not config.get_flag(Flag.TF32)


@pytest.mark.parametrize("flag", ["REFIT", "DEBUG", "DIRECT_IO", "SAFETY_SCOPE", "VERSION_COMPATIBLE",
                                  "ERROR_ON_TIMING_CACHE_MISS", "STRIP_PLAN", "WEIGHT_STREAMING"])
def test_flags_mlprt_cannot_honour_are_refused_by_name_and_change_nothing(flag):
    config = mlprt.Builder(RecordingLogger()).create_builder_config()
    config.set_flag(Flag.FP16)
    with pytest.raises(ValueError, match=f"BuilderFlag.{flag}: "):
        config.set_flag(Flag.__members__[flag])
    with pytest.raises(ValueError, match=f"BuilderFlag.{flag}: "):
        config.flags = 1 << int(Flag.TF32) | 1 << int(Flag.__members__[flag])
    assert config.flags == 1 << int(Flag.FP16)              # neither call changed it


def test_a_bit_that_names_no_flag_is_refused():
    config = mlprt.Builder(RecordingLogger()).create_builder_config()
    with pytest.raises(ValueError, match=r"bit 29 \(1 << 29\) names no BuilderFlag"):
        config.flags = 1 << int(Flag.FP16) | 1 << 29
    for value in (29, 40):                                   # Flag(value) exists in Python, names no flag
        with pytest.raises(ValueError, match=f"BuilderFlag {value}: it names no flag"):
            config.set_flag(Flag(value))
        assert not config.get_flag(Flag(value))
        config.clear_flag(Flag(value))
    assert config.flags == 0


def test_fp16_through_the_mask_builds_what_set_flag_builds(rng):
    weights = [rng.standard_normal((48, 48)).astype(np.float32) / 7 for _ in range(2)]
    x = rng.standard_normal((2, 8, 48)).astype(np.float32)
    reference = x.astype(np.float64) @ weights[0] @ weights[1]
    fp32 = infer(build_with(0, weights, RecordingLogger()).create_execution_context(), {"input": x})["output"]
    fp16 = infer(build_with(1 << int(Flag.FP16), weights, RecordingLogger()).create_execution_context(),
                 {"input": x})["output"]
    assert relative_error(fp32, reference) <= 1e-5
    assert 1e-5 < relative_error(fp16, reference) <= 1e-2     # half storage: FP16 indeed


def test_precisions_without_kernels_warn_and_build_in_fp32(rng):
    logger = RecordingLogger()
    config = mlprt.Builder(logger).create_builder_config()
    config.set_flag(Flag.INT8)
    assert config.get_flag(Flag.INT8)
    warnings = [m for s, m in logger.messages if s == mlprt.Logger.WARNING and "BuilderFlag.INT8" in m]
    assert len(warnings) == 1 and "no kernels" in warnings[0], logger.messages
    weights = [rng.standard_normal((48, 48)).astype(np.float32) / 7 for _ in range(2)]
    x = rng.standard_normal((2, 8, 48)).astype(np.float32)
    out = infer(build_with(1 << int(Flag.INT8) | 1 << int(Flag.BF16), weights, RecordingLogger())
                .create_execution_context(), {"input": x})["output"]
    assert relative_error(out, x.astype(np.float64) @ weights[0] @ weights[1]) <= 1e-5


def test_disable_timing_cache_times_every_layer_and_leaves_the_cache_alone(rng):
    """TensorRT's DISABLE_TIMING_CACHE: no reuse of timings across identical layers. Without it the
    second of two equal products takes the first's tactic from the build's cache; with it both are
    timed, and a cache the config holds is neither read nor extended."""
    weights = [rng.standard_normal((48, 48)).astype(np.float32) for _ in range(2)]
    x = rng.standard_normal((2, 8, 48)).astype(np.float32)
    expected = x.astype(np.float64) @ weights[0] @ weights[1]

    def timed_and_cached(logger: RecordingLogger):
        said = [m for _, m in logger.messages]
        return sum("': chose " in m for m in said), sum("from the timing cache" in m for m in said)

    logger = RecordingLogger()
    build_with(0, weights, logger)
    assert timed_and_cached(logger) == (1, 1), logger.messages

    config = mlprt.Builder(RecordingLogger()).create_builder_config()
    cache = config.create_timing_cache(b"")
    assert config.set_timing_cache(cache, ignore_mismatch=False)   # an empty cache takes the device's name
    empty = bytes(cache.serialize())
    logger = RecordingLogger()
    engine = build_with(1 << int(Flag.DISABLE_TIMING_CACHE), weights, logger, cache=cache)
    assert timed_and_cached(logger) == (2, 0), logger.messages
    assert bytes(cache.serialize()) == empty
    out = infer(engine.create_execution_context(), {"input": x})["output"]
    assert relative_error(out, expected) <= 1e-5


# ---- The other TensorRT settings scripts set on a config ---------------------------------------

def test_settings_take_the_values_mlprt_engines_meet():
    """profiling_verbosity (DETAILED by default: mlprt engines keep every layer's details; TensorRT
    8.0's VERBOSE and DEFAULT are DETAILED and LAYER_NAMES_ONLY), max_aux_streams (-1 by default,
    any limit taken: every layer runs on the context's stream), and the one value each of
    engine_capability, hardware_compatibility_level, default_device_type and DLA_core."""
    builder = mlprt.Builder(RecordingLogger())
    config = builder.create_builder_config()
    assert config.profiling_verbosity == mlprt.ProfilingVerbosity.DETAILED
    config.profiling_verbosity = mlprt.ProfilingVerbosity.LAYER_NAMES_ONLY
    assert config.profiling_verbosity == mlprt.ProfilingVerbosity.DEFAULT
    config.profiling_verbosity = mlprt.ProfilingVerbosity.VERBOSE
    assert config.profiling_verbosity == mlprt.ProfilingVerbosity.DETAILED
    assert config.max_aux_streams == -1
    for streams in (0, 4, -1):
        config.max_aux_streams = streams
        assert config.max_aux_streams == streams
    config.engine_capability = mlprt.EngineCapability.STANDARD
    config.hardware_compatibility_level = mlprt.HardwareCompatibilityLevel.NONE
    config.default_device_type = mlprt.DeviceType.GPU
    config.DLA_core = -1
    assert (config.engine_capability, config.hardware_compatibility_level, config.default_device_type,
            config.DLA_core, builder.num_DLA_cores) == (mlprt.EngineCapability.STANDARD,
                                                       mlprt.HardwareCompatibilityLevel.NONE,
                                                       mlprt.DeviceType.GPU, -1, 0)


@pytest.mark.parametrize("setting, value, message", [
    ("profiling_verbosity", lambda: mlprt.ProfilingVerbosity.NONE, "profiling_verbosity NONE: "),
    ("max_aux_streams", lambda: -2, "max_aux_streams is -2"),
    ("engine_capability", lambda: mlprt.EngineCapability.SAFETY, "engine_capability SAFETY: "),
    ("hardware_compatibility_level", lambda: mlprt.HardwareCompatibilityLevel.AMPERE_PLUS,
     "hardware_compatibility_level AMPERE_PLUS: "),
    ("default_device_type", lambda: mlprt.DeviceType.DLA, "default_device_type DLA: "),
    ("DLA_core", lambda: 0, "DLA_core 0: "),
])
def test_values_mlprt_engines_cannot_meet_are_refused_by_name(setting, value, message):
    config = mlprt.Builder(RecordingLogger()).create_builder_config()
    before = getattr(config, setting)
    with pytest.raises(ValueError, match=message):
        setattr(config, setting, value())
    assert getattr(config, setting) == before


def test_a_tutorial_config_with_these_settings_builds(rng):
    """As YOLO export scripts write it: DETAILED, no aux streams, FP16 through the mask; the
    inspector still describes every layer."""
    logger = RecordingLogger()
    builder = mlprt.Builder(logger)
    network = builder.create_network(0)
    weights = [rng.standard_normal((48, 48)).astype(np.float32) / 7 for _ in range(2)]
    chained_products(network, weights)
    config = builder.create_builder_config()
    config.profiling_verbosity = mlprt.ProfilingVerbosity.DETAILED
    config.max_aux_streams = 0
    config.flags = 1 << int(Flag.FP16)
    engine = load(builder.build_serialized_network(network, config))
    text = engine.create_engine_inspector().get_engine_information(mlprt.LayerInformationFormat.ONELINE)
    assert "FP16" in text and text.count("\n") >= 3, text
    x = rng.standard_normal((2, 8, 48)).astype(np.float32)
    out = infer(engine.create_execution_context(), {"input": x})["output"]
    assert relative_error(out, x.astype(np.float64) @ weights[0] @ weights[1]) <= 1e-2
