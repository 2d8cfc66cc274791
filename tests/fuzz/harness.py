"""What the Python fuzzers share: the command line, the seeds, byte-level mutations and the
atheris (libFuzzer) set-up.

Each fuzzer's input is a string of choice bytes, read through atheris.FuzzedDataProvider: they
pick a seed from tests/fuzz/corpus and the mutations to make to it. libFuzzer mutates the choice
bytes, guided by the coverage of the instrumented Python code, and reports what the fuzzer
target raises, a crash of the process (a fatal signal in native code), an input that runs longer
than --timeout seconds, and a resident set above --rss-limit-mb. With a fixed --seed and --runs
the run is the same every time (CI); --max-total-time runs by the clock instead (the long run).
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
from pathlib import Path
from typing import Callable, List

import atheris

CORPUS = Path(__file__).resolve().parent / "corpus"

# Integers at the edges of the widths the formats use: counts, dims, offsets, enum codes.
INTERESTING_INTS = (0, 1, 2, 3, 7, 8, 9, 255, 256, 2**15, 2**16, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**40,
                    2**62, 2**63 - 1, -1, -2, -7, -(2**31), -(2**63))


#: How the inputs ended, by outcome (see record).
OUTCOMES: "collections.Counter[str]" = collections.Counter()
_REPORT = {"every": 5000, "last": -1}


def record(outcome: str) -> None:
    """Counts an input's outcome; the counts are printed every 5000 inputs and after the last of
    --runs (libFuzzer ends the process without running exit handlers)."""
    OUTCOMES[outcome] += 1
    total = sum(OUTCOMES.values())
    if total % _REPORT["every"] == 0 or total == _REPORT["last"]:
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(OUTCOMES.items(), key=lambda kv: -kv[1]))
        print(f"outcomes of {total} inputs: {counts}", flush=True)


def load_seeds(kind: str) -> List[bytes]:
    """The seed files of tests/fuzz/corpus/<kind>, in name order."""
    seeds = [p.read_bytes() for p in sorted((CORPUS / kind).iterdir()) if p.is_file()]
    if not seeds:
        raise SystemExit(f"no seeds in {CORPUS / kind}: run tests/fuzz/make_corpus.py")
    return seeds


@atheris.instrument_func
def interesting_int(fdp: atheris.FuzzedDataProvider) -> int:
    """An edge value most of the time, otherwise any 64-bit value."""
    if fdp.ConsumeIntInRange(0, 3):
        return INTERESTING_INTS[fdp.ConsumeIntInRange(0, len(INTERESTING_INTS) - 1)]
    return fdp.ConsumeIntInRange(-(2**63), 2**63 - 1)


@atheris.instrument_func
def mutate_bytes(data: bytes, fdp: atheris.FuzzedDataProvider, start: int = 0) -> bytes:
    """One byte-level change at or after `start`: flip a bit, set a byte, write an edge integer
    (little-endian, 4 or 8 bytes), insert or delete a few bytes, duplicate a range, or truncate."""
    buffer = bytearray(data)
    if len(buffer) <= start:
        return bytes(buffer) + fdp.ConsumeBytes(fdp.ConsumeIntInRange(1, 16))
    at = fdp.ConsumeIntInRange(start, len(buffer) - 1)
    kind = fdp.ConsumeIntInRange(0, 7)
    if kind == 0:
        buffer[at] ^= 1 << fdp.ConsumeIntInRange(0, 7)
    elif kind == 1:
        buffer[at] = fdp.ConsumeIntInRange(0, 255)
    elif kind in (2, 3):
        width = 4 if kind == 2 else 8
        value = interesting_int(fdp) % (1 << (8 * width))
        buffer[at:at + width] = value.to_bytes(width, "little")
    elif kind == 4:
        buffer[at:at] = fdp.ConsumeBytes(fdp.ConsumeIntInRange(1, 16))
    elif kind == 5:
        del buffer[at:at + fdp.ConsumeIntInRange(1, 64)]
    elif kind == 6:
        end = min(len(buffer), at + fdp.ConsumeIntInRange(1, 256))
        buffer[at:at] = buffer[at:end]
    else:
        del buffer[at:]
    return bytes(buffer)


def argument_parser(description: str, default_runs: int, default_timeout: int,
                    default_rss_mb: int) -> argparse.ArgumentParser:
    """The options every fuzzer takes; a fuzzer may add its own before parsing."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--runs", type=int, default=default_runs, help="inputs to try (-1: no limit)")
    parser.add_argument("--seed", type=int, default=1, help="libFuzzer's random seed (fixed: a reproducible run)")
    parser.add_argument("--max-total-time", type=int, default=0, help="stop after this many seconds (0: no limit)")
    parser.add_argument("--timeout", type=int, default=default_timeout, help="seconds one input may take")
    parser.add_argument("--rss-limit-mb", type=int, default=default_rss_mb, help="resident set limit")
    parser.add_argument("--artifacts", type=Path, default=Path("build/fuzz-artifacts"),
                        help="where an input that fails is written")
    parser.add_argument("--corpus-dir", type=Path, default=None,
                        help="a directory of choice-byte inputs libFuzzer reads and adds to (long runs)")
    parser.add_argument("inputs", nargs="*", type=Path, help="replay these choice-byte files only")
    return parser


def run(test_one_input: Callable[[bytes], None], args: argparse.Namespace) -> None:
    """Hands test_one_input to libFuzzer with the limits of `args`; does not return."""
    args.artifacts.mkdir(parents=True, exist_ok=True)
    flags = [sys.argv[0], f"-seed={args.seed}", f"-timeout={args.timeout}", f"-rss_limit_mb={args.rss_limit_mb}",
             f"-artifact_prefix={os.path.join(str(args.artifacts), '')}", "-max_len=1024", "-len_control=0", "-print_final_stats=1"]
    if args.inputs:
        flags += [str(p) for p in args.inputs]  # replays them, each once
    else:
        flags.append(f"-runs={args.runs}")
        _REPORT["last"] = args.runs
        if args.max_total_time:
            flags.append(f"-max_total_time={args.max_total_time}")
        if args.corpus_dir is not None:
            args.corpus_dir.mkdir(parents=True, exist_ok=True)
            flags.append(str(args.corpus_dir))
    atheris.Setup(flags, test_one_input)
    atheris.Fuzz()
