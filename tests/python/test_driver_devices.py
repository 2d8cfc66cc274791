"""Device listing and selection, streams releasing the GIL, and the core's log routing."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import mlprt
import mlprt.driver as cuda
from mlprt import _core
from mlprt.compiler import SourceModule

from conftest import run_python


def test_devices_describe_every_opencl_device() -> None:
    devices = mlprt.devices()
    assert devices, "no OpenCL device: tests need at least PoCL"
    for position, device in enumerate(devices):
        assert device.index == position
        assert device.name and device.platform
        assert device.type in {"GPU", "CPU", "ACCELERATOR", "OTHER"}
        assert device.global_memory > 0 and 0 < device.max_allocation <= device.global_memory
        assert isinstance(device.fp16, bool)
        assert device.coordinates == f"{device.platform_index}:{device.device_index}"
    assert cuda.Device.count() == len(devices)
    assert cuda.Device(0).name() == devices[0].name
    assert cuda.Device(0).total_memory() == devices[0].global_memory


def test_default_device_prefers_gpus_then_cpus() -> None:
    devices = mlprt.devices()
    chosen = run_python("import mlprt; print(mlprt.default_device().index)",
                        env={"MLPRT_DEVICE": ""})
    assert chosen.returncode == 0, chosen.stderr
    gpus = [d.index for d in devices if d.type == "GPU"]
    cpus = [d.index for d in devices if d.type == "CPU"]
    expected = (gpus or cpus or [0])[0]
    assert int(chosen.stdout) == expected


@pytest.mark.parametrize("selector_of", [
    lambda d: str(d.index),
    lambda d: d.coordinates,
    lambda d: d.name[:6].upper(),
])
def test_mlprt_device_environment_variable_selects(selector_of) -> None:
    device = mlprt.devices()[-1]
    code = ("import mlprt, mlprt.driver as cuda; a = cuda.mem_alloc(8); "
            "print(a.device.index, mlprt.current_device().index)")
    result = run_python(code, env={"MLPRT_DEVICE": selector_of(device)})
    assert result.returncode == 0, result.stderr
    first_match = next(d.index for d in mlprt.devices()
                       if selector_of(device).lower() in (str(d.index), d.coordinates)
                       or selector_of(device).lower() in d.name.lower())
    assert result.stdout.split() == [str(first_match)] * 2


def test_bad_mlprt_device_is_reported_by_name() -> None:
    result = run_python("import mlprt.driver as cuda; cuda.mem_alloc(8)",
                        env={"MLPRT_DEVICE": "no-such-gpu"})
    assert result.returncode != 0
    assert "MLPRT_DEVICE: unknown OpenCL device 'no-such-gpu'" in result.stderr
    assert "available devices" in result.stderr


def test_selection_by_api() -> None:
    before = mlprt.current_device()
    try:
        target = mlprt.devices()[-1]
        assert mlprt.set_device(target.index).index == target.index
        assert mlprt.current_device().index == target.index
        assert cuda.mem_alloc(4).device.index == target.index
        assert cuda.Stream().device.index == target.index
        context = cuda.Device(0).make_context()
        assert context.get_device() == cuda.Device(0)
        # The device is up, as after pycuda's make_context: its default stream exists and works.
        default_stream = cuda.Stream.from_handle(0)
        assert default_stream.device.index == 0
        default_stream.synchronize()   # its first copy has run
        assert mlprt.current_device().index == 0
        mlprt.set_device(target.index)
        context.synchronize()  # waits on device 0 without making it current
        assert mlprt.current_device().index == target.index
        context.pop()
    finally:
        mlprt.set_device(before.index)


SPIN_SOURCE = """
__kernel void spin(__global float* out, const int iterations) {
    float x = (float)get_global_id(0) + 0.5f;
    for (int i = 0; i < iterations; ++i) x = x * 0.9999f + 0.0001f;
    out[get_global_id(0)] = x;
}
"""


def test_blocking_waits_release_the_gil() -> None:
    spin = SourceModule(SPIN_SOURCE).get_function("spin")
    out = cuda.mem_alloc(4)
    stream = cuda.Stream()
    iterations = 1 << 20
    # One launch first, untimed: it compiles the kernel (PoCL compiles it at the first launch), and
    # a compile counted in the first timed wait stopped the growth while the kernel itself still
    # took a few milliseconds (a fresh CI run on a slow machine, 2026-12-07).
    spin(out, np.int32(iterations), block=1, grid=1, stream=stream)
    stream.synchronize()
    while True:  # grow the kernel until one launch takes a measurable time on this device
        spin(out, np.int32(iterations), block=1, grid=1, stream=stream)
        start = time.perf_counter()
        stream.synchronize()
        if time.perf_counter() - start > 0.15 or iterations >= 1 << 30:
            break
        iterations *= 4

    ticks: list = []
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    spin(out, np.int32(iterations), block=1, grid=1, stream=stream)
    counter = threading.Thread(target=count)
    counter.start()
    time.sleep(0.005)
    begin = time.perf_counter()
    stream.synchronize()
    end = time.perf_counter()
    stop.set()
    counter.join()
    during = [t for t in ticks if begin < t < end]
    assert end - begin > 0.05, "the kernel finished too early to tell"
    assert len(during) >= 10, f"other threads ran {len(during)} times in {end - begin:.3f} s"


def test_core_messages_reach_a_python_sink() -> None:
    received: list = []
    _core.set_log_sink(lambda severity, message: received.append((severity, message)),
                       _core.Severity.INFO)
    try:
        _core.log(_core.Severity.WARNING, "warning reaches the sink")
        _core.log(_core.Severity.VERBOSE, "verbose is below INFO")
    finally:
        _core.reset_log_sink()
    assert received == [(_core.Severity.WARNING, "warning reaches the sink")]


def test_autoinit_initializes_the_default_device() -> None:
    result = run_python("import mlprt.autoinit as a, mlprt; "
                        "print(a.device.name() == mlprt.default_device().name, "
                        "a.context.get_device() == a.device)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]
