"""mlprt demo: the device, pinned zero-copy host arrays, asynchronous copies and a kernel.

Run with `python examples/driver_basics.py`.
"""
from __future__ import annotations

import time

import numpy as np

import mlprt
import mlprt.driver as cuda
from mlprt.compiler import SourceModule

SCALE_SOURCE = """
__kernel void scale_add(__global const float* x, __global float* y, const float a, const int n) {
    const int i = get_global_id(0);
    if (i < n) y[i] = a * x[i] + y[i];
}
"""


def main() -> None:
    device = mlprt.current_device()
    print(f"mlprt {mlprt.__version__} on [{device.index}] {device.name} ({device.platform}, "
          f"{device.type}, {device.global_memory / 2**30:.1f} GiB, fp16 {'yes' if device.fp16 else 'no'})")

    n = 1 << 20
    rng = np.random.default_rng(0)
    stream = cuda.Stream()
    h_x = cuda.pagelocked_empty(n, np.float32)   # NumPy arrays whose memory is pinned
    h_y = cuda.pagelocked_empty(n, np.float32)
    h_x[:] = rng.standard_normal(n, dtype=np.float32)
    h_y[:] = rng.standard_normal(n, dtype=np.float32)
    print(f"pinned arrays view their buffers without a copy: "
          f"{np.shares_memory(h_x, np.asarray(h_x.base))}")

    d_x, d_y = cuda.mem_alloc_like(h_x), cuda.mem_alloc_like(h_y)
    kernel = SourceModule(SCALE_SOURCE).get_function("scale_add")
    expected = 2.5 * h_x + h_y

    start = time.perf_counter()
    cuda.memcpy_htod_async(d_x, h_x, stream)
    cuda.memcpy_htod_async(d_y, h_y, stream)
    kernel(d_x, d_y, np.float32(2.5), np.int32(n), block=(256, 1, 1), grid=((n + 255) // 256, 1),
           stream=stream)
    cuda.memcpy_dtoh_async(h_y, d_y, stream)
    stream.synchronize()
    elapsed = (time.perf_counter() - start) * 1e3

    error = float(np.max(np.abs(h_y - expected)) / np.max(np.abs(expected)))
    print(f"y = 2.5 x + y over {n} floats: 2 copies in, 1 kernel, 1 copy out in {elapsed:.2f} ms; "
          f"max relative error {error:.1e}")
    if error > 1e-6:
        raise SystemExit("demo FAILED: result differs from NumPy")
    print("demo PASSED")


if __name__ == "__main__":
    main()
