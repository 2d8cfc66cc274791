"""The tutorials' convolutional networks (tests/python/vision_zoo.py) at their full input sizes on
this device against ONNX Runtime (CPU) and PyTorch: the GPU half of issue 14's "every model
matches" (CI checks the same architectures at small sizes on PoCL).

For each model: the TorchScript export (opset 17) with a dynamic batch, built by mlprt in FP32
and FP16 with one profile (1, 2, 4) (the builder's layout choice and tactics as they ship),
run at batch 2 and 3 on random inputs; the largest relative error of each output against ONNX
Runtime and PyTorch (max |mlprt - reference| / max |reference|; detection lists compared as
sets, tests/python/engine_helpers.check_detections), against the quality bar (FP32 1e-4, FP16
1e-2). PyTorch runs on the GPU where it has one, in FP32 with TF32 off.

    python3 bench/cnn_match.py [--models resnet50,unet] [--precisions fp32,fp16] [--markdown FILE]

Models whose definitions need packages this machine lacks are read from `--from DIR`
(NAME_HxW.onnx, as `--export-to DIR` writes them where those packages are installed); PyTorch
is then not compared for them.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import onnxruntime

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "python"))

import mlprt  # noqa: E402
from engine_helpers import check_detections, infer, load, relative_error  # noqa: E402
from mlprt.engine_tools import build_engine  # noqa: E402
from vision_zoo import MODELS, VisionModel  # noqa: E402

# The sizes the tutorials run them at (H, W).
FULL_SIZES: Dict[str, Tuple[int, int]] = {
    "resnet18": (224, 224), "resnet50": (224, 224), "mobilenet_v2": (224, 224), "mobilenet_v3_small": (224, 224),
    "efficientnet_b0": (224, 224), "shufflenet_v2_x0_5": (224, 224), "convnext_tiny": (224, 224),
    "regnet_x_400mf": (224, 224), "super_resolution": (224, 224), "unet": (256, 256), "superpoint": (480, 640),
    "embedding_resnet18": (256, 144), "yolov8n": (640, 640), "yolo11n": (640, 640), "yolo26n": (640, 640),
}
BOUNDS = {"fp32": 1e-4, "fp16": 1e-2}
BATCHES = (2, 3)


@dataclasses.dataclass
class Row:
    model: str
    size: str
    precision: str
    build_s: float
    errors: Dict[str, float]  # "onnxruntime b2" -> worst relative error over the outputs
    failure: str = ""
    notes: List[str] = dataclasses.field(default_factory=list)

    def worst(self) -> float:
        return max(self.errors.values()) if self.errors else float("nan")


def sized(model: VisionModel, size: Tuple[int, int]) -> VisionModel:
    return dataclasses.replace(model, input_shape=(1, model.input_shape[1]) + size)


def torch_outputs(model: VisionModel, x: np.ndarray) -> Dict[str, np.ndarray]:
    """PyTorch's outputs, on the GPU where there is one (FP32, TF32 off). Detection lists image by
    image: YOLO26's NMS-free head gave other detections for an image at batch 3 than for the same
    image alone (this machine, 2026-12-05, ultralytics' CPU run), while ONNX Runtime's and mlprt's
    batch-3 outputs matched PyTorch's image by image."""
    import torch
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    device = "cuda" if torch.cuda.is_available() else "cpu"
    module = model.module().to(device)
    pieces = [x[i:i + 1] for i in range(x.shape[0])] if model.detections else [x]
    outputs: Dict[str, List[np.ndarray]] = {name: [] for name in model.outputs}
    with torch.no_grad():
        for piece in pieces:
            result = module(torch.from_numpy(piece).to(device))
            results = result if isinstance(result, tuple) else (result,)
            for name, r in zip(model.outputs, results):
                outputs[name].append(r.float().cpu().numpy())
    return {name: np.concatenate(values) for name, values in outputs.items()}


def compare(model: VisionModel, got: Dict[str, np.ndarray], expected: Dict[str, np.ndarray], bound: float,
            notes: List[str]) -> float:
    """The worst relative error over the outputs; an AssertionError where shapes differ or
    detections do not match. Detection lists: the error of their sorted scores, and each row must
    match one of the reference's (check_detections); in FP16 (bound 1e-2) the rows themselves are
    only noted where they differ, since TopK over anchors whose scores differ by less than FP16's
    rounding may keep other anchors of the same score."""
    worst = 0.0
    for name in model.outputs:
        if got[name].shape != expected[name].shape:
            raise AssertionError(f"output {name} has shape {got[name].shape}, expected {expected[name].shape}")
        if not model.detections:
            worst = max(worst, relative_error(got[name], expected[name]))
            continue
        scores = relative_error(np.sort(got[name][..., 4], axis=-1), np.sort(expected[name][..., 4], axis=-1))
        if scores > bound:
            raise AssertionError(f"output {name}: sorted scores' relative error {scores:.3g}")
        worst = max(worst, scores)
        try:
            check_detections(got[name], expected[name], bound, "the reference", score_tolerance=max(1e-5, bound))
        except AssertionError as e:
            if bound < 1e-2:
                raise
            notes.append(f"rows differ: {e}")
    return worst


def check_model(model: VisionModel, data: bytes, precision: str, with_torch: bool) -> Row:
    h, w = model.input_shape[2:]
    row = Row(model.name, f"{h}x{w}", precision, 0.0, {})
    shape = model.input_shape[1:]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{model.name}.onnx"
        path.write_bytes(data)
        start = time.perf_counter()
        try:
            plan = build_engine(str(path), fp16=precision == "fp16",
                                profiles=[{"x": ((1,) + shape, (2,) + shape, (4,) + shape)}])
        except Exception as e:  # noqa: BLE001  (reported in the table)
            row.failure = f"build: {e}"
            return row
        row.build_s = time.perf_counter() - start
    engine = load(plan)
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    for batch in BATCHES:
        x = np.random.default_rng(batch).standard_normal((batch,) + shape).astype(np.float32)
        got = infer(engine.create_execution_context(), {"x": x})
        references = {"onnxruntime": dict(zip(model.outputs, session.run(list(model.outputs), {"x": x})))}
        if with_torch:
            references["pytorch"] = torch_outputs(model, x)
        for reference, expected in references.items():
            try:
                notes: List[str] = []
                row.errors[f"{reference} b{batch}"] = compare(model, got, expected, BOUNDS[precision], notes)
                row.notes += [f"{reference} b{batch}: {note}" for note in notes]
            except AssertionError as e:
                row.failure = f"{reference} b{batch}: {e}"
    return row


def markdown(rows: List[Row]) -> str:
    lines = ["| model | input | precision | build (s) | worst error vs ONNX Runtime | vs PyTorch | bound | |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        def worst(reference: str) -> str:
            values = [v for k, v in r.errors.items() if k.startswith(reference)]
            return f"{max(values):.2g}" if values else "-"
        ok = not r.failure and r.worst() <= BOUNDS[r.precision]
        verdict = ("ok" if ok else "FAILED " + r.failure) + ("; " + "; ".join(r.notes[:1]) if r.notes else "")
        lines.append(f"| {r.model} | {r.size} | {r.precision.upper()} | {r.build_s:.1f} | {worst('onnxruntime')} | "
                     f"{worst('pytorch')} | {BOUNDS[r.precision]:g} | {verdict} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(FULL_SIZES), help="comma-separated vision_zoo names")
    parser.add_argument("--precisions", default="fp32,fp16")
    parser.add_argument("--scale", type=float, default=1.0, help="input sizes times this (a quick check on a CPU)")
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--export-to", type=Path, help="write each model's ONNX file here and stop")
    parser.add_argument("--from", dest="source", type=Path, help="read NAME_HxW.onnx files from here where present")
    args = parser.parse_args()
    print(f"device: {mlprt.current_device().name}", flush=True)
    rows: List[Row] = []
    for name in args.models.split(","):
        h, w = FULL_SIZES[name]
        size = (max(32, int(h * args.scale) // 32 * 32), max(32, int(w * args.scale) // 32 * 32))
        model = sized(MODELS[name], size)
        stored: Optional[Path] = args.source / f"{name}_{size[0]}x{size[1]}.onnx" if args.source else None
        with_torch = True
        if stored is not None and stored.exists():
            data, with_torch = stored.read_bytes(), False
        else:
            data = model.export(opset=17, dynamic_batch=True)
        if args.export_to:
            args.export_to.mkdir(parents=True, exist_ok=True)
            (args.export_to / f"{name}_{size[0]}x{size[1]}.onnx").write_bytes(data)
            continue
        for precision in args.precisions.split(","):
            row = check_model(model, data, precision, with_torch)
            rows.append(row)
            print(markdown([row]).splitlines()[-1], flush=True)
    if rows:
        table = markdown(rows)
        print("\n" + table)
        if args.markdown:
            args.markdown.write_text(table + "\n")


if __name__ == "__main__":
    main()
