"""Host cost per call of execute_async_v3, with launch capture on and off (issue 5, batch 1).

Builds the tutorial's 784-32-10 MLP (FP32, static batch) with random weights, binds pinned host
arrays as its input and output (zero-copy) or device allocations (the tutorial's memcpy path), and
times, for contexts created with MLPRT_LAUNCH_CAPTURE=1 and =0 in the same process:
  enqueue: execute_async_v3 alone, the stream synchronized every 16 calls (host work per call,
           as long as the device keeps up);
  e2e:     execute_async_v3 + stream.synchronize(), one inference at a time.
(For the memcpy rows, each call also queues memcpy_htod_async before and memcpy_dtoh_async after.)
Then the pieces of a zero-copy call and of the memcpy call (each copy alone, the copies without
execute), which tell the copies' host cost from their device round trips.
Medians over --repeats rounds of --calls calls. Prints a table and, with --json, writes it.

    python3 bench/host_overhead.py [--batch 1] [--calls 2000] [--repeats 5] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Callable, Dict, List

import numpy as np

import mlprt
import mlprt.autoinit  # noqa: F401  (brings the device up before any timing)
import mlprt.driver as cuda

WIDTHS = (784, 32, 10)


def build_plan(batch: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    builder = mlprt.Builder(mlprt.Logger(mlprt.Logger.WARNING))
    network = builder.create_network(0)
    x = network.add_input("x", mlprt.DataType.FLOAT, (batch, WIDTHS[0]))
    for i, (k, n) in enumerate(zip(WIDTHS, WIDTHS[1:])):
        w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
        b = rng.standard_normal((1, n)).astype(np.float32)
        none = mlprt.MatrixOperation.NONE
        x = network.add_matrix_multiply(x, none, network.add_constant(w.shape, w).get_output(0), none).get_output(0)
        x = network.add_elementwise(x, network.add_constant(b.shape, b).get_output(0),
                                    mlprt.ElementWiseOperation.SUM).get_output(0)
        if i + 2 < len(WIDTHS):
            x = network.add_activation(x, mlprt.ActivationType.RELU).get_output(0)
    x.name = "y"
    network.mark_output(x)
    plan = builder.build_serialized_network(network, builder.create_builder_config())
    if plan is None:
        raise SystemExit("the engine did not build")
    return bytes(plan)


class Bound:
    """A context with its I/O bound once: pinned arrays (zero-copy) or device allocations."""

    def __init__(self, engine: mlprt.ICudaEngine, batch: int, zero_copy: bool, capture: bool) -> None:
        os.environ["MLPRT_LAUNCH_CAPTURE"] = "1" if capture else "0"
        self.context = engine.create_execution_context()
        self.stream = cuda.Stream()
        self.zero_copy = zero_copy
        self.h_in = cuda.pagelocked_empty((batch, WIDTHS[0]), np.float32)
        self.h_out = cuda.pagelocked_empty((batch, WIDTHS[-1]), np.float32)
        self.h_in[...] = np.random.default_rng(1).standard_normal(self.h_in.shape)
        if zero_copy:
            self.context.set_tensor_address("x", self.h_in.ctypes.data)
            self.context.set_tensor_address("y", self.h_out.ctypes.data)
        else:
            self.d_in, self.d_out = cuda.mem_alloc(self.h_in.nbytes), cuda.mem_alloc(self.h_out.nbytes)
            self.context.set_tensor_address("x", int(self.d_in))
            self.context.set_tensor_address("y", int(self.d_out))

    def enqueue(self) -> None:
        if not self.zero_copy:
            cuda.memcpy_htod_async(self.d_in, self.h_in, self.stream)
        self.context.execute_async_v3(self.stream.handle)
        if not self.zero_copy:
            cuda.memcpy_dtoh_async(self.h_out, self.d_out, self.stream)

    def infer(self) -> np.ndarray:
        self.enqueue()
        self.stream.synchronize()
        return self.h_out

    def infer_with_host_work(self, microseconds: float) -> np.ndarray:
        """As infer, with `microseconds` of host work (a spin) between the enqueue and the wait."""
        self.enqueue()
        until = time.perf_counter() + microseconds * 1e-6
        while time.perf_counter() < until:
            pass
        self.stream.synchronize()
        return self.h_out


def per_call_us(body: Callable[[int], None], calls: int, repeats: int) -> float:
    samples: List[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(calls):
            body(i)
        samples.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(samples)


def every_16(body: Callable[[], None], stream: cuda.Stream) -> Callable[[int], None]:
    """Call ``i`` of a timed loop: ``body``, and every 16th call a synchronize, so that the loop
    times the host's work per call while the device keeps up."""
    def call(i: int) -> None:
        body()
        if i % 16 == 15:
            stream.synchronize()
    return call


def python_pieces(engine: mlprt.ICudaEngine, batch: int, calls: int, repeats: int) -> Dict[str, float]:
    """The parts of benchmark.py's zero-copy end-to-end call timed one by one (capture on), so
    that the host time around the device's work can be told apart: the NumPy copies in and out,
    reading the stream handle, a synchronize with nothing queued, and the whole call; also
    execute + synchronize with 20 us of host work in between, which shows whether the driver
    starts the work at enqueue (the device's time then hides under the host's)."""
    bound = Bound(engine, batch, zero_copy=True, capture=True)
    x = np.random.default_rng(2).standard_normal(bound.h_in.shape).astype(np.float32)
    for _ in range(100):
        bound.infer()
    stream, context = bound.stream, bound.context

    def whole(i: int) -> None:
        np.copyto(bound.h_in, x)
        context.execute_async_v3(stream.handle)
        stream.synchronize()
        bound.h_out.copy()

    return {
        "execute_async_v3, 20 us of host work, synchronize": per_call_us(
            lambda i: bound.infer_with_host_work(20.0), calls, repeats),
        "np.copyto of the input into the pinned array": per_call_us(lambda i: np.copyto(bound.h_in, x), calls, repeats),
        "copy of the output out of the pinned array": per_call_us(lambda i: bound.h_out.copy(), calls, repeats),
        "stream.handle": per_call_us(lambda i: stream.handle, calls, repeats),
        "stream.synchronize() with nothing queued": per_call_us(lambda i: stream.synchronize(), calls, repeats),
        "execute_async_v3 + synchronize": per_call_us(lambda i: bound.infer(), calls, repeats),
        "the whole call (copy in, execute, synchronize, copy out)": per_call_us(whole, calls, repeats),
    }


def memcpy_pieces(engine: mlprt.ICudaEngine, batch: int, calls: int, repeats: int) -> Dict[str, float]:
    """The tutorials' memcpy call taken apart (capture on): each copy call alone (the stream
    synchronized every 16 calls, so this is host time per call), the two copies with a
    synchronize and no execute, and the whole call; with the zero-copy rows above they split the
    memcpy call's time into the copies' host cost and their device round trips."""
    bound = Bound(engine, batch, zero_copy=False, capture=True)
    for _ in range(100):
        bound.infer()
    stream = bound.stream

    def copies(i: int) -> None:
        cuda.memcpy_htod_async(bound.d_in, bound.h_in, stream)
        cuda.memcpy_dtoh_async(bound.h_out, bound.d_out, stream)
        stream.synchronize()

    return {
        "memcpy_htod_async alone": per_call_us(
            every_16(lambda: cuda.memcpy_htod_async(bound.d_in, bound.h_in, stream), stream), calls, repeats),
        "memcpy_dtoh_async alone": per_call_us(
            every_16(lambda: cuda.memcpy_dtoh_async(bound.h_out, bound.d_out, stream), stream), calls, repeats),
        "htod + dtoh + synchronize, no execute": per_call_us(copies, calls, repeats),
        "htod + execute + dtoh + synchronize": per_call_us(lambda i: bound.infer(), calls, repeats),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    engine = mlprt.Runtime(mlprt.Logger(mlprt.Logger.WARNING)).deserialize_cuda_engine(build_plan(args.batch, 0))
    results: Dict[str, Dict[str, float]] = {}
    outputs = {}
    for zero_copy in (True, False):
        for capture in (True, False):
            bound = Bound(engine, args.batch, zero_copy, capture)
            for _ in range(100):
                bound.infer()
            outputs[(zero_copy, capture)] = bound.infer().copy()

            label = f"{'zero-copy' if zero_copy else 'memcpy'}, capture {'on' if capture else 'off'}"
            results[label] = {"enqueue_us": per_call_us(every_16(bound.enqueue, bound.stream), args.calls,
                                                          args.repeats),
                              "e2e_us": per_call_us(lambda i, b=bound: b.infer(), args.calls, args.repeats)}
            bound.stream.synchronize()
    pieces = python_pieces(engine, args.batch, args.calls, args.repeats)
    copy_pieces = memcpy_pieces(engine, args.batch, args.calls, args.repeats)
    same = all(np.array_equal(outputs[(True, True)], value) for value in outputs.values())
    print(f"784-32-10 MLP, batch {args.batch}, device {mlprt.current_device().name}; outputs identical: {same}")
    print("| binding, capture | enqueue alone us (memcpy: htod, execute, dtoh) | the call with synchronize us |")
    print("| --- | --- | --- |")
    for label, figures in results.items():
        print(f"| {label} | {figures['enqueue_us']:.2f} | {figures['e2e_us']:.2f} |")
    print("| piece of a zero-copy end-to-end call (benchmark.py's infer_zero_copy) | us |")
    print("| --- | --- |")
    for label, value in pieces.items():
        print(f"| {label} | {value:.2f} |")
    print("| piece of the memcpy call (the tutorials' do_inference) | us |")
    print("| --- | --- |")
    for label, value in copy_pieces.items():
        print(f"| {label} | {value:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"batch": args.batch, "device": mlprt.current_device().name, "outputs_identical": same,
                       "results": results, "pieces_us": pieces, "memcpy_pieces_us": copy_pieces}, f, indent=2)
    if not same:
        raise SystemExit("outputs differ between capture on and off")


if __name__ == "__main__":
    main()
