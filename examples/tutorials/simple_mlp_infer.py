"""SimpleMLP tutorial, step 3 of 3: inference with the engine and pycuda (TensorRT 8.6 era).

Loads the engine, and for each batch size sets the input's binding shape (dynamic engines),
allocates page-locked host and device buffers per binding, copies in, runs
``context.execute_async_v2(bindings, stream.handle)``, copies out, and compares the result with
ONNX Runtime (on the ONNX file) and PyTorch (on ``simple_mlp.pth``).

Only the three import lines marked below differ from the TensorRT original (and the
``simple_mlp_export`` import, which is the tutorial's own step 1).

    python simple_mlp_infer.py --onnx simple_mlp_dynamic.onnx --engine simple_mlp_dynamic.engine [--fp16]
"""
import argparse
import sys

import numpy as np
import onnxruntime as ort
import torch

import mlprt as trt  # was: import tensorrt as trt
import mlprt.autoinit  # noqa: F401  was: import pycuda.autoinit
import mlprt.driver as cuda  # was: import pycuda.driver as cuda
from simple_mlp_export import SimpleMLP

TRT_LOGGER = trt.Logger(trt.Logger.WARNING)


def load_engine(engine_file_path):
    runtime = trt.Runtime(TRT_LOGGER)
    with open(engine_file_path, "rb") as f:
        return runtime.deserialize_cuda_engine(f.read())


def infer(engine, context, input_data):
    stream = cuda.Stream()
    if engine.get_binding_shape(0)[0] == -1:
        context.set_binding_shape(0, input_data.shape)
    bindings = []
    host_outputs = []
    device_buffers = []
    for i in range(engine.num_bindings):
        shape = context.get_binding_shape(i)
        dtype = trt.nptype(engine.get_binding_dtype(i))
        host_mem = cuda.pagelocked_empty(trt.volume(shape), dtype)
        device_mem = cuda.mem_alloc(host_mem.nbytes)
        bindings.append(int(device_mem))
        device_buffers.append(device_mem)
        if engine.binding_is_input(i):
            np.copyto(host_mem, input_data.ravel())
            cuda.memcpy_htod_async(device_mem, host_mem, stream)
        else:
            host_outputs.append((host_mem, device_mem, shape))
    context.execute_async_v2(bindings=bindings, stream_handle=stream.handle)
    for host_mem, device_mem, _ in host_outputs:
        cuda.memcpy_dtoh_async(host_mem, device_mem, stream)
    stream.synchronize()
    host_mem, _, shape = host_outputs[0]
    return host_mem.reshape(shape)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run a TensorRT engine and check it")
    parser.add_argument("--onnx", default="simple_mlp_dynamic.onnx")
    parser.add_argument("--engine", default="simple_mlp_dynamic.engine")
    parser.add_argument("--fp16", action="store_true", help="compare with FP16 tolerances")
    args = parser.parse_args()

    engine = load_engine(args.engine)
    context = engine.create_execution_context()
    session = ort.InferenceSession(args.onnx, providers=["CPUExecutionProvider"])
    model = SimpleMLP()
    model.load_state_dict(torch.load("simple_mlp.pth"))
    model.eval()

    dynamic = engine.get_binding_shape(0)[0] == -1
    batch_sizes = [1, 7, 64] if dynamic else [engine.get_binding_shape(0)[0]]
    tolerance = 1e-2 if args.fp16 else 1e-4
    passed = True
    for batch_size in batch_sizes:
        input_data = np.random.uniform(-1, 1, (batch_size, 784)).astype(np.float32)
        output = infer(engine, context, input_data)
        ort_output = session.run(None, {"input": input_data})[0]
        with torch.no_grad():
            torch_output = model(torch.from_numpy(input_data)).numpy()
        for name, expected in (("ONNX Runtime", ort_output), ("PyTorch", torch_output)):
            close = output.shape == expected.shape and np.allclose(output, expected, rtol=tolerance, atol=tolerance)
            error = np.abs(output - expected).max() if output.shape == expected.shape else float("inf")
            print("batch {}: output {} vs {}: max abs difference {:.3e} {}".format(
                batch_size, output.shape, name, error, "OK" if close else "MISMATCH"))
            passed &= close
    if not passed:
        print("FAILED")
        sys.exit(1)
    print("PASSED")
