"""Fuzzes mlprt.Runtime.deserialize_cuda_engine with mutated engine files.

    python tests/fuzz/fuzz_deserialize.py [--runs N] [--seed S] [--max-total-time SECONDS]

Each input picks a seed engine from tests/fuzz/corpus/engine (its device record rewritten to the
device this process runs on, so the checks behind the device check are reached) and makes one to
four mutations: byte-level ones anywhere in the payload, or ones aimed at a section (its length,
a count or size field in its body). Most inputs then get a header made valid again (payload size
and checksum recomputed) so the mutation reaches the payload parser; the rest keep the stale
header and exercise the header checks. Then:

- deserialize_cuda_engine returns an engine, or None after logging an error (TensorRT's
  behaviour); it never raises;
- an engine it returns answers every question about itself (I/O tensor names, modes, shapes,
  types, profile shapes, sizes, serialize() giving back the same bytes), and
  create_execution_context() returns a context or raises one of mlprt's documented errors
  (ValueError, MemoryError, mlprt.Error) naming the problem: the arena an engine asks for is
  allocated there, and a file may claim any size.

Crashes, hangs (--timeout) and a resident set above --rss-limit-mb are reported by libFuzzer, as
are the exceptions raised here; the choice bytes of such an input are written to --artifacts.
"""
from __future__ import annotations

import struct
from typing import List, Optional, Sequence

import atheris

import engine_file
import harness

with atheris.instrument_imports(include=["mlprt"]):
    import mlprt

#: Exceptions create_execution_context may raise for an engine it cannot serve.
CONTEXT_ERRORS = (ValueError, MemoryError, mlprt.Error)


class Finding(AssertionError):
    """An outcome that breaks the runtime's promise (raised so that libFuzzer reports it)."""


class ErrorLog(mlprt.ILogger):
    """Counts the errors the runtime logs."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: List[str] = []

    def log(self, severity: "mlprt.Logger.Severity", msg: str) -> None:
        if severity in (mlprt.Logger.ERROR, mlprt.Logger.INTERNAL_ERROR):
            self.errors.append(msg)


def current_device_seeds() -> List[bytes]:
    """The seed engines, each rewritten to name the device this process runs on."""
    device = mlprt.current_device()
    return [engine_file.retarget(seed, device.platform, device.name, device.vendor, device.driver_version,
                                 device.opencl_version) for seed in harness.load_seeds("engine")]


@atheris.instrument_func
def section_offsets(payload: bytes) -> List[int]:
    """Where each section's tag starts in `payload` (as far as the framing can be followed)."""
    offsets, at = [], 0
    while at + 12 <= len(payload):
        offsets.append(at)
        at += 12 + struct.unpack_from("<Q", payload, at + 4)[0]
    return offsets


@atheris.instrument_func
def mutate_section(payload: bytes, fdp: atheris.FuzzedDataProvider) -> bytes:
    """A change aimed at a section: its length, or an edge value written over a field of its
    first bytes (where the counts and sizes are) or anywhere in its body."""
    offsets = section_offsets(payload)
    if not offsets:
        return harness.mutate_bytes(payload, fdp)
    at = offsets[fdp.ConsumeIntInRange(0, len(offsets) - 1)]
    buffer = bytearray(payload)
    target = fdp.ConsumeIntInRange(0, 2)
    if target == 0:
        width, field = 8, at + 4
    else:
        width = 4 if fdp.ConsumeBool() else 8
        end = len(buffer) if target == 2 else min(len(buffer), at + 12 + 32)
        field = fdp.ConsumeIntInRange(at + 12, max(at + 12, end - 1))
    value = harness.interesting_int(fdp) % (1 << (8 * width))
    buffer[field:field + width] = value.to_bytes(width, "little")
    return bytes(buffer)


@atheris.instrument_func
def mutated_engine(seeds: Sequence[bytes], fdp: atheris.FuzzedDataProvider) -> bytes:
    """A seed with one to four mutations; most of the time behind a header made valid again."""
    seed = seeds[fdp.ConsumeIntInRange(0, len(seeds) - 1)]
    fix_header = fdp.ConsumeIntInRange(0, 7) != 0
    header, payload = seed[:engine_file.HEADER_BYTES], seed[engine_file.HEADER_BYTES:]
    for _ in range(fdp.ConsumeIntInRange(1, 4)):
        if fdp.ConsumeBool():
            payload = mutate_section(payload, fdp)
        else:
            payload = harness.mutate_bytes(payload, fdp)
    if fix_header:
        # The compiled checksum: FNV-1a in Python takes 10 ms on the 100 KB seeds, two thirds of
        # a run's time.
        return engine_file.with_header(payload, version=fdp.ConsumeIntInRange(1, 2),
                                       checksum=mlprt._core.engine_checksum)
    return harness.mutate_bytes(header, fdp) + payload if fdp.ConsumeBool() else header + payload


@atheris.instrument_func
def check_engine(engine: "mlprt.ICudaEngine", data: bytes) -> None:
    """Every question about a loaded engine has an answer, and a context is made or refused cleanly."""
    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    if list(engine) != names:
        raise Finding(f"iterating the engine gives {list(engine)}, get_tensor_name gives {names}")
    for name in names:
        engine.get_tensor_shape(name)
        engine.get_tensor_dtype(name)
        if engine.get_tensor_mode(name) == mlprt.TensorIOMode.INPUT:
            for profile in range(engine.num_optimization_profiles):
                engine.get_tensor_profile_shape(name, profile)
    _ = engine.num_layers, engine.device_memory_size
    if bytes(engine.serialize()) != data:
        raise Finding("serialize() does not give back the bytes the engine was loaded from")
    try:
        context = engine.create_execution_context()
    except CONTEXT_ERRORS as error:
        if not str(error):
            raise Finding(f"create_execution_context raised {type(error).__name__} without a message") from error
        harness.record(f"loaded, context refused ({type(error).__name__})")
        return
    if context is None:
        raise Finding("create_execution_context returned None")
    _ = context.all_binding_shapes_specified, context.device_memory_size
    harness.record("loaded, context made")


def refusal_kind(message: str) -> str:
    """The kind of refusal a logged error is: its header check, the section at fault, or the device."""
    if "malformed: section " in message:
        return message.split("malformed: ", 1)[1].split(",", 1)[0]
    for kind in ("checksum", "truncated", "newer", "not an mlprt engine", "reserved", "built for device",
                 "unexpected bytes", "version 0"):
        if kind in message:
            return kind
    return "other"


def main(argv: Optional[Sequence[str]] = None) -> None:
    options = harness.argument_parser(__doc__.splitlines()[0], default_runs=3000, default_timeout=30,
                                      default_rss_mb=3072)
    args = options.parse_args(argv)
    seeds = current_device_seeds()
    logger = ErrorLog()
    runtime = mlprt.Runtime(logger)
    for seed in seeds:  # the unmutated seeds load (their kernels are compiled now, not while fuzzing)
        engine = runtime.deserialize_cuda_engine(seed)
        if engine is None:
            raise SystemExit("a seed engine does not load: " + "; ".join(logger.errors))
        check_engine(engine, seed)
    harness.OUTCOMES.clear()  # count the fuzzed inputs only

    def test_one_input(choices: bytes) -> None:
        data = mutated_engine(seeds, atheris.FuzzedDataProvider(choices))
        logger.errors.clear()
        engine = runtime.deserialize_cuda_engine(data)
        if engine is None:
            if not logger.errors:
                raise Finding("deserialize_cuda_engine returned None without logging why")
            harness.record("refused: " + refusal_kind(logger.errors[-1]))
            return
        check_engine(engine, data)

    harness.run(test_one_input, args)


if __name__ == "__main__":
    main()
