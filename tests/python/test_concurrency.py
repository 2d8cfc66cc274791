"""Execution contexts of one engine on several Python threads: every result equals the
single-threaded result bit for bit; one context used from two threads at once refuses the second
caller with an error saying so, and keeps working. The hammer test also proves that
execute_async_v3 runs without the GIL: two threads can only collide inside it if both are in it
at once."""
from __future__ import annotations

import threading
import time
from typing import Callable, Dict, List

import numpy as np
import pytest

import mlprt
import mlprt.driver as cuda
from engine_helpers import RecordingLogger, build, load
from test_engine_workflow import mlp_reference, mlp_weights, simple_mlp

MAX_BATCH = 64
BATCHES = list(range(1, MAX_BATCH + 1))
THREADS = 4
INFERENCES_PER_THREAD = 1500
IN_USE = "in use by another thread"


class Runner:
    """One execution context with its own stream and pinned/device buffers for MAX_BATCH rows,
    bound once; each inference sets the batch, copies in, executes, copies out, synchronizes."""

    def __init__(self, context: mlprt.IExecutionContext) -> None:
        self.context = context
        self.stream = cuda.Stream()
        self.host_in = cuda.pagelocked_empty((MAX_BATCH, 784), np.float32)
        self.host_out = cuda.pagelocked_empty((MAX_BATCH, 10), np.float32)
        self.d_in = cuda.mem_alloc(self.host_in.nbytes)
        self.d_out = cuda.mem_alloc(self.host_out.nbytes)
        context.set_tensor_address("input", int(self.d_in))
        context.set_tensor_address("output", int(self.d_out))

    def infer(self, x: np.ndarray) -> np.ndarray:
        rows = x.shape[0]
        assert self.context.set_input_shape("input", x.shape)
        self.host_in[:rows] = x
        cuda.memcpy_htod_async(self.d_in, self.host_in[:rows], self.stream)
        assert self.context.execute_async_v3(self.stream.handle)
        cuda.memcpy_dtoh_async(self.host_out[:rows], self.d_out, self.stream)
        self.stream.synchronize()
        return self.host_out[:rows].copy()


@pytest.fixture(scope="module")
def weights() -> Dict[str, np.ndarray]:
    return mlp_weights(np.random.default_rng(11))


@pytest.fixture(scope="module")
def engine(weights) -> mlprt.ICudaEngine:
    plan = build(simple_mlp(weights), [{"input": ((1, 784), (32, 784), (MAX_BATCH, 784))}])
    assert plan is not None
    return load(bytes(plan))


@pytest.fixture(scope="module")
def inputs() -> Dict[int, np.ndarray]:
    return {b: np.random.default_rng(1000 + b).standard_normal((b, 784)).astype(np.float32) for b in BATCHES}


@pytest.fixture(scope="module")
def expected(engine, inputs, weights) -> Dict[int, np.ndarray]:
    """Single-threaded results of every batch size, checked against NumPy (so the threads are
    compared with right answers, not merely equal ones)."""
    runner = Runner(engine.create_execution_context())
    results = {b: runner.infer(x) for b, x in inputs.items()}
    for b, y in results.items():
        reference = mlp_reference(inputs[b], weights)
        assert np.abs(y - reference).max() <= 1e-4 * np.abs(reference).max(), f"batch {b}"
    return results


def run_threads(count: int, target: Callable[[int], None]) -> None:
    """Starts `count` threads on target(index) together and waits for all of them."""
    start = threading.Barrier(count)

    def body(index: int) -> None:
        start.wait()
        target(index)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_contexts_of_one_engine_on_threads_match_single_threaded_results_bit_for_bit(engine, inputs, expected):
    failures: List[List[str]] = [[] for _ in range(THREADS)]
    done = [0] * THREADS

    def worker(t: int) -> None:
        try:
            runner = Runner(engine.create_execution_context())
            for i in range(INFERENCES_PER_THREAD):
                b = BATCHES[(t * 17 + i * 29) % len(BATCHES)]
                got = runner.infer(inputs[b])
                if not np.array_equal(got, expected[b]):
                    failures[t].append(f"thread {t} inference {i} batch {b}: max diff "
                                       f"{np.abs(got - expected[b]).max()}")
                done[t] += 1
        except Exception as error:  # reported below, with the thread
            failures[t].append(f"thread {t}: {error!r}")

    run_threads(THREADS, worker)
    assert [f for per_thread in failures for f in per_thread] == []
    assert done == [INFERENCES_PER_THREAD] * THREADS


class InterferingLogger(RecordingLogger):
    """On the first error message, which the core logs while a call still holds the context,
    runs `interfere` on another thread and waits for it."""

    def __init__(self, interfere: Callable[[], None]) -> None:
        super().__init__()
        self.interfere = interfere
        self.ran = False

    def log(self, severity: "mlprt.Logger.Severity", msg: str) -> None:
        super().log(severity, msg)
        if severity == mlprt.Logger.ERROR and not self.ran:
            self.ran = True
            other = threading.Thread(target=self.interfere)
            other.start()
            other.join()


def test_a_second_thread_in_a_busy_context_is_refused_and_the_context_still_works(engine, inputs, expected):
    context = engine.create_execution_context()
    runner = Runner(context)
    np.testing.assert_array_equal(runner.infer(inputs[3]), expected[3])
    outcomes: Dict[str, str] = {}
    # Each call, with the name its refusal gives it.
    calls = {
        "execute": lambda: context.execute_async_v3(runner.stream.handle),
        "set_input_shape": lambda: context.set_input_shape("input", (5, 784)),
        "set_tensor_address": lambda: context.set_tensor_address("input", int(runner.d_out)),
        "get_tensor_shape": lambda: context.get_tensor_shape("output"),
        "set_optimization_profile_async": lambda: context.set_optimization_profile_async(0, runner.stream.handle),
    }

    def interfere() -> None:
        for name, call in calls.items():
            try:
                call()
                outcomes[name] = "not refused"
            except mlprt.Error as error:
                outcomes[name] = str(error)

    # The logger is the process's core log sink from here on; set_input_shape logs its refusal
    # of an out-of-profile shape while it holds the context.
    logger = InterferingLogger(interfere)
    mlprt.Runtime(logger)
    try:
        assert not context.set_input_shape("input", (MAX_BATCH + 1, 784))
    finally:
        mlprt._core.reset_log_sink()  # core messages to stderr again, not to this test's logger
    assert logger.ran and set(outcomes) == set(calls)
    for name, outcome in outcomes.items():
        assert IN_USE in outcome and f"({name})" in outcome, f"{name}: {outcome}"
    # Nothing the refused calls tried took effect.
    assert context.get_tensor_address("input") == int(runner.d_in)
    for b in (3, 64, 1, 17):
        np.testing.assert_array_equal(runner.infer(inputs[b]), expected[b])


def test_two_threads_hammering_one_context_get_results_or_refusals_never_corruption(engine, inputs, expected):
    context = engine.create_execution_context()
    runner = Runner(context)
    np.testing.assert_array_equal(runner.infer(inputs[9]), expected[9])
    refusals = [0, 0]
    successes = [0, 0]
    other_errors: List[str] = []
    deadline = time.monotonic() + 30

    def hammer(t: int) -> None:
        i = 0
        while (min(refusals) == 0 or i < 300) and time.monotonic() < deadline:
            try:
                context.execute_async_v3(runner.stream.handle)
                successes[t] += 1
            except mlprt.Error as error:
                if IN_USE in str(error):
                    refusals[t] += 1
                else:
                    other_errors.append(str(error))
            i += 1

    run_threads(2, hammer)
    runner.stream.synchronize()
    assert other_errors == []
    assert min(successes) > 0, successes
    # Both threads were inside execute_async_v3 at once: the GIL is released while it enqueues.
    assert min(refusals) > 0, f"no collision in {successes} calls: is the GIL held during execute_async_v3?"
    out = np.empty((9, 10), np.float32)
    cuda.memcpy_dtoh(out, runner.d_out)
    np.testing.assert_array_equal(out, expected[9])
    for b in (1, 64, 9):
        np.testing.assert_array_equal(runner.infer(inputs[b]), expected[b])
