"""TensorRT 10 inference with cuda-python's driver and runtime APIs, as the tutorials of that era
are written: ``from cuda import cudart, cuda``, an error-check helper that handles both result
types, ``cuMemAlloc`` / ``cuMemcpyHtoDAsync`` / ``cuStreamCreate`` from the driver API, pinned
host memory from ``cudaMallocHost``, and the TensorRT 10 engine API (named I/O tensors,
``set_input_shape``, ``set_tensor_address``, ``execute_async_v3``).

The model has two inputs and two outputs and a dynamic batch; the engine is built with
``build_serialized_network`` and an optimization profile, and run at batch 1, 12 and 32 on one
set of buffers. Results are compared with ONNX Runtime and PyTorch.

Only the two import lines marked below differ from the cuda-python original. Files are written
to the working directory.

    python trt10_cuda_python.py [--fp16]
"""
import argparse
import ctypes

import numpy as np
import onnxruntime as ort
import torch
import torch.nn as nn

import mlprt as trt  # was: import tensorrt as trt
from mlprt import cudart, cuda  # was: from cuda import cudart, cuda

TRT_LOGGER = trt.Logger(trt.Logger.WARNING)
MAX_BATCH = 32


class TwoTower(nn.Module):
    def __init__(self):
        super().__init__()
        self.image_net = nn.Sequential(nn.Linear(64, 48), nn.ReLU())
        self.meta_net = nn.Sequential(nn.Linear(8, 16), nn.Sigmoid())
        self.head = nn.Linear(64, 5)

    def forward(self, image, meta):
        joint = torch.cat([self.image_net(image), self.meta_net(meta)], dim=1)
        logits = self.head(joint)
        return logits, torch.softmax(logits, dim=1)


def check_cuda_err(err):
    if isinstance(err, cuda.CUresult):
        if err != cuda.CUresult.CUDA_SUCCESS:
            raise RuntimeError("Cuda Error: {}".format(cuda.cuGetErrorName(err)[1]))
    elif isinstance(err, cudart.cudaError_t):
        if err != cudart.cudaError_t.cudaSuccess:
            raise RuntimeError("Cuda Runtime Error: {}".format(cudart.cudaGetErrorString(err)[1]))
    else:
        raise RuntimeError("Unknown error type: {}".format(err))


def cuda_call(call):
    err, res = call[0], call[1:]
    check_cuda_err(err)
    if len(res) == 1:
        res = res[0]
    return res


def export_onnx(model, path):
    image, meta = torch.randn(4, 64), torch.randn(4, 8)
    torch.onnx.export(model, (image, meta), path, input_names=["image", "meta"],
                      output_names=["logits", "probs"],
                      dynamic_axes={"image": {0: "batch"}, "meta": {0: "batch"},
                                    "logits": {0: "batch"}, "probs": {0: "batch"}})


def build_engine(onnx_path, engine_path, fp16):
    builder = trt.Builder(TRT_LOGGER)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, TRT_LOGGER)
    if not parser.parse_from_file(onnx_path):
        for i in range(parser.num_errors):
            print(parser.get_error(i))
        raise RuntimeError("could not parse {}".format(onnx_path))
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 1 << 28)
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        features = tensor.shape[1]
        profile.set_shape(tensor.name, (1, features), (MAX_BATCH // 2, features), (MAX_BATCH, features))
    config.add_optimization_profile(profile)
    serialized_engine = builder.build_serialized_network(network, config)
    if serialized_engine is None:
        raise RuntimeError("engine build failed")
    with open(engine_path, "wb") as f:
        f.write(serialized_engine)


class HostDeviceMem:
    """Pinned host memory (cudaMallocHost) viewed as NumPy, and device memory (cuMemAlloc)."""

    def __init__(self, size, dtype):
        nbytes = size * dtype.itemsize
        host_mem = cuda_call(cudart.cudaMallocHost(nbytes))
        pointer_type = ctypes.POINTER(np.ctypeslib.as_ctypes_type(dtype))
        self.host = np.ctypeslib.as_array(ctypes.cast(host_mem, pointer_type), (size,))
        self.device = cuda_call(cuda.cuMemAlloc(nbytes))
        self.nbytes = nbytes

    def free(self):
        cuda_call(cuda.cuMemFree(self.device))
        cuda_call(cudart.cudaFreeHost(self.host.ctypes.data))


def main():
    parser = argparse.ArgumentParser(description="TensorRT 10 with cuda-python")
    parser.add_argument("--fp16", action="store_true")
    args = parser.parse_args()

    torch.manual_seed(10)
    model = TwoTower().eval()
    export_onnx(model, "two_tower.onnx")
    build_engine("two_tower.onnx", "two_tower.engine", args.fp16)

    cuda_call(cuda.cuInit(0))
    device = cuda_call(cuda.cuDeviceGet(0))
    cuda_context = cuda_call(cuda.cuCtxCreate(0, device))
    stream = cuda_call(cuda.cuStreamCreate(0))

    runtime = trt.Runtime(TRT_LOGGER)
    with open("two_tower.engine", "rb") as f:
        engine = runtime.deserialize_cuda_engine(f.read())
    context = engine.create_execution_context()

    buffers = {}
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        shape = list(engine.get_tensor_shape(name))
        shape[0] = MAX_BATCH
        dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(name)))
        buffers[name] = HostDeviceMem(trt.volume(shape), dtype)
        context.set_tensor_address(name, int(buffers[name].device))
    input_names = [n for n in buffers if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
    output_names = [n for n in buffers if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]

    session = ort.InferenceSession("two_tower.onnx", providers=["CPUExecutionProvider"])
    tolerance = 1e-2 if args.fp16 else 1e-5
    rng = np.random.default_rng(10)
    passed = True
    for batch in (1, 12, MAX_BATCH):
        feeds = {"image": rng.uniform(-1, 1, (batch, 64)).astype(np.float32),
                 "meta": rng.uniform(-1, 1, (batch, 8)).astype(np.float32)}
        for name in input_names:
            context.set_input_shape(name, feeds[name].shape)
            mem = buffers[name]
            mem.host[:feeds[name].size] = feeds[name].ravel()
            cuda_call(cuda.cuMemcpyHtoDAsync(mem.device, mem.host, feeds[name].nbytes, stream))
        context.execute_async_v3(stream_handle=stream)
        results = {}
        for name in output_names:
            shape = tuple(context.get_tensor_shape(name))
            mem = buffers[name]
            nbytes = trt.volume(shape) * mem.host.itemsize
            cuda_call(cuda.cuMemcpyDtoHAsync(mem.host, mem.device, nbytes, stream))
            results[name] = (mem, shape)
        cuda_call(cuda.cuStreamSynchronize(stream))

        expected_onnx = dict(zip(output_names, session.run(output_names, feeds)))
        with torch.no_grad():
            logits, probs = model(torch.from_numpy(feeds["image"]), torch.from_numpy(feeds["meta"]))
        expected_torch = {"logits": logits.numpy(), "probs": probs.numpy()}
        for name, (mem, shape) in results.items():
            output = mem.host[:trt.volume(shape)].reshape(shape).copy()
            for reference, expected in (("ONNX Runtime", expected_onnx[name]), ("PyTorch", expected_torch[name])):
                error = np.abs(output - expected).max()
                close = output.shape == expected.shape and np.allclose(output, expected, rtol=tolerance, atol=tolerance)
                print("batch {} {} {} vs {}: max abs difference {:.3e} {}".format(
                    batch, name, shape, reference, error, "OK" if close else "MISMATCH"))
                passed &= close

    for mem in buffers.values():
        mem.free()
    cuda_call(cuda.cuStreamDestroy(stream))
    cuda_call(cuda.cuCtxDestroy(cuda_context))
    if not passed:
        raise SystemExit("FAILED")
    print("PASSED")


if __name__ == "__main__":
    main()
