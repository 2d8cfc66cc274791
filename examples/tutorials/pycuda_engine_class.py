"""A pycuda-style TensorRT 8 tutorial: an engine class that allocates one HostDeviceMem per
binding and runs ``execute_async_v2``.

Only the imports differ from the pycuda original: ``mlprt`` for ``tensorrt``, ``mlprt.driver``
for ``pycuda.driver`` and ``mlprt.autoinit`` for ``pycuda.autoinit``.

    python examples/tutorials/pycuda_engine_class.py [--workdir DIR]
"""
from __future__ import annotations

from pathlib import Path
from typing import List

import numpy as np

import mlprt as trt
import mlprt.driver as cuda
import mlprt.autoinit  # noqa: F401  (initializes the device, as pycuda.autoinit does)

from common import (build_engine, check, export_onnx, finish, load_engine, make_model, parse_args,
                    pytorch_reference)

BATCH = 8


class HostDeviceMem:
    """A pinned host array and the device allocation it is copied to and from."""

    def __init__(self, host_mem: np.ndarray, device_mem: cuda.DeviceAllocation) -> None:
        self.host = host_mem
        self.device = device_mem

    def __repr__(self) -> str:
        return f"Host:\n{self.host}\nDevice:\n{self.device}"


class TrtModel:
    """Loads an engine file and runs it with the TensorRT 8 binding API."""

    def __init__(self, engine_path: Path) -> None:
        self.engine = load_engine(engine_path)
        self.context = self.engine.create_execution_context()
        self.stream = cuda.Stream()
        self.inputs: List[HostDeviceMem] = []
        self.outputs: List[HostDeviceMem] = []
        self.bindings: List[int] = []
        self.allocate_buffers()

    def allocate_buffers(self) -> None:
        for binding in range(self.engine.num_bindings):
            shape = self.engine.get_binding_shape(binding)
            size = trt.volume(shape) * self.engine.max_batch_size
            dtype = trt.nptype(self.engine.get_binding_dtype(binding))
            host_mem = cuda.pagelocked_empty(size, dtype)
            device_mem = cuda.mem_alloc(host_mem.nbytes)
            self.bindings.append(int(device_mem))
            if self.engine.binding_is_input(binding):
                self.inputs.append(HostDeviceMem(host_mem, device_mem))
            else:
                self.outputs.append(HostDeviceMem(host_mem, device_mem))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        np.copyto(self.inputs[0].host, x.ravel())
        for inp in self.inputs:
            cuda.memcpy_htod_async(inp.device, inp.host, self.stream)
        self.context.execute_async_v2(bindings=self.bindings, stream_handle=self.stream.handle)
        for out in self.outputs:
            cuda.memcpy_dtoh_async(out.host, out.device, self.stream)
        self.stream.synchronize()
        output_index = self.engine.get_binding_index("output")
        return self.outputs[0].host.reshape(self.engine.get_binding_shape(output_index))


def main() -> None:
    workdir = parse_args(__doc__.splitlines()[0])
    model = make_model()
    onnx_path = export_onnx(model, workdir / "simple_mlp_static.onnx", BATCH, dynamic=False)
    engine_path = build_engine(onnx_path, workdir / "simple_mlp_static.engine")

    trt_model = TrtModel(engine_path)
    for i in range(trt_model.engine.num_bindings):
        kind = "input " if trt_model.engine.binding_is_input(i) else "output"
        print(f"binding {i} ({kind}): {trt_model.engine.get_binding_name(i)} "
              f"{trt_model.engine.get_binding_shape(i)} {trt_model.engine.get_binding_dtype(i)}")
    rng = np.random.default_rng(0)
    all_ok = True
    for run in range(3):
        x = rng.standard_normal((BATCH, 784)).astype(np.float32)
        all_ok &= check(f"run {run}", trt_model(x), pytorch_reference(model, x))
    finish(all_ok)


if __name__ == "__main__":
    main()
