"""TensorRT 7-era ONNX inference with pycuda, written as the tutorials of that time were.

An ONNX classifier is exported from PyTorch, built with the builder's own fields
(``builder.max_workspace_size``, ``builder.fp16_mode``, ``builder.max_batch_size``) and
``build_cuda_engine``, serialized, loaded back, and run with ``context.execute_async(batch_size,
bindings, stream_handle)`` and ``context.execute(batch_size, bindings)``; everything sits in
``with`` blocks. The outputs are compared with ONNX Runtime and PyTorch.

Only the three import lines marked below differ from the TensorRT 7 original. Files are written
to the working directory.

    python trt7_onnx_pycuda.py [--fp16]
"""
import argparse
import os

import numpy as np
import onnxruntime
import torch
import torch.nn as nn

import mlprt as trt  # was: import tensorrt as trt
import mlprt.autoinit  # noqa: F401  was: import pycuda.autoinit
import mlprt.driver as cuda  # was: import pycuda.driver as cuda

TRT_LOGGER = trt.Logger(trt.Logger.WARNING)
EXPLICIT_BATCH = 1 << (int)(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
BATCH_SIZE = 8
ONNX_FILE = "classifier.onnx"
ENGINE_FILE = "classifier.trt"


class Classifier(nn.Module):
    def __init__(self):
        super(Classifier, self).__init__()
        self.features = nn.Sequential(nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 64), nn.Tanh())
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        return torch.softmax(self.head(self.features(x)), dim=1)


def export_model(model):
    dummy_input = torch.randn(BATCH_SIZE, 256)
    torch.onnx.export(model, dummy_input, ONNX_FILE, input_names=["input"], output_names=["probs"],
                      opset_version=11)


def build_engine(onnx_file_path, fp16):
    """Takes an ONNX file and creates a TensorRT engine to run inference with."""
    with trt.Builder(TRT_LOGGER) as builder, builder.create_network(EXPLICIT_BATCH) as network, \
            trt.OnnxParser(network, TRT_LOGGER) as parser:
        builder.max_workspace_size = 1 << 28  # 256 MiB
        builder.max_batch_size = BATCH_SIZE
        builder.fp16_mode = fp16
        print("Loading ONNX file from path {}...".format(onnx_file_path))
        with open(onnx_file_path, "rb") as model:
            print("Beginning ONNX file parsing")
            if not parser.parse(model.read()):
                print("ERROR: Failed to parse the ONNX file.")
                for error in range(parser.num_errors):
                    print(parser.get_error(error))
                return None
        print("Completed parsing of ONNX file")
        print("Building an engine from file {}; this may take a while...".format(onnx_file_path))
        engine = builder.build_cuda_engine(network)
        print("Completed creating Engine")
        with open(ENGINE_FILE, "wb") as f:
            f.write(engine.serialize())
        return engine


def get_engine(onnx_file_path, engine_file_path, fp16):
    """Loads a serialized engine if there is one, otherwise builds a new one and saves it."""
    if os.path.exists(engine_file_path):
        print("Reading engine from file {}".format(engine_file_path))
        with open(engine_file_path, "rb") as f, trt.Runtime(TRT_LOGGER) as runtime:
            return runtime.deserialize_cuda_engine(f.read())
    return build_engine(onnx_file_path, fp16)


class HostDeviceMem(object):
    def __init__(self, host_mem, device_mem):
        self.host = host_mem
        self.device = device_mem

    def __str__(self):
        return "Host:\n" + str(self.host) + "\nDevice:\n" + str(self.device)

    def __repr__(self):
        return self.__str__()


def allocate_buffers(engine):
    inputs = []
    outputs = []
    bindings = []
    stream = cuda.Stream()
    for binding in engine:
        size = trt.volume(engine.get_binding_shape(binding)) * engine.max_batch_size
        dtype = trt.nptype(engine.get_binding_dtype(binding))
        host_mem = cuda.pagelocked_empty(size, dtype)
        device_mem = cuda.mem_alloc(host_mem.nbytes)
        bindings.append(int(device_mem))
        if engine.binding_is_input(binding):
            inputs.append(HostDeviceMem(host_mem, device_mem))
        else:
            outputs.append(HostDeviceMem(host_mem, device_mem))
    return inputs, outputs, bindings, stream


def do_inference(context, bindings, inputs, outputs, stream, batch_size=1):
    [cuda.memcpy_htod_async(inp.device, inp.host, stream) for inp in inputs]
    context.execute_async(batch_size=batch_size, bindings=bindings, stream_handle=stream.handle)
    [cuda.memcpy_dtoh_async(out.host, out.device, stream) for out in outputs]
    stream.synchronize()
    return [out.host for out in outputs]


def do_inference_sync(context, bindings, inputs, outputs, batch_size=1):
    [cuda.memcpy_htod(inp.device, inp.host) for inp in inputs]
    context.execute(batch_size=batch_size, bindings=bindings)
    [cuda.memcpy_dtoh(out.host, out.device) for out in outputs]
    return [out.host for out in outputs]


def compare(name, result, expected, tolerance):
    error = np.abs(result - expected).max()
    print("{}: max abs difference {:.3e} (tolerance {:.0e})".format(name, error, tolerance))
    return error <= tolerance


def main():
    parser = argparse.ArgumentParser(description="TensorRT 7-style ONNX inference")
    parser.add_argument("--fp16", action="store_true", help="build with builder.fp16_mode")
    args = parser.parse_args()

    torch.manual_seed(7)
    model = Classifier().eval()
    export_model(model)
    if os.path.exists(ENGINE_FILE):
        os.remove(ENGINE_FILE)
    session = onnxruntime.InferenceSession(ONNX_FILE, providers=["CPUExecutionProvider"])
    tolerance = 2e-3 if args.fp16 else 1e-5
    ok = True
    # The first pass builds the engine and runs it asynchronously; the second reads the saved
    # engine back and runs it synchronously.
    for step, call in enumerate(["execute_async", "execute"]):
        with get_engine(ONNX_FILE, ENGINE_FILE, args.fp16) as engine, \
                engine.create_execution_context() as context:
            inputs, outputs, bindings, stream = allocate_buffers(engine)
            x = np.random.RandomState(step).uniform(-2, 2, (BATCH_SIZE, 256)).astype(np.float32)
            np.copyto(inputs[0].host, x.ravel())
            if call == "execute_async":
                trt_outputs = do_inference(context, bindings, inputs, outputs, stream, BATCH_SIZE)
            else:
                trt_outputs = do_inference_sync(context, bindings, inputs, outputs, BATCH_SIZE)
            probs = trt_outputs[0].reshape(BATCH_SIZE, 10)
        onnx_probs = session.run(None, {"input": x})[0]
        with torch.no_grad():
            torch_probs = model(torch.from_numpy(x)).numpy()
        ok &= compare(call + " vs ONNX Runtime", probs, onnx_probs, tolerance)
        ok &= compare(call + " vs PyTorch", probs, torch_probs, tolerance)
    if not ok:
        raise SystemExit("FAILED")
    print("PASSED")


if __name__ == "__main__":
    main()
