"""Where the time of "engine load + first inference" goes, in a fresh process (issue 5).

Usage: python bench/load_profile.py ENGINE_FILE [--init-first]
Prints one JSON object: seconds for importing mlprt, creating the OpenCL context, reading the
file, deserializing (which loads the engine's program binaries), creating the execution context,
setting up pinned and device buffers, and one synchronized inference.
"""
import json
import sys
import time

start = time.perf_counter()
import numpy as np  # noqa: E402

import mlprt  # noqa: E402
import mlprt.driver as cuda  # noqa: E402

marks = {"import_s": time.perf_counter() - start}


def lap(name: str, since: float) -> float:
    """Records the seconds since `since` under `name` and returns the current time."""
    now = time.perf_counter()
    marks[name] = now - since
    return now


t = time.perf_counter()
device = mlprt.current_device()
t = lap("opencl_context_s", t)
if "--init-first" in sys.argv:
    # The device brought fully up before the engine: a stream (the OpenCL context and a queue)
    # and one small blocking copy, so deserialize_s is the engine's own work.
    warm_stream = cuda.Stream()
    t = lap("stream_s", t)
    cuda.memcpy_htod(cuda.mem_alloc(4), np.zeros(1, np.float32))
    t = lap("first_copy_s", t)
with open(sys.argv[1], "rb") as handle:
    data = handle.read()
t = lap("read_s", t)


class _ProgramLoads(mlprt.ILogger):
    """Keeps the runtime's per-program load times (verbose messages)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines = []

    def log(self, severity: "mlprt.Logger.Severity", msg: str) -> None:
        if "program" in msg or int(severity) <= int(mlprt.Logger.WARNING):
            self.lines.append(msg)


loads = _ProgramLoads()
engine = mlprt.Runtime(loads).deserialize_cuda_engine(data)
t = lap("deserialize_s", t)
marks["deserialize_log"] = loads.lines
context = engine.create_execution_context()
t = lap("create_context_s", t)
stream = cuda.Stream()
buffers = {}
for name in engine:
    shape = tuple(max(1, d) for d in engine.get_tensor_shape(name))
    if engine.get_tensor_mode(name) == mlprt.TensorIOMode.INPUT:
        context.set_input_shape(name, shape)
    else:
        shape = tuple(context.get_tensor_shape(name))
    host = cuda.pagelocked_empty(shape, mlprt.nptype(engine.get_tensor_dtype(name)))
    host[...] = 1
    buffers[name] = (host, cuda.mem_alloc(host.nbytes))
    context.set_tensor_address(name, int(buffers[name][1]))
t = lap("buffers_s", t)
for name, (host, device_memory) in buffers.items():
    if engine.get_tensor_mode(name) == mlprt.TensorIOMode.INPUT:
        cuda.memcpy_htod_async(device_memory, host, stream)
context.execute_async_v3(stream.handle)
for name, (host, device_memory) in buffers.items():
    if engine.get_tensor_mode(name) == mlprt.TensorIOMode.OUTPUT:
        cuda.memcpy_dtoh_async(host, device_memory, stream)
stream.synchronize()
lap("first_inference_s", t)
marks["total_after_import_s"] = sum(v for k, v in marks.items() if k.endswith("_s") and k != "import_s")
marks["device"] = device.name
marks["finite_output"] = bool(all(np.isfinite(h).all() for h, _ in buffers.values()))
print(json.dumps(marks))
