"""mlprt.driver: pinned zero-copy arrays, device allocations, copies and their errors."""
from __future__ import annotations

import gc

import numpy as np
import pytest

import mlprt
import mlprt.driver as cuda


def random_bytes(rng: np.random.Generator, count: int) -> np.ndarray:
    return rng.integers(1, 256, size=count, dtype=np.uint8)


# --- pinned host arrays --------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(), 1, 7, (3, 5), (2, 3, 4), (0,), (4, 0, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int64, np.uint8, np.bool_])
def test_pagelocked_empty_is_a_view_of_its_pinned_buffer(shape, dtype) -> None:
    array = cuda.pagelocked_empty(shape, dtype)
    expected_shape = (shape,) if isinstance(shape, int) else shape
    assert array.shape == expected_shape and array.dtype == np.dtype(dtype)
    assert array.flags.c_contiguous and array.flags.writeable
    assert isinstance(array.base, cuda.PinnedHostBuffer)
    assert array.base.nbytes == array.nbytes
    assert array.ctypes.data == array.base.ptr
    assert np.shares_memory(array, np.asarray(array.base)) or array.nbytes == 0


def test_writes_through_the_numpy_view_reach_the_buffer_without_a_copy(rng) -> None:
    array = cuda.pagelocked_empty((64, 3), np.float32)
    raw = np.asarray(array.base)  # the pinned bytes themselves
    values = rng.standard_normal((64, 3)).astype(np.float32)
    array[:] = values
    assert np.array_equal(raw.view(np.float32).reshape(64, 3), values)
    raw.view(np.float32)[5] = 42.0
    assert array.reshape(-1)[5] == 42.0
    assert cuda.is_pinned(array) and cuda.is_pinned(array[10:20])
    assert not cuda.is_pinned(np.empty(16, np.float32))


def test_pagelocked_zeros_and_like_variants(rng) -> None:
    zeros = cuda.pagelocked_zeros((5, 7), np.int32)
    assert zeros.dtype == np.int32 and not zeros.any()
    fortran = np.asfortranarray(rng.standard_normal((4, 6)))
    like = cuda.pagelocked_empty_like(fortran)
    assert like.shape == fortran.shape and like.dtype == fortran.dtype
    assert like.flags.f_contiguous and cuda.is_pinned(like)
    zeros_like = cuda.pagelocked_zeros_like(fortran)
    assert zeros_like.flags.f_contiguous and not zeros_like.any()
    assert cuda.pagelocked_empty((2, 3), np.float32, order="F").flags.f_contiguous


def test_the_array_keeps_its_buffer_alive(rng) -> None:
    array = cuda.pagelocked_empty(4096, np.float32)
    view = array[100:200]
    del array
    gc.collect()
    values = rng.standard_normal(100).astype(np.float32)
    view[:] = values
    with cuda.mem_alloc(view.nbytes) as device:
        cuda.memcpy_htod(device, view)
        out = np.empty_like(values)
        cuda.memcpy_dtoh(out, device)
    assert np.array_equal(out, values)


def test_pagelocked_bad_arguments() -> None:
    with pytest.raises(ValueError, match="negative dimension"):
        cuda.pagelocked_empty((3, -1), np.float32)
    with pytest.raises(ValueError, match="order"):
        cuda.pagelocked_empty(3, np.float32, order="X")
    with pytest.raises(ValueError, match="Python objects"):
        cuda.pagelocked_empty(3, object)
    with pytest.raises(ValueError, match="too large"):
        cuda.pagelocked_empty((2**40, 2**40), np.float32)
    with pytest.raises(MemoryError, match="pinned host memory"):
        cuda.pagelocked_empty(2**62, np.uint8)


# --- round trips -----------------------------------------------------------------------------------

ROUND_TRIP_SIZES = [0, 1, 3, 4096, 65537, 1 << 20, 64 << 20]


@pytest.mark.parametrize("nbytes", ROUND_TRIP_SIZES)
def test_pinned_async_round_trip(rng, nbytes: int) -> None:
    stream = cuda.Stream()
    source = cuda.pagelocked_empty(nbytes, np.uint8)
    source[:] = random_bytes(rng, nbytes)
    result = cuda.pagelocked_empty_like(source)
    result.fill(0)
    device = cuda.mem_alloc(nbytes)
    cuda.memcpy_htod_async(device, source, stream)
    cuda.memcpy_dtoh_async(result, device, stream)
    stream.synchronize()
    assert np.array_equal(result, source)


@pytest.mark.parametrize("nbytes", ROUND_TRIP_SIZES)
def test_pageable_round_trip(rng, nbytes: int) -> None:
    source = random_bytes(rng, nbytes)
    result = np.zeros_like(source)
    device = cuda.mem_alloc_like(source)
    cuda.memcpy_htod(device, source)
    cuda.memcpy_dtoh(result, device)
    assert np.array_equal(result, source)
    # The async forms accept pageable memory too and have finished when they return.
    again = np.zeros_like(source)
    cuda.memcpy_dtoh_async(again, device)
    assert np.array_equal(again, source)


def test_float_arrays_and_other_buffers_round_trip(rng) -> None:
    values = rng.standard_normal((17, 31)).astype(np.float32)
    device = cuda.to_device(values)
    assert np.array_equal(cuda.from_device(device, values.shape, values.dtype), values)
    assert np.array_equal(cuda.from_device_like(device, values), values)
    blob = bytes(random_bytes(rng, 40))
    target = bytearray(40)
    with cuda.mem_alloc(40) as scratch:
        cuda.memcpy_htod(scratch, blob)
        cuda.memcpy_dtoh(target, scratch)
    assert bytes(target) == blob


def test_addresses_with_offsets(rng) -> None:
    data = random_bytes(rng, 1000)
    device = cuda.mem_alloc(1000)
    cuda.memcpy_htod(device, np.zeros(1000, np.uint8))
    cuda.memcpy_htod(int(device) + 101, data[101:457])
    out = np.zeros(1000, np.uint8)
    cuda.memcpy_dtoh(out, device)
    assert np.array_equal(out[101:457], data[101:457])
    assert not out[:101].any() and not out[457:].any()
    part = np.zeros(13, np.uint8)
    cuda.memcpy_dtoh(part, int(device) + 200)
    assert np.array_equal(part, data[200:213])


def test_device_to_device_copies_and_memset(rng) -> None:
    data = random_bytes(rng, 4099)
    a, b = cuda.to_device(data), cuda.mem_alloc(5000)
    cuda.memset_d8(b, 0xAB, 5000)
    cuda.memcpy_dtod(int(b) + 7, int(a) + 3, 4000)
    out = cuda.from_device(b, 5000, np.uint8)
    assert np.array_equal(out[7:4007], data[3:4003])
    assert (out[:7] == 0xAB).all() and (out[4007:] == 0xAB).all()

    stream = cuda.Stream()
    cuda.memset_d32_async(b, 0x01020304, 1250, stream)
    cuda.memcpy_dtod_async(a, b, 8, stream)
    stream.synchronize()
    assert (cuda.from_device(b, 1250, np.uint32) == 0x01020304).all()
    assert (cuda.from_device(a, 2, np.uint32) == 0x01020304).all()
    cuda.memset_d16(b, 0xBEEF, 2500)
    assert (cuda.from_device(b, 2500, np.uint16) == 0xBEEF).all()


def test_async_copies_on_one_stream_run_in_order(rng) -> None:
    stream = cuda.Stream()
    count = 4096
    first = cuda.pagelocked_empty(count, np.float32)
    second = cuda.pagelocked_empty(count, np.float32)
    first[:] = rng.standard_normal(count)
    second[:] = rng.standard_normal(count)
    snapshot, latest = cuda.pagelocked_zeros_like(first), cuda.pagelocked_zeros_like(first)
    work, saved = cuda.mem_alloc_like(first), cuda.mem_alloc_like(first)
    for _ in range(20):
        cuda.memcpy_htod_async(work, first, stream)
        cuda.memcpy_dtod_async(saved, work, first.nbytes, stream)
        cuda.memcpy_htod_async(work, second, stream)
        cuda.memcpy_dtoh_async(snapshot, saved, stream)
        cuda.memcpy_dtoh_async(latest, work, stream)
        stream.synchronize()
        assert np.array_equal(snapshot, first) and np.array_equal(latest, second)
        first, second = second, first


def test_stream_handles_are_accepted_where_streams_are(rng) -> None:
    stream = cuda.Stream()
    assert isinstance(stream.handle, int) and stream.handle > 0
    assert cuda.Stream.from_handle(stream.handle) is stream
    host = cuda.pagelocked_empty(256, np.float32)
    host[:] = rng.standard_normal(256)
    out = cuda.pagelocked_zeros_like(host)
    device = cuda.mem_alloc_like(host)
    cuda.memcpy_htod_async(device, host, stream.handle)
    cuda.memcpy_dtoh_async(out, device, stream.handle)
    stream.synchronize()
    assert stream.is_done() and np.array_equal(out, host)
    cuda.memcpy_htod_async(device, host, 0)  # handle 0: the default stream
    cuda.Stream.from_handle(0).synchronize()


def test_events_measure_device_time(rng) -> None:
    stream = cuda.Stream()
    host = cuda.pagelocked_empty(1 << 20, np.uint8)
    host[:] = random_bytes(rng, 1 << 20)
    device = cuda.mem_alloc(host.nbytes)
    start, end = cuda.Event(), cuda.Event()
    start.record(stream)
    cuda.memcpy_htod_async(device, host, stream)
    end.record(stream)
    end.synchronize()
    assert end.query()
    elapsed = end.time_since(start)
    assert elapsed >= 0 and elapsed == pytest.approx(start.time_till(end))


def test_streams_stay_untimed_until_an_event_times_them(rng) -> None:
    """A stream starts on a plain queue (cheaper copies); waiting-only events leave it there, the
    first timing event moves it to a profiling queue without reordering its work."""
    stream = cuda.Stream()
    host = cuda.pagelocked_empty(1 << 16, np.uint8)
    host[:] = random_bytes(rng, 1 << 16)
    device = cuda.mem_alloc(host.nbytes)
    back = cuda.pagelocked_zeros_like(host)
    cuda.memcpy_htod_async(device, host, stream)
    waiting = cuda.Event(cuda.event_flags.DISABLE_TIMING).record(stream)
    waiting.synchronize()
    assert not stream.timed
    other = cuda.Event(flags=cuda.event_flags.DISABLE_TIMING | cuda.event_flags.BLOCKING_SYNC).record(stream)
    with pytest.raises(ValueError, match="created with DISABLE_TIMING"):
        other.time_since(waiting)
    start = cuda.Event().record(stream)
    assert stream.timed
    cuda.memcpy_dtoh_async(back, device, stream)
    end = cuda.Event().record(stream)
    end.synchronize()
    np.testing.assert_array_equal(back, host)
    assert end.time_since(start) >= 0
    with pytest.raises(ValueError, match="the start event was created with DISABLE_TIMING"):
        end.time_since(waiting)
    with pytest.raises(ValueError, match="Event flags 8"):
        cuda.Event(8)


# --- errors ------------------------------------------------------------------------------------------

def test_copies_that_do_not_fit_are_refused(rng) -> None:
    device = cuda.mem_alloc(100)
    with pytest.raises(ValueError, match="overrun the device allocation"):
        cuda.memcpy_htod(device, random_bytes(rng, 101))
    with pytest.raises(ValueError, match="overrun"):
        cuda.memcpy_dtoh(np.empty(101, np.uint8), device)
    with pytest.raises(ValueError, match="overrun"):
        cuda.memcpy_htod(int(device) + 60, random_bytes(rng, 41))
    with pytest.raises(ValueError, match="not inside a live device allocation"):
        cuda.memcpy_htod(int(device) + 101, random_bytes(rng, 1))
    with pytest.raises(ValueError, match="overrun"):
        cuda.memcpy_dtod(device, cuda.mem_alloc(50), 51)
    with pytest.raises(ValueError, match="overlap"):
        cuda.memcpy_dtod(int(device) + 10, device, 20)
    with pytest.raises(ValueError, match="cannot be negative"):
        cuda.memcpy_dtod(device, device, -1)
    with pytest.raises(ValueError, match="does not fit"):
        cuda.memset_d8(device, 256, 4)


def test_non_contiguous_and_read_only_host_arrays_are_refused(rng) -> None:
    device = cuda.mem_alloc(4096)
    matrix = rng.standard_normal((16, 16)).astype(np.float32)
    with pytest.raises(ValueError, match=r"source is not contiguous \(shape \(16, 8\)"):
        cuda.memcpy_htod(device, matrix[:, ::2])
    with pytest.raises(ValueError, match="destination is not contiguous"):
        cuda.memcpy_dtoh(matrix[::2], device)
    read_only = np.frombuffer(bytes(64), dtype=np.uint8)
    with pytest.raises(ValueError, match="destination is read-only"):
        cuda.memcpy_dtoh(read_only, device)
    with pytest.raises(TypeError, match="source must be a host array"):
        cuda.memcpy_htod(device, 3.5)
    with pytest.raises(TypeError, match="DeviceAllocation or an integer device address"):
        cuda.memcpy_htod("device", matrix)


def test_freed_allocations_are_refused(rng) -> None:
    device = cuda.mem_alloc(64)
    address = int(device)
    device.free()
    assert device.freed and "freed" in repr(device)
    data = random_bytes(rng, 64)
    with pytest.raises(ValueError, match="has been freed"):
        cuda.memcpy_htod(device, data)
    with pytest.raises(ValueError, match="not inside a live device allocation"):
        cuda.memcpy_htod(address, data)
    with cuda.mem_alloc(64) as scoped:
        cuda.memcpy_htod(scoped, data)
    assert scoped.freed
    # The process stays usable.
    fresh = cuda.to_device(data)
    assert np.array_equal(cuda.from_device(fresh, 64, np.uint8), data)


def test_host_pointers_are_not_device_addresses(rng) -> None:
    host = random_bytes(rng, 32)
    with pytest.raises(ValueError, match="not inside a live device allocation"):
        cuda.memcpy_htod(host.ctypes.data, host)


def test_bad_allocation_sizes() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        cuda.mem_alloc(-1)
    with pytest.raises(MemoryError, match="at most"):
        cuda.mem_alloc(1 << 60)
    assert cuda.mem_alloc(0).size == 0


def test_unknown_streams_and_devices() -> None:
    with pytest.raises(ValueError, match="does not name a live stream"):
        cuda.Stream.from_handle(10**9)
    with pytest.raises(ValueError, match="no OpenCL device 9999"):
        cuda.Device(9999)
    with pytest.raises(ValueError, match="unknown OpenCL device 'no-such-device'.*available devices"):
        mlprt.set_device("no-such-device")
    with pytest.raises(TypeError, match="stream must be"):
        cuda.memcpy_htod_async(cuda.mem_alloc(4), np.zeros(4, np.uint8), "stream")
