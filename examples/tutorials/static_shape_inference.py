"""Static-shape inference with the TensorRT 10 API: an engine built for one batch size, I/O
tensors found by name, pinned buffers, ``set_tensor_address`` and ``execute_async_v3``.

    python examples/tutorials/static_shape_inference.py [--workdir DIR]
"""
from __future__ import annotations

from typing import Dict

import numpy as np

import mlprt as trt
import mlprt.driver as cuda
import mlprt.autoinit  # noqa: F401

from common import (build_engine, check, export_onnx, finish, load_engine, make_model, parse_args,
                    pytorch_reference)

BATCH = 4


def main() -> None:
    workdir = parse_args(__doc__.splitlines()[0])
    model = make_model()
    onnx_path = export_onnx(model, workdir / "simple_mlp_static.onnx", BATCH, dynamic=False)
    engine = load_engine(build_engine(onnx_path, workdir / "simple_mlp_static.engine"))
    context = engine.create_execution_context()
    stream = cuda.Stream()

    host: Dict[str, np.ndarray] = {}
    device: Dict[str, cuda.DeviceAllocation] = {}
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        shape = engine.get_tensor_shape(name)          # fixed: no -1 in a static engine
        dtype = trt.nptype(engine.get_tensor_dtype(name))
        host[name] = cuda.pagelocked_empty(tuple(shape), dtype)
        device[name] = cuda.mem_alloc(host[name].nbytes)
        context.set_tensor_address(name, int(device[name]))
        mode = engine.get_tensor_mode(name).name.lower()
        print(f"{mode:>6} {name}: {tuple(shape)} {dtype.__name__}")

    x = np.random.default_rng(0).standard_normal((BATCH, 784)).astype(np.float32)
    np.copyto(host["input"], x)
    cuda.memcpy_htod_async(device["input"], host["input"], stream)
    context.execute_async_v3(stream_handle=stream.handle)
    cuda.memcpy_dtoh_async(host["output"], device["output"], stream)
    stream.synchronize()
    finish(check("static batch", host["output"], pytorch_reference(model, x)))


if __name__ == "__main__":
    main()
