"""A cuda-python-style TensorRT 10 tutorial: HostDeviceMem on cudaMallocHost/cudaMalloc,
``allocate_buffers(engine, profile_idx)``, ``set_tensor_address`` and ``execute_async_v3``.

Only the imports differ from the cuda-python original: ``import mlprt as trt`` for ``import
tensorrt as trt`` and ``from mlprt import cudart`` for ``from cuda import cudart``.

    python examples/tutorials/cudart_allocate_buffers.py [--workdir DIR]
"""
from __future__ import annotations

import ctypes
from typing import Any, List, Optional, Tuple

import numpy as np

import mlprt as trt
from mlprt import cudart

from common import (build_engine, check, export_onnx, finish, load_engine, make_model, parse_args,
                    pytorch_reference)

PROFILE = ((1, 784), (16, 784), (64, 784))


def check_cuda_err(err: Any) -> None:
    if err != cudart.cudaError_t.cudaSuccess:
        raise RuntimeError(f"CUDA runtime error: {cudart.cudaGetErrorName(err)[1].decode()}")


def cuda_call(call: Tuple[Any, ...]) -> Any:
    """Checks the error code of a cudart call and returns its value (None if it has none)."""
    err, *rest = call
    check_cuda_err(err)
    return rest[0] if len(rest) == 1 else None


class HostDeviceMem:
    """``size`` elements of pinned host memory (viewed as NumPy) and as many device bytes."""

    def __init__(self, size: int, dtype: np.dtype) -> None:
        nbytes = size * dtype.itemsize
        host_mem = cuda_call(cudart.cudaMallocHost(nbytes))
        pointer_type = ctypes.POINTER(np.ctypeslib.as_ctypes_type(dtype))
        self._host = np.ctypeslib.as_array(ctypes.cast(host_mem, pointer_type), (size,))
        self._device = cuda_call(cudart.cudaMalloc(nbytes))
        self._nbytes = nbytes

    @property
    def host(self) -> np.ndarray:
        return self._host

    @host.setter
    def host(self, data: np.ndarray) -> None:
        if data.size > self._host.size:
            raise ValueError(f"{data.size} elements do not fit in {self._host.size}")
        np.copyto(self._host[:data.size], data.flat, casting="safe")

    @property
    def device(self) -> int:
        return self._device

    @property
    def nbytes(self) -> int:
        return self._nbytes

    def free(self) -> None:
        cuda_call(cudart.cudaFree(self._device))
        cuda_call(cudart.cudaFreeHost(self._host.ctypes.data))


def allocate_buffers(engine: "trt.ICudaEngine", profile_idx: Optional[int] = None
                     ) -> Tuple[List[HostDeviceMem], List[HostDeviceMem], List[int], int]:
    """One HostDeviceMem per I/O tensor, large enough for the profile's max shape; returns
    inputs, outputs, bindings (device addresses in tensor order) and a stream."""
    inputs, outputs, bindings = [], [], []
    stream = cuda_call(cudart.cudaStreamCreate())
    tensor_names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    for name in tensor_names:
        shape = engine.get_tensor_shape(name)
        if -1 in shape:
            if profile_idx is None:
                raise ValueError(f"tensor {name} is dynamic: pass a profile_idx")
            if engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT:
                shape = engine.get_tensor_profile_shape(name, profile_idx)[-1]
            else:
                # An output's largest shape: the max batch of the profile's input.
                max_batch = engine.get_tensor_profile_shape(tensor_names[0], profile_idx)[-1][0]
                shape = tuple(max_batch if d == -1 else d for d in shape)
        size = trt.volume(shape)
        dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(name)))
        buffer = HostDeviceMem(size, dtype)
        bindings.append(int(buffer.device))
        if engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT:
            inputs.append(buffer)
        else:
            outputs.append(buffer)
    return inputs, outputs, bindings, stream


def free_buffers(inputs: List[HostDeviceMem], outputs: List[HostDeviceMem], stream: int) -> None:
    for buffer in inputs + outputs:
        buffer.free()
    cuda_call(cudart.cudaStreamDestroy(stream))


def do_inference(context: "trt.IExecutionContext", engine: "trt.ICudaEngine", bindings: List[int],
                 inputs: List[HostDeviceMem], outputs: List[HostDeviceMem], stream: int
                 ) -> List[np.ndarray]:
    """Copies inputs in, runs execute_async_v3, copies outputs back, waits; host outputs."""
    for i in range(engine.num_io_tensors):
        context.set_tensor_address(engine.get_tensor_name(i), bindings[i])
    kind = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
    for inp in inputs:
        cuda_call(cudart.cudaMemcpyAsync(inp.device, inp.host, inp.nbytes, kind, stream))
    context.execute_async_v3(stream_handle=stream)
    kind = cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
    for out in outputs:
        cuda_call(cudart.cudaMemcpyAsync(out.host, out.device, out.nbytes, kind, stream))
    cuda_call(cudart.cudaStreamSynchronize(stream))
    return [out.host for out in outputs]


def main() -> None:
    workdir = parse_args(__doc__.splitlines()[0])
    model = make_model()
    onnx_path = export_onnx(model, workdir / "simple_mlp_dynamic.onnx", 1, dynamic=True)
    engine = load_engine(build_engine(onnx_path, workdir / "simple_mlp_dynamic.engine", PROFILE))
    context = engine.create_execution_context()
    inputs, outputs, bindings, stream = allocate_buffers(engine, profile_idx=0)
    rng = np.random.default_rng(0)
    all_ok = True
    for batch in (1, 5, 64):
        x = rng.standard_normal((batch, 784)).astype(np.float32)
        context.set_input_shape("input", x.shape)
        inputs[0].host = x
        out_shape = tuple(context.get_tensor_shape("output"))
        result = do_inference(context, engine, bindings, inputs, outputs, stream)[0]
        all_ok &= check(f"batch {batch}", result[:trt.volume(out_shape)].reshape(out_shape),
                        pytorch_reference(model, x))
    free_buffers(inputs, outputs, stream)
    finish(all_ok)


if __name__ == "__main__":
    main()
