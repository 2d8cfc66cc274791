"""Where the wall time of the tutorials' call sequence goes, part by part, for one ONNX model.

Builds the model (FP16 unless --fp32; static shapes as exported), binds device allocations, and
times with medians over --calls calls:
  whole tutorial call            np.copyto into pinned + htod + execute + dtoh + synchronize +
                                 np.array out of pinned, as the TensorRT tutorials do;
  np.copyto into pinned, np.array out of pinned, a plain copy of the output's size (memcpy speed);
  htod + sync, execute + sync, dtoh + sync, and the three device parts together.

    python3 bench/call_split.py MODEL.onnx [--fp32] [--calls 50]
"""
from __future__ import annotations

import argparse
from typing import Callable, Dict

import numpy as np

import mlprt
import mlprt.driver as cuda
from mlprt.engine_tools import build_engine
from timing import median_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="an ONNX file with one input and one output of static shape")
    parser.add_argument("--fp32", action="store_true", help="build in FP32 (default: FP16)")
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()

    logger = mlprt.Logger(mlprt.Logger.WARNING)
    engine = mlprt.Runtime(logger).deserialize_cuda_engine(build_engine(args.model, fp16=not args.fp32, logger=logger))
    context = engine.create_execution_context()
    stream = cuda.Stream()
    in_name, out_name = engine.get_tensor_name(0), engine.get_tensor_name(1)
    x = np.random.default_rng(1).standard_normal(tuple(engine.get_tensor_shape(in_name))).astype(np.float32)
    host_in = cuda.pagelocked_empty(x.shape, np.float32)
    host_out = cuda.pagelocked_empty(tuple(context.get_tensor_shape(out_name)), np.float32)
    dev_in, dev_out = cuda.mem_alloc(host_in.nbytes), cuda.mem_alloc(host_out.nbytes)
    context.set_tensor_address(in_name, int(dev_in))
    context.set_tensor_address(out_name, int(dev_out))
    plain = np.empty_like(host_out)

    def htod() -> None:
        cuda.memcpy_htod_async(dev_in, host_in, stream)

    def execute() -> None:
        context.execute_async_v3(stream.handle)

    def dtoh() -> None:
        cuda.memcpy_dtoh_async(host_out, dev_out, stream)

    def whole() -> None:
        np.copyto(host_in, x)
        htod(), execute(), dtoh(), stream.synchronize()
        np.array(host_out)

    parts: Dict[str, Callable[[], object]] = {
        "whole tutorial call": whole,
        "np.copyto into pinned": lambda: np.copyto(host_in, x),
        "np.array out of pinned": lambda: np.array(host_out),
        "np.copyto plain -> plain": lambda: np.copyto(plain, host_out),
        "htod + sync": lambda: (htod(), stream.synchronize()),
        "execute + sync": lambda: (execute(), stream.synchronize()),
        "dtoh + sync": lambda: (dtoh(), stream.synchronize()),
        "htod + execute + dtoh + sync": lambda: (htod(), execute(), dtoh(), stream.synchronize()),
    }
    print(f"input {x.nbytes} bytes, output {host_out.nbytes} bytes")
    for name, fn in parts.items():
        print(f"{name:32s} {median_seconds(fn, args.calls, warmup=5) * 1e6:9.1f} us")


if __name__ == "__main__":
    main()
