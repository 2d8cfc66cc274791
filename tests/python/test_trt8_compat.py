"""TensorRT 8's binding API (mlprt.compat) against the TensorRT 10 calls it wraps.

Engines: the zoo's two_tower (two inputs, two outputs, dynamic batch) and simple_mlp (static)."""
from __future__ import annotations

from typing import Dict

import numpy as np
import pytest

import mlprt
import mlprt.driver as cuda
from engine_helpers import build_onnx, infer
from zoo import STATIC_BATCH, ZOO, zoo_exports  # noqa: F401  (zoo_exports: fixture)

PROFILE = ((1,), (8,), (32,))


def _engine(path, spec, dynamic: bool) -> mlprt.ICudaEngine:
    return build_onnx(path, spec, PROFILE if dynamic else None)


@pytest.fixture(scope="module")
def two_tower(zoo_exports) -> mlprt.ICudaEngine:
    return _engine(zoo_exports.get("two_tower", "legacy", True), ZOO["two_tower"], True)


@pytest.fixture(scope="module")
def static_mlp(zoo_exports) -> mlprt.ICudaEngine:
    return _engine(zoo_exports.get("simple_mlp", "legacy", False), ZOO["simple_mlp"], False)


def test_engine_binding_queries_match_tensor_api(two_tower):
    engine = two_tower
    assert engine.num_bindings == engine.num_io_tensors == 4
    assert engine.max_batch_size == 1
    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    assert names == ["image", "meta", "logits", "probs"]
    assert [engine.get_binding_name(i) for i in range(engine.num_bindings)] == names
    assert list(engine) == names
    for i, name in enumerate(names):
        assert engine.get_binding_index(name) == i
        is_input = engine.get_tensor_mode(name) == mlprt.TensorIOMode.INPUT
        assert engine.binding_is_input(i) is is_input
        assert engine.binding_is_input(name) is is_input
        assert engine.get_binding_shape(i) == tuple(engine.get_tensor_shape(name))
        assert engine.get_binding_shape(name) == tuple(engine.get_tensor_shape(name))
        assert engine.get_binding_dtype(i) == engine.get_tensor_dtype(name)
        assert engine.get_binding_dtype(name) == engine.get_tensor_dtype(name)
    assert [engine.binding_is_input(i) for i in range(4)] == [True, True, False, False]
    assert engine.get_binding_shape("image") == (-1, 784)
    assert engine.get_binding_dtype(3) == mlprt.DataType.FLOAT
    assert engine.get_profile_shape(0, "meta") == engine.get_tensor_profile_shape("meta", 0)
    assert [tuple(s) for s in engine.get_profile_shape(0, 1)] == [(1, 16), (8, 16), (32, 16)]


def test_numpy_integer_indices_work(two_tower):
    assert two_tower.get_binding_name(np.int64(2)) == "logits"
    assert two_tower.binding_is_input(np.int32(0)) is True


def test_static_engine_shapes(static_mlp):
    assert static_mlp.num_bindings == 2
    assert static_mlp.get_binding_shape(0) == (STATIC_BATCH, 784)
    assert static_mlp.get_binding_shape("output") == (STATIC_BATCH, 10)


@pytest.mark.parametrize("bad", [4, -1, 100])
def test_bad_binding_index_raises_clear_error(two_tower, bad):
    for call in (two_tower.get_binding_name, two_tower.binding_is_input, two_tower.get_binding_shape,
                 two_tower.get_binding_dtype):
        with pytest.raises(IndexError, match=rf"binding index {bad} is out of range.*4 bindings"):
            call(bad)
    context = two_tower.create_execution_context()
    with pytest.raises(IndexError, match="out of range"):
        context.set_binding_shape(bad, (2, 784))
    with pytest.raises(IndexError, match="out of range"):
        context.get_binding_shape(bad)


def test_unknown_binding_name_raises_clear_error(two_tower):
    with pytest.raises(ValueError, match=r"no binding named 'imgae'.*\['image', 'meta', 'logits', 'probs'\]"):
        two_tower.get_binding_index("imgae")
    for call in (two_tower.binding_is_input, two_tower.get_binding_shape, two_tower.get_binding_dtype):
        with pytest.raises(ValueError, match="no binding named 'nope'"):
            call("nope")
    with pytest.raises(TypeError):
        two_tower.get_binding_index(0)
    with pytest.raises(TypeError):
        two_tower.get_binding_name("image")
    with pytest.raises(TypeError):
        two_tower.binding_is_input(1.5)
    context = two_tower.create_execution_context()
    with pytest.raises(ValueError, match="no binding named 'nope'"):
        context.set_binding_shape("nope", (2, 784))


def test_context_binding_shapes_match_tensor_api(two_tower):
    context = two_tower.create_execution_context()
    assert not context.all_binding_shapes_specified
    assert context.set_binding_shape(0, (7, 784)) is True
    assert context.set_binding_shape("meta", [7, 16]) is True
    assert context.all_binding_shapes_specified
    for i, name in enumerate(two_tower):
        assert context.get_binding_shape(i) == tuple(context.get_tensor_shape(name))
    assert context.get_binding_shape(2) == (7, 10)
    assert context.get_binding_shape("probs") == (7, 10)


def test_set_binding_shape_outside_profile_returns_false_like_set_input_shape(two_tower):
    context = two_tower.create_execution_context()
    other = two_tower.create_execution_context()
    assert context.set_binding_shape(0, (33, 784)) is False
    assert other.set_input_shape("image", (33, 784)) is False
    assert context.set_binding_shape(0, (32, 784)) is True


def _bindings(engine, context, feeds: Dict[str, np.ndarray]):
    """Device buffers per binding, inputs filled; (bindings, host outputs, allocations)."""
    allocations, outputs = [], {}
    for i in range(engine.num_bindings):
        name = engine.get_binding_name(i)
        shape = context.get_binding_shape(i)
        host = cuda.pagelocked_empty(shape, mlprt.nptype(engine.get_binding_dtype(i)))
        device = cuda.mem_alloc(host.nbytes)
        if engine.binding_is_input(i):
            host[...] = feeds[name]
            cuda.memcpy_htod(device, host)
        else:
            outputs[name] = (host, device)
        allocations.append(device)
    return [int(a) for a in allocations], outputs, allocations


def test_execute_async_v2_matches_execute_async_v3(two_tower):
    feeds = ZOO["two_tower"].example_inputs(6, seed=3)
    expected = infer(two_tower.create_execution_context(), feeds)
    context = two_tower.create_execution_context()
    for name, value in feeds.items():
        assert context.set_binding_shape(two_tower.get_binding_index(name), value.shape)
    bindings, outputs, keep = _bindings(two_tower, context, feeds)
    stream = cuda.Stream()
    assert context.execute_async_v2(bindings, stream.handle) is True
    for host, device in outputs.values():
        cuda.memcpy_dtoh_async(host, device, stream)
    stream.synchronize()
    for name, value in expected.items():
        np.testing.assert_array_equal(outputs[name][0], value)
    # The bindings became the tensor addresses, as with set_tensor_address.
    assert [context.get_tensor_address(n) for n in two_tower] == bindings
    del keep


def test_execute_v2_still_works_with_same_bindings(static_mlp):
    feeds = ZOO["simple_mlp"].example_inputs(STATIC_BATCH, seed=5)
    expected = infer(static_mlp.create_execution_context(), feeds)
    context = static_mlp.create_execution_context()
    bindings, outputs, keep = _bindings(static_mlp, context, feeds)
    assert context.execute_v2(bindings)
    host, device = outputs["output"]
    cuda.memcpy_dtoh(host, device)
    np.testing.assert_array_equal(host, expected["output"])
    del keep


def test_execute_async_v2_wrong_binding_count_raises(static_mlp):
    context = static_mlp.create_execution_context()
    device = cuda.mem_alloc(STATIC_BATCH * 784 * 4)
    with pytest.raises(ValueError, match="1 bindings given, the engine has 2"):
        context.execute_async_v2([int(device)], cuda.Stream().handle)


def test_execute_async_v2_freed_binding_raises_and_context_stays_usable(static_mlp):
    feeds = ZOO["simple_mlp"].example_inputs(STATIC_BATCH, seed=6)
    context = static_mlp.create_execution_context()
    bindings, outputs, keep = _bindings(static_mlp, context, feeds)
    stream = cuda.Stream()
    keep[1].free()
    with pytest.raises(ValueError):
        context.execute_async_v2(bindings, stream.handle)
    fresh = cuda.mem_alloc(STATIC_BATCH * 10 * 4)
    assert context.execute_async_v2([bindings[0], int(fresh)], stream.handle)
    result = np.empty((STATIC_BATCH, 10), np.float32)
    cuda.memcpy_dtoh_async(result, fresh, stream)
    stream.synchronize()
    np.testing.assert_array_equal(result, infer(static_mlp.create_execution_context(), feeds)["output"])


def test_compat_names_documented_as_trt8():
    for method in (mlprt.ICudaEngine.get_binding_name, mlprt.ICudaEngine.get_binding_index,
                   mlprt.ICudaEngine.binding_is_input, mlprt.ICudaEngine.get_binding_shape,
                   mlprt.ICudaEngine.get_binding_dtype, mlprt.IExecutionContext.set_binding_shape,
                   mlprt.IExecutionContext.get_binding_shape, mlprt.IExecutionContext.execute_async_v2):
        assert "TensorRT 8" in method.__doc__
    assert "TensorRT 8" in mlprt.ICudaEngine.num_bindings.__doc__
