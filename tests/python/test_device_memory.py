"""Execution contexts on device memory the user manages: TensorRT 8's
create_execution_context_without_device_memory + context.device_memory (the pattern of NVIDIA's
diffusion demo, several engines sharing one allocation) and TensorRT 10's USER_MANAGED strategy
with set_device_memory."""
from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

import mlprt
import mlprt.driver as cuda
from engine_helpers import build, infer, load
from mlprt.engine_tools import build_engine
from test_engine_workflow import DYNAMIC, mlp_reference, mlp_weights, simple_mlp


def shape_steps_model() -> bytes:
    """y = x + CumSum(ConstantOfShape(Shape(x)), axis 1): two steps that depend only on x's shape
    (run once per shapes by a context with its own memory)."""
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("ConstantOfShape", ["s"], ["c"],
                              value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])),
             helper.make_node("CumSum", ["c", "axis"], ["r"]),
             helper.make_node("Add", ["x", "r"], ["y"])]
    graph = helper.make_graph(nodes, "shape_steps", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 6])],
                              initializer=[helper.make_tensor("axis", TensorProto.INT64, [], [1])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


@pytest.fixture(scope="module")
def engines():
    weights = mlp_weights(np.random.default_rng(5))
    mlp = load(bytes(build(simple_mlp(weights), DYNAMIC)))
    steps = load(build_engine(shape_steps_model(), profiles=[{"x": ((1, 6), (4, 6), (8, 6))}]))
    return weights, mlp, steps


def test_engines_share_one_allocation_as_the_diffusion_demo_does(engines):
    weights, mlp, steps = engines
    shared = cuda.mem_alloc(max(mlp.device_memory_size, steps.device_memory_size))
    contexts = []
    for engine in (mlp, steps):
        context = engine.create_execution_context_without_device_memory()
        context.device_memory = int(shared)
        assert context.device_memory_size == engine.device_memory_size
        contexts.append(context)
    rng = np.random.default_rng(6)
    x_steps = rng.standard_normal((5, 6)).astype(np.float32)
    expected_steps = cumulative(x_steps)
    for _ in range(2):  # each run writes over the other context's activations
        x = rng.standard_normal((3, 784)).astype(np.float32)
        out = infer(contexts[0], {"input": x})["output"]
        np.testing.assert_allclose(out, mlp_reference(x, weights), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(infer(contexts[1], {"x": x_steps})["y"], expected_steps, rtol=1e-6)
    # The shape-only steps run again on each call: garbage written over the shared memory between
    # two runs at the same shapes does not reach the output.
    cuda.memcpy_htod(shared, np.full(max(mlp.device_memory_size, steps.device_memory_size) // 4, 7e7, np.float32))
    np.testing.assert_allclose(infer(contexts[1], {"x": x_steps})["y"], expected_steps, rtol=1e-6)


def cumulative(x: np.ndarray) -> np.ndarray:
    """The shape-steps model's answer."""
    return x + np.cumsum(np.ones(x.shape, np.float32), axis=1)


def test_tensorrt_10_user_managed_strategy(engines):
    # The shape-steps engine keeps its shape-only results in its device memory on every device
    # (the MLP may fuse into one step that needs none: 0 bytes on an H100).
    weights, mlp, steps = engines
    assert steps.device_memory_size_v2 == steps.device_memory_size > 0
    context = steps.create_execution_context(mlprt.ExecutionContextAllocationStrategy.USER_MANAGED)
    memory = cuda.mem_alloc(steps.device_memory_size_v2 + 256)
    context.set_device_memory(int(memory) + 256, steps.device_memory_size_v2)  # any 256-byte aligned place
    assert context.update_device_memory_size_for_shapes() == steps.device_memory_size
    x = np.random.default_rng(9).standard_normal((7, 6)).astype(np.float32)
    np.testing.assert_allclose(infer(context, {"x": x})["y"], cumulative(x), rtol=1e-6)
    static = mlp.create_execution_context(mlprt.ExecutionContextAllocationStrategy.STATIC)
    x = np.random.default_rng(9).standard_normal((7, 784)).astype(np.float32)
    np.testing.assert_allclose(infer(static, {"input": x})["output"], mlp_reference(x, weights), rtol=1e-5, atol=1e-5)


def test_missing_or_bad_device_memory_is_refused_by_name(engines):
    _, _, steps = engines
    context = steps.create_execution_context_without_device_memory()
    x = np.random.default_rng(10).standard_normal((2, 6)).astype(np.float32)
    with pytest.raises(ValueError, match="has no device memory.*context.device_memory"):
        infer(context, {"x": x})
    size = steps.device_memory_size
    small = cuda.mem_alloc(16)
    memory = cuda.mem_alloc(size + 512)
    cases = [(lambda: context.set_device_memory(int(memory), size - 1), f"{size - 1} bytes given; the context needs {size}"),
             (lambda: setattr(context, "device_memory", 12345), "12345 is not an mlprt device address"),
             (lambda: setattr(context, "device_memory", int(memory) + 4), "4 bytes into its allocation.*multiple of 256"),
             (lambda: setattr(context, "device_memory", int(small)), "device_memory")]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
    with pytest.raises(AttributeError, match="write-only"):
        context.device_memory
    # Still usable: good memory, then a run; memory freed under it is refused, not used.
    context.device_memory = memory
    np.testing.assert_allclose(infer(context, {"x": x})["y"], cumulative(x), rtol=1e-6)
    memory.free()
    with pytest.raises(ValueError, match="was freed"):
        infer(context, {"x": x})
