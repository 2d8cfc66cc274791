"""ICudaEngine's I/O format queries and the auxiliary-stream names, as generic TensorRT 10 helpers
(Polygraphy's, the samples' buffer allocators) call them: every mlprt I/O tensor is row-major linear
device memory, and engines have no auxiliary streams."""
from __future__ import annotations

import numpy as np
import pytest

import mlprt
import mlprt.driver as cuda
from engine_helpers import build, infer, load, relative_error


def _affine(network: mlprt.INetworkDefinition, w: np.ndarray) -> None:
    x = network.add_input("x", mlprt.DataType.FLOAT, (-1, w.shape[0]))
    y = network.add_matrix_multiply(x, mlprt.MatrixOperation.NONE, network.add_constant(w.shape, w).get_output(0),
                                    mlprt.MatrixOperation.NONE).get_output(0)
    y.name = "y"
    network.mark_output(y)


@pytest.mark.parametrize("fp16", [False, True])
def test_io_tensors_are_linear_device_memory(rng, fp16):
    w = rng.standard_normal((13, 7)).astype(np.float32)
    engine = load(build(lambda n: _affine(n, w), profiles=[{"x": ((1, 13), (3, 13), (5, 13))}], fp16=fp16))
    for name in ("x", "y"):                                   # FP16 engines keep FP32 I/O
        assert engine.get_tensor_format(name) == mlprt.TensorFormat.LINEAR
        assert engine.get_tensor_format(name, 0) == mlprt.TensorFormat.LINEAR
        assert engine.get_tensor_format_desc(name) == "Row major linear FP32 format (kLINEAR)"
        assert engine.get_tensor_bytes_per_component(name) == 4
        assert engine.get_tensor_components_per_element(name) == 1
        assert engine.get_tensor_vectorized_dim(name) == -1
        assert engine.get_tensor_location(name) == mlprt.TensorLocation.DEVICE
        assert not engine.is_shape_inference_io(name)
    with pytest.raises(ValueError, match="no I/O tensor named 'z'"):
        engine.get_tensor_format("z")
    with pytest.raises(ValueError, match="optimization profile 1 does not exist"):
        engine.get_tensor_bytes_per_component("x", 1)
    with pytest.raises(ValueError, match="optimization profile -5 does not exist"):   # -1 alone means none
        engine.get_tensor_format("x", -5)


def test_aux_streams_are_none_and_given_ones_change_nothing(rng):
    w = rng.standard_normal((13, 7)).astype(np.float32)
    engine = load(build(lambda n: _affine(n, w), profiles=[{"x": ((1, 13), (3, 13), (5, 13))}]))
    assert engine.num_aux_streams == 0
    context = engine.create_execution_context()
    context.set_aux_streams([cuda.Stream().handle, cuda.Stream().handle])
    x = rng.standard_normal((4, 13)).astype(np.float32)
    assert relative_error(infer(context, {"x": x})["y"], x.astype(np.float64) @ w) <= 1e-5
    with pytest.raises(TypeError):
        context.set_aux_streams(5)


def test_a_generic_buffer_allocator_runs_the_engine(rng):
    """The TensorRT 10 samples' allocate_buffers, as such helpers write it: shapes from the profile's
    max, sizes from get_tensor_bytes_per_component, the I/O mode from get_tensor_mode."""
    w = rng.standard_normal((13, 7)).astype(np.float32)
    engine = load(build(lambda n: _affine(n, w), profiles=[{"x": ((1, 13), (3, 13), (5, 13))}]))
    context = engine.create_execution_context()
    stream = cuda.Stream()
    host, device = {}, {}
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        assert engine.get_tensor_format(name) == mlprt.TensorFormat.LINEAR
        if engine.get_tensor_mode(name) == mlprt.TensorIOMode.INPUT:
            shape = engine.get_tensor_profile_shape(name, 0)[-1]
        else:
            shape = (5, 7)
        size = int(np.prod(shape)) * engine.get_tensor_bytes_per_component(name)
        host[name] = cuda.pagelocked_empty(tuple(shape), mlprt.nptype(engine.get_tensor_dtype(name)))
        device[name] = cuda.mem_alloc(size)
        context.set_tensor_address(name, int(device[name]))
    x = rng.standard_normal((5, 13)).astype(np.float32)
    np.copyto(host["x"], x)
    assert context.set_input_shape("x", x.shape)
    cuda.memcpy_htod_async(device["x"], host["x"], stream)
    assert context.execute_async_v3(stream.handle)
    cuda.memcpy_dtoh_async(host["y"], device["y"], stream)
    stream.synchronize()
    assert relative_error(host["y"], x.astype(np.float64) @ w) <= 1e-5


def test_strides_and_engine_settings(rng):
    # get_tensor_strides: row-major strides in elements at the shapes set; the engine settings a
    # TensorRT 10 script reads back (refit, verbosity, capability, compatibility, memory per profile).
    w = rng.standard_normal((13, 7)).astype(np.float32)
    engine = load(build(lambda n: _affine(n, w), profiles=[{"x": ((1, 13), (3, 13), (5, 13))}]))
    context = engine.create_execution_context()
    with pytest.raises(ValueError, match=r"'x' has shape \(-1, 13\) with unknown extents; set the input shapes"):
        context.get_tensor_strides("x")
    assert context.set_input_shape("x", (4, 13))
    assert context.get_tensor_strides("x") == (13, 1) and context.get_tensor_strides("y") == (7, 1)
    with pytest.raises(ValueError, match="'z'"):
        context.get_tensor_strides("z")
    assert engine.refittable is False
    assert engine.profiling_verbosity == mlprt.ProfilingVerbosity.DETAILED
    assert engine.engine_capability == mlprt.EngineCapability.STANDARD
    assert engine.hardware_compatibility_level == mlprt.HardwareCompatibilityLevel.NONE
    assert engine.get_device_memory_size_for_profile(0) == engine.device_memory_size
    with pytest.raises(ValueError, match="optimization profile 1 does not exist"):
        engine.get_device_memory_size_for_profile(1)
