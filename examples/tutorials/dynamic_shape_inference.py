"""Dynamic-shape inference with the TensorRT 10 API: an engine with an optimization profile
(batch 1..64), buffers sized for the profile's max, ``set_input_shape`` per request, output
shapes from the context, and ``execute_async_v3``.

    python examples/tutorials/dynamic_shape_inference.py [--workdir DIR]
"""
from __future__ import annotations

import numpy as np

import mlprt as trt
import mlprt.driver as cuda
import mlprt.autoinit  # noqa: F401

from common import (build_engine, check, export_onnx, finish, load_engine, make_model, parse_args,
                    pytorch_reference)

MIN, OPT, MAX = (1, 784), (32, 784), (64, 784)


def main() -> None:
    workdir = parse_args(__doc__.splitlines()[0])
    model = make_model()
    onnx_path = export_onnx(model, workdir / "simple_mlp_dynamic.onnx", 1, dynamic=True)
    engine_path = build_engine(onnx_path, workdir / "simple_mlp_dynamic.engine", (MIN, OPT, MAX))
    engine = load_engine(engine_path)
    print(f"input shape in the engine: {engine.get_tensor_shape('input')}, "
          f"profile 0: {engine.get_tensor_profile_shape('input', 0)}")
    context = engine.create_execution_context()
    stream = cuda.Stream()

    # Buffers for the largest request the profile allows.
    max_batch = engine.get_tensor_profile_shape("input", 0)[2][0]
    input_dtype = trt.nptype(engine.get_tensor_dtype("input"))
    output_dtype = trt.nptype(engine.get_tensor_dtype("output"))
    h_input = cuda.pagelocked_empty((max_batch, 784), input_dtype)
    h_output = cuda.pagelocked_empty((max_batch, 10), output_dtype)
    d_input = cuda.mem_alloc(h_input.nbytes)
    d_output = cuda.mem_alloc(h_output.nbytes)
    context.set_tensor_address("input", int(d_input))
    context.set_tensor_address("output", int(d_output))

    rng = np.random.default_rng(0)
    all_ok = True
    for batch in (1, 7, 32, 64):
        x = rng.standard_normal((batch, 784)).astype(np.float32)
        if not context.set_input_shape("input", x.shape):
            raise SystemExit(f"batch {batch} is outside the profile")
        assert context.all_binding_shapes_specified
        out_shape = tuple(context.get_tensor_shape("output"))
        h_input[:batch] = x
        cuda.memcpy_htod_async(d_input, h_input[:batch], stream)
        context.execute_async_v3(stream_handle=stream.handle)
        cuda.memcpy_dtoh_async(h_output[:batch], d_output, stream)
        stream.synchronize()
        all_ok &= check(f"batch {batch}", h_output[:out_shape[0]], pytorch_reference(model, x))

    # A request beyond the profile is refused (False, reason logged), as in TensorRT.
    refused = not context.set_input_shape("input", (max_batch + 1, 784))
    print(f"batch {max_batch + 1} refused: {refused}")
    finish(all_ok and refused)


if __name__ == "__main__":
    main()
