"""Cold builds of the second-level networks, each in a fresh process with every program cache
empty (mlprt's MLPRT_CACHE_DIR and NVIDIA's CUDA_CACHE_PATH, PoCL's POCL_CACHE_DIR under a new
folder), with the builder's whole verbose log kept: the build's wall time, its driver compiles
(how many, seconds summed), and every candidate's timing of every step ("chose T (timed ...)"),
from which pruning rules per shape class are read (`--candidates LOG` prints them per kernel
family: how often each was timed, won, and its time over the winner's).

  python3 bench/cold_build.py --models resnet50:224x224:32,bert_base:32:128,yolov8n:640x640:1 \
      --cnn-from gpu_cnn --out /tmp/cold --json cold.json  # ONNX files in --workdir
  python3 bench/cold_build.py --candidates /tmp/cold/resnet50_224x224_b32.log
  python3 bench/cold_build.py --steps /tmp/cold/resnet50_224x224_b32.log  # TC against the rest, per step
  python3 bench/cold_build.py --timeline /tmp/cold/resnet50_224x224_b32.log  # compiles in flight over time

Each log line starts with the seconds since the build began ("[  12.345] "), so the timeline of the
driver's compiles (when each ended, its duration) shows whether the pool's wall time follows the
compiles' sum over the threads or a tail of late, slow ones.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "python"))
sys.path.insert(0, str(HERE))


def export(spec: str, out: Path, cnn_from: Optional[Path]) -> Tuple[Path, Dict[str, Tuple[tuple, ...]]]:
    """The ONNX file of `spec` ("vision_name:HxW:BATCH" or "bert_name:BATCH:SEQUENCE") and the
    profile to build it with (input name -> (min, opt, max); empty for a static file)."""
    name, *rest = spec.split(":")
    if name.startswith("bert"):
        import transformer_bench
        batch, sequence = int(rest[0]), int(rest[1])
        path = out / f"{name}.onnx"
        if not path.exists():
            transformer_bench.export_onnx(transformer_bench.bert(name), transformer_bench.sample(2, 16), path)
        shape = (batch, sequence)
        return path, {n: (shape, shape, shape) for n in transformer_bench.INPUTS}
    h, w = (int(v) for v in rest[0].split("x"))
    batch = int(rest[1])
    stem = f"{name}_{h}x{w}_b{batch}"
    if cnn_from is not None and (cnn_from / f"{stem}.onnx").exists():
        return cnn_from / f"{stem}.onnx", {}
    from vision_zoo import MODELS
    model = MODELS[name]
    sized = dataclasses.replace(model, input_shape=(batch, model.input_shape[1], h, w))
    path = out / f"{stem}.onnx"
    path.write_bytes(sized.export(opset=17, batch=batch))
    return path, {}


def child(path: Path, profile_json: str, log_path: Path) -> None:
    """In a fresh process: one FP16 build of `path`, its whole log at VERBOSE into `log_path`;
    prints the figures as JSON."""
    from mlprt.engine_tools import build_engine
    from build_log import StepTimes, tactic_tally
    from timing import compile_summary

    class Keep(StepTimes):
        """StepTimes (the driver's compiles) that also writes every message to `file` and keeps the
        compile pool's line."""

        def __init__(self, file) -> None:
            super().__init__()
            self.file = file
            self.ahead: List[str] = []
            self.start = time.perf_counter()

        def log(self, severity, msg: str) -> None:
            self.file.write(f"[{time.perf_counter() - self.start:9.3f}] {msg}\n")
            if msg.startswith("compiled ahead: "):
                self.ahead.append(msg)
            super().log(severity, msg)

    profile = {name: tuple(tuple(s) for s in shapes) for name, shapes in json.loads(profile_json).items()}
    with open(log_path, "w") as file:
        logger = Keep(file)
        start = time.perf_counter()
        plan = build_engine(str(path), fp16=True, profiles=[profile] if profile else (), logger=logger)
        build_s = time.perf_counter() - start
    summary = compile_summary(logger.compiles)
    summary.pop("compiles")
    print(json.dumps({"build_s": round(build_s, 2), "ahead": logger.ahead, "tactics": tactic_tally(bytes(plan)),
                      **summary}))


def cold_build(spec: str, workdir: Path, out: Path, cnn_from: Optional[Path]) -> Dict[str, object]:
    """`spec`'s FP16 build in a fresh process with every cache empty; its figures and log path
    (the log into `out`, the ONNX file into `workdir`)."""
    path, profile = export(spec, workdir, cnn_from)
    stem = spec.replace(":", "_")
    caches = Path(tempfile.mkdtemp(prefix=f"cold-{stem}-"))
    env = dict(os.environ, MLPRT_CACHE_DIR=str(caches / "mlprt"), CUDA_CACHE_PATH=str(caches / "nv"),
               POCL_CACHE_DIR=str(caches / "pocl"))
    log_path = out / f"{stem}.log"
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "_child", str(path), json.dumps(profile), str(log_path)],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the cold build of {spec} failed:\n{done.stderr[-3000:]}")
    row = {"model": spec, **json.loads(done.stdout.strip().splitlines()[-1]),
           "process_s": round(time.perf_counter() - start, 2), "log": str(log_path)}
    return row


def candidate_table(log_path: Path) -> str:
    """Per kernel family of the candidates timed in `log_path`: times timed, times chosen, and the
    smallest and median ratio of its time to the step's winner's (how far from winning it came)."""
    import statistics
    by_family: Dict[str, List[float]] = {}
    won: Dict[str, int] = {}
    for line in log_path.read_text().splitlines():
        if ": chose " not in line or "(timed" not in line:
            continue
        chosen = line.split(": chose ")[1].split()[0]
        times = {}
        for part in line.split("(timed")[1].rstrip(")").split():
            tactic, _, ms = part.rpartition("=")
            times[tactic] = float(ms.rstrip("ms"))
        best = min(times.values())
        for tactic, ms in times.items():
            family = family_of(tactic)
            by_family.setdefault(family, []).append(ms / best if best > 0 else 1.0)
            won[family] = won.get(family, 0) + (tactic == chosen)
    lines = [f"{'family':32} {'timed':>6} {'won':>4} {'best ratio':>10} {'median':>8}"]
    for family, ratios in sorted(by_family.items(), key=lambda item: -len(item[1])):
        lines.append(f"{family:32} {len(ratios):6} {won[family]:4} {min(ratios):10.2f} {statistics.median(ratios):8.2f}")
    return "\n".join(lines)


def uses_tensor_cores(tactic: str) -> bool:
    """Whether a tactic's name is one of the tensor-core families (mma.sync or wgmma tiles, alone,
    channels-last, as a pointwise GEMM or as Winograd's GEMM)."""
    return "mma_" in tactic


def step_table(log_path: Path) -> str:
    """Per timed step of `log_path` that timed both tensor-core and other tactics: the winner, the
    best of each kind over the winner's time, and the step's timing signature (its shapes), from
    which a size below which the portable kernels can win is read."""
    signatures: Dict[str, str] = {}
    lines = []
    for line in log_path.read_text().splitlines():
        if ": timing " in line and " candidates for " in line:
            step = line.split("step '", 1)[1].split("': timing", 1)[0]
            signatures[step] = line.split(" candidates for ", 1)[1]
            continue
        if ": chose " not in line or "(timed" not in line:
            continue
        step = line.split("step '", 1)[1].split("': chose", 1)[0]
        chosen = line.split(": chose ")[1].split()[0]
        times = {}
        for part in line.split("(timed")[1].rstrip(")").split():
            tactic, _, ms = part.rpartition("=")
            times[tactic] = float(ms.rstrip("ms"))
        tensor = [ms for tactic, ms in times.items() if uses_tensor_cores(tactic)]
        other = [ms for tactic, ms in times.items() if not uses_tensor_cores(tactic)]
        if not tensor or not other:
            continue
        best = min(times.values())
        lines.append(f"{step[:48]:48} {chosen:34} {min(tensor) / best:5.2f} {min(other) / best:5.2f}  "
                     f"{signatures.get(step, '?')}")
    header = f"{'step':48} {'chosen':34} {'tc':>5} {'other':>5}  signature"
    return "\n".join([header] + lines)


def compile_timeline(log_path: Path, bucket_s: float = 2.0) -> str:
    """The driver's compiles of `log_path` over time: per `bucket_s` seconds of the build, the
    compiles in flight on average (their start is their end, the line's time, less their duration),
    then the last five to end; lines without a time (logs of older builds) are skipped."""
    spans = []
    for line in log_path.read_text().splitlines():
        if not line.startswith("[") or "] program compiled in " not in line:
            continue
        end = float(line[1:line.index("]")])
        milliseconds = float(line.split("program compiled in ", 1)[1].split(" ms", 1)[0])
        spans.append((end - milliseconds / 1000.0, end, line.split(" ms: ", 1)[1]))
    if not spans:
        return "no timed compiles in the log"
    last = max(end for _, end, _ in spans)
    lines = [f"{len(spans)} compiles, {sum(end - start for start, end, _ in spans):.1f} s summed, "
             f"the last ending at {last:.1f} s; in flight per {bucket_s:g} s:"]
    buckets = []
    t = 0.0
    while t < last:
        overlap = sum(max(0.0, min(end, t + bucket_s) - max(start, t)) for start, end, _ in spans)
        buckets.append(f"{t:.0f}s:{overlap / bucket_s:.1f}")
        t += bucket_s
    lines.append(" ".join(buckets))
    lines.append("the last to end (start, end, program):")
    for start, end, what in sorted(spans, key=lambda span: span[1])[-5:]:
        lines.append(f"  {start:7.2f} {end:7.2f}  {what[:150]}")
    return "\n".join(lines)


def family_of(tactic: str) -> str:
    """A tactic's family: its name up to its tile sizes (`large_m64n64_k16_t8x8` -> `large`,
    `hwc_gemm:wgmma_f16_128x128` -> `hwc_gemm:wgmma_f16`)."""
    parts = []
    for piece in tactic.replace(":", ":_").split("_"):
        if piece and (piece[0].isdigit() or (piece[0] in "mtkrw" and piece[1:2].isdigit())):
            break
        parts.append(piece)
    return "_".join(parts).replace(":_", ":").rstrip("_")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        child(Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="resnet50:224x224:32,bert_base:32:128,yolov8n:640x640:1")
    parser.add_argument("--cnn-from", type=Path, help="ONNX files cnn_bench.py --export-to wrote (YOLO)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/cold-builds"), help="the build logs")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/cold-onnx"), help="the ONNX files")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--candidates", type=Path, help="print a build log's candidates per family, then stop")
    parser.add_argument("--steps", type=Path,
                        help="print a build log's steps that timed tensor-core and other tactics, then stop")
    parser.add_argument("--timeline", type=Path, help="print a build log's compiles over time, then stop")
    args = parser.parse_args()
    if args.timeline:
        print(compile_timeline(args.timeline))
        return
    if args.candidates:
        print(candidate_table(args.candidates))
        return
    if args.steps:
        print(step_table(args.steps))
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args.out.mkdir(parents=True, exist_ok=True)
    args.workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for spec in args.models.split(","):
        try:
            row = cold_build(spec, args.workdir, args.out, args.cnn_from)
        except Exception as error:  # one network's export or build failing leaves the others' rows
            print(f"{spec}: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
            rows.append({"model": spec, "error": str(error)})
            continue
        rows.append(row)
        print(json.dumps(row), flush=True)
        print(candidate_table(Path(str(row["log"]))), flush=True)
        print(step_table(Path(str(row["log"]))), flush=True)
        print(compile_timeline(Path(str(row["log"]))), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
