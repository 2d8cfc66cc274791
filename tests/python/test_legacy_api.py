"""TensorRT 7/8 names kept for old tutorials (mlprt.compat): each behaves as in the TensorRT
version that had it, gives the same results as the TensorRT 10 calls, and says once, through
the logger of the object it was called on, which TensorRT 10 call replaces it."""
from __future__ import annotations

from typing import List, Tuple

import numpy as np
import pytest

import mlprt as trt
import mlprt.driver as cuda

Severity = trt.ILogger.Severity
rng = np.random.default_rng(1234)
W1 = rng.uniform(-0.5, 0.5, (32, 24)).astype(np.float32)
W2 = rng.uniform(-0.5, 0.5, (24, 6)).astype(np.float32)


class Recorder(trt.ILogger):
    """Keeps every message."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: List[Tuple[Severity, str]] = []

    def log(self, severity, msg):
        self.messages.append((severity, msg))

    def having(self, text: str) -> List[Tuple[Severity, str]]:
        return [(s, m) for s, m in self.messages if text in m]


def reference(x: np.ndarray) -> np.ndarray:
    return np.maximum(x @ W1, 0) @ W2


def make_network(builder: trt.Builder, batch: int) -> trt.INetworkDefinition:
    """x (batch x 32) -> MatMul W1 -> ReLU -> MatMul W2 -> y (batch x 6); batch -1 is dynamic."""
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    x = network.add_input("x", trt.DataType.FLOAT, (batch, 32))
    w1 = network.add_constant((32, 24), W1).get_output(0)
    hidden = network.add_matrix_multiply(x, trt.MatrixOperation.NONE, w1, trt.MatrixOperation.NONE)
    relu = network.add_activation(hidden.get_output(0), trt.ActivationType.RELU)
    w2 = network.add_constant((24, 6), W2).get_output(0)
    out = network.add_matrix_multiply(relu.get_output(0), trt.MatrixOperation.NONE, w2,
                                      trt.MatrixOperation.NONE)
    out.get_output(0).name = "y"
    network.mark_output(out.get_output(0))
    return network


class Buffers:
    """Device buffers for x and y of the test network, and the bindings list."""

    def __init__(self, batch: int) -> None:
        self.x = rng.uniform(-1, 1, (batch, 32)).astype(np.float32)
        self.y = np.zeros((batch, 6), np.float32)
        self.d_x = cuda.to_device(self.x)
        self.d_y = cuda.mem_alloc(self.y.nbytes)
        self.bindings = [int(self.d_x), int(self.d_y)]

    def result(self) -> np.ndarray:
        cuda.memcpy_dtoh(self.y, self.d_y)
        return self.y


@pytest.fixture(scope="module")
def static_engine():
    logger = Recorder()
    builder = trt.Builder(logger)
    engine = builder.build_cuda_engine(make_network(builder, 5))
    assert engine is not None, logger.messages
    return engine, logger


def test_builder_fields_defaults_and_settable():
    logger = Recorder()
    builder = trt.Builder(logger)
    assert isinstance(builder, trt._core.Builder) and type(builder).__name__ == "Builder"
    assert (builder.max_batch_size, builder.max_workspace_size, builder.fp16_mode,
            builder.int8_mode, builder.strict_type_constraints) == (1, 0, False, False, False)
    builder.max_batch_size = 64
    builder.max_workspace_size = 1 << 30
    builder.fp16_mode = True
    builder.int8_mode = True
    builder.strict_type_constraints = True
    assert (builder.max_batch_size, builder.max_workspace_size, builder.fp16_mode,
            builder.int8_mode, builder.strict_type_constraints) == (64, 1 << 30, True, True, True)
    other = trt.Builder(logger)
    assert other.max_batch_size == 1 and other.fp16_mode is False  # per instance
    assert builder.platform_has_fast_int8 is False


def test_builder_fields_refuse_bad_values():
    builder = trt.Builder(Recorder())
    with pytest.raises(ValueError, match="max_batch_size must be at least 1, got 0"):
        builder.max_batch_size = 0
    with pytest.raises(TypeError, match="max_batch_size is an integer"):
        builder.max_batch_size = 2.5
    with pytest.raises(ValueError, match="max_workspace_size cannot be negative"):
        builder.max_workspace_size = -1
    with pytest.raises(TypeError, match="max_workspace_size is a number of bytes"):
        builder.max_workspace_size = "1GB"
    with pytest.raises(TypeError, match="build_cuda_engine takes an INetworkDefinition"):
        builder.build_cuda_engine("network")


@pytest.mark.parametrize("field, severity, replacement", [
    ("max_batch_size", Severity.WARNING, "explicit batch dimensions"),
    ("max_workspace_size", Severity.INFO, "config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, size)"),
    ("fp16_mode", Severity.INFO, "config.set_flag(trt.BuilderFlag.FP16)"),
    ("int8_mode", Severity.WARNING, "config.set_flag(trt.BuilderFlag.INT8)"),
    ("strict_type_constraints", Severity.INFO, "OBEY_PRECISION_CONSTRAINTS"),
])
def test_each_field_announces_its_replacement_once_per_logger(field, severity, replacement):
    first, second = Recorder(), Recorder()
    builder = trt.Builder(first)
    for _ in range(3):
        setattr(builder, field, getattr(builder, field) or 1)
    announced = first.having(f"Builder.{field} was removed in TensorRT")
    assert len(announced) == 1 and announced[0][0] == severity and replacement in announced[0][1]
    trt.Builder(second).__getattribute__(field)
    assert len(second.having(f"Builder.{field} was removed")) == 1  # its own logger hears it too


def test_build_cuda_engine_runs_and_matches_numpy(static_engine):
    engine, logger = static_engine
    assert isinstance(engine, trt.ICudaEngine)
    assert engine.get_tensor_shape("x") == (5, 32)
    assert len(logger.having("Builder.build_cuda_engine was removed in TensorRT 8")) == 1
    context = engine.create_execution_context()
    buffers = Buffers(5)
    assert context.execute(batch_size=5, bindings=buffers.bindings) is True
    np.testing.assert_allclose(buffers.result(), reference(buffers.x), rtol=1e-5, atol=1e-5)
    # The same engine through TensorRT 10's calls gives the same bytes.
    again = Buffers(5)
    again.x[:] = buffers.x
    cuda.memcpy_htod(again.d_x, again.x)
    assert context.execute_v2(again.bindings)
    np.testing.assert_array_equal(again.result(), buffers.y)


def test_build_cuda_engine_uses_fp16_mode_and_workspace():
    logger = Recorder()
    builder = trt.Builder(logger)
    builder.fp16_mode = True
    builder.max_workspace_size = 1 << 26
    config = builder._legacy_config()
    assert config.get_flag(trt.BuilderFlag.FP16)
    assert config.get_memory_pool_limit(trt.MemoryPoolType.WORKSPACE) == 1 << 26
    engine = builder.build_cuda_engine(make_network(builder, 5))
    buffers = Buffers(5)
    engine.create_execution_context().execute(5, buffers.bindings)
    result, expected = buffers.result(), reference(buffers.x)
    np.testing.assert_allclose(result, expected, rtol=2e-2, atol=2e-2)
    assert np.abs(result - expected).max() > 1e-6  # FP16 arithmetic, not the FP32 engine


def test_build_cuda_engine_refuses_dynamic_inputs_as_tensorrt_7_did():
    logger = Recorder()
    builder = trt.Builder(logger)
    assert builder.build_cuda_engine(make_network(builder, -1)) is None
    errors = [m for s, m in logger.messages if s == Severity.ERROR]
    assert len(errors) == 1
    assert "'x' (-1, 32)" in errors[0] and "build_engine(network, config)" in errors[0]


def test_build_engine_with_profile_and_serialize():
    logger = Recorder()
    builder = trt.Builder(logger)
    network = make_network(builder, -1)
    config = builder.create_builder_config()
    config.max_workspace_size = 1 << 27
    assert config.get_memory_pool_limit(trt.MemoryPoolType.WORKSPACE) == 1 << 27
    assert config.max_workspace_size == 1 << 27
    profile = builder.create_optimization_profile()
    profile.set_shape("x", (1, 32), (4, 32), (16, 32))
    config.add_optimization_profile(profile)
    engine = builder.build_engine(network, config)
    assert isinstance(engine, trt.ICudaEngine)
    assert len(logger.having("Builder.build_engine was removed in TensorRT 10")) == 1
    assert len(logger.having("IBuilderConfig.max_workspace_size was removed")) == 1
    serialized = engine.serialize()
    assert isinstance(serialized, trt.IHostMemory) and serialized.nbytes > 0
    with trt.Runtime(logger) as runtime:
        loaded = runtime.deserialize_cuda_engine(serialized)
    context = loaded.create_execution_context()
    for batch in (1, 9, 16):
        assert context.set_binding_shape(0, (batch, 32))
        buffers = Buffers(batch)
        stream = cuda.Stream()
        assert context.execute_async_v2(buffers.bindings, stream.handle)
        stream.synchronize()
        np.testing.assert_allclose(buffers.result(), reference(buffers.x), rtol=1e-5, atol=1e-5)
    # Engines from mlprt.Runtime speak through its logger: the binding API says it once.
    assert len(logger.having("IExecutionContext.set_binding_shape was removed")) == 1
    assert len(logger.having("IExecutionContext.execute_async_v2 was removed")) == 1


def test_build_engine_failure_returns_none():
    logger = Recorder()
    builder = trt.Builder(logger)
    # A dynamic input and no profile: TensorRT 8 returned None with the reason logged.
    assert builder.build_engine(make_network(builder, -1), builder.create_builder_config()) is None
    assert any(s == Severity.ERROR for s, _ in logger.messages)


def test_execute_async_ignores_batch_size_warning_once(static_engine):
    engine, logger = static_engine
    context = engine.create_execution_context()
    before = len(logger.having("execute_async: batch_size="))
    stream = cuda.Stream()
    for batch_size in (5, 1, 3):
        buffers = Buffers(5)
        event = cuda.Event()
        assert context.execute_async(batch_size=batch_size, bindings=buffers.bindings,
                                     stream_handle=stream.handle, input_consumed=event)
        stream.synchronize()
        assert event.query()
        np.testing.assert_allclose(buffers.result(), reference(buffers.x), rtol=1e-5, atol=1e-5)
    warned = logger.having("execute_async: batch_size=")
    assert len(warned) - before == 1
    assert warned[-1][0] == Severity.WARNING and "batch_size=1 is ignored" in warned[-1][1]
    assert "bound with batch 5" in warned[-1][1]
    assert len(logger.having("IExecutionContext.execute_async was removed in TensorRT 10")) == 1


def test_execute_refuses_bad_arguments(static_engine):
    engine, _ = static_engine
    context = engine.create_execution_context()
    buffers = Buffers(5)
    with pytest.raises(ValueError, match="1 bindings given, the engine has 2"):
        context.execute(5, buffers.bindings[:1])
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        context.execute(0, buffers.bindings)
    with pytest.raises(TypeError, match="batch_size is an integer"):
        context.execute_async("5", buffers.bindings, 0)
    with pytest.raises(ValueError, match="3 bindings given"):
        context.execute_async(5, buffers.bindings + [0], 0)


def test_every_tensorrt_object_is_a_context_manager(static_engine, tmp_path):
    logger = Recorder()
    onnx_path = tmp_path / "m.onnx"
    import onnx
    from onnx import helper
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2, 3])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(onnx_path))
    with trt.Builder(logger) as builder, builder.create_network(0) as network, \
            trt.OnnxParser(network, logger) as parser, builder.create_builder_config() as config:
        assert isinstance(builder, trt.Builder) and isinstance(network, trt.INetworkDefinition)
        assert parser.parse(onnx_path.read_bytes())
        with builder.build_serialized_network(network, config) as plan, trt.Runtime(logger) as runtime:
            assert isinstance(plan, trt.IHostMemory)
            with runtime.deserialize_cuda_engine(plan) as engine, \
                    engine.create_execution_context() as context:
                assert isinstance(context, trt.IExecutionContext)
                x = rng.uniform(-1, 1, (2, 3)).astype(np.float32)
                d_x, d_y = cuda.to_device(x), cuda.mem_alloc(x.nbytes)
                assert context.execute_v2([int(d_x), int(d_y)])
                np.testing.assert_array_equal(cuda.from_device(d_y, (2, 3), np.float32), np.maximum(x, 0))
    announced = logger.having("'with' on TensorRT objects is deprecated since TensorRT 8")
    assert len(announced) == 1 and announced[0][0] == Severity.INFO
    with pytest.raises(KeyError):  # exceptions pass through __exit__
        with static_engine[0]:
            raise KeyError("inside")


def test_init_libnvinfer_plugins():
    logger = Recorder()
    assert trt.init_libnvinfer_plugins(logger, "") is True
    assert logger.messages == [(Severity.VERBOSE, "init_libnvinfer_plugins(namespace=''): mlprt "
                                                  "has no plugin library; nothing to register")]
    with pytest.raises(TypeError, match="namespace is a str"):
        trt.init_libnvinfer_plugins(logger, None)
    with pytest.raises(TypeError, match="a logger needs a log"):
        trt.init_libnvinfer_plugins(object(), "")


def test_binding_api_announces_through_the_engine_logger(static_engine):
    engine, logger = static_engine
    for _ in range(2):
        assert engine.num_bindings == 2 and engine.max_batch_size == 1
        assert engine.get_binding_shape(0) == (5, 32) and engine.binding_is_input("x")
    for name in ("num_bindings", "max_batch_size", "get_binding_shape", "binding_is_input"):
        announced = logger.having(f"ICudaEngine.{name} was removed in TensorRT 10")
        assert len(announced) == 1 and announced[0][0] == Severity.INFO
    assert "engine.get_tensor_shape(name)" in logger.having("ICudaEngine.get_binding_shape")[0][1]
