"""A YOLO detector run the way the TensorRT YOLO tutorials run one, on mlprt.

1. ultralytics builds YOLOv8n from its yaml file (random weights: nothing is downloaded) and the
   script exports it to ONNX with ultralytics' export head: one (1, 4 + 80, anchors) output of
   boxes (centre x, centre y, width, height in input pixels) and class scores.
2. trtexec's command builds the engine: `mlprt exec --onnx=yolov8n.onnx --saveEngine=yolov8n.engine`.
3. A TensorRT 8 style engine class (a pinned host array and a device allocation per binding,
   execute_async_v2 on a stream) runs it on a picture the script draws with NumPy, prepared as
   the tutorials prepare camera frames: letterbox to the input size, BGR to RGB, HWC to NCHW,
   scaled to [0, 1].
4. Boxes are decoded from the output: score threshold, centre/size to corners, per-class
   non-maximum suppression, and the letterbox undone, so boxes are in the picture's pixels.

The engine's output is compared with ONNX Runtime's on the same input. With random weights the
boxes mean nothing; load trained weights into the model to see real detections.

    python examples/yolo_detector.py [--workdir DIR] [--size 320] [--threshold 0.25]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import List, Tuple

import numpy as np

import mlprt as trt
import mlprt.driver as cuda
import mlprt.autoinit  # noqa: F401  (initializes the device, as pycuda.autoinit does)


def export_yolov8n(path: Path, size: int) -> None:
    """YOLOv8n from ultralytics' yaml, exported with its ONNX export head (opset 17)."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_VERBOSE", "False")
    import torch
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "python"))
    from vision_zoo import torchvision_models
    torchvision_models()  # lets torchvision import beside the CPU build of torch (see vision_zoo.py)
    from ultralytics.nn.modules.head import Detect
    from ultralytics.nn.tasks import DetectionModel

    torch.manual_seed(0)
    model = DetectionModel("yolov8n.yaml", verbose=False).eval()
    for m in model.modules():
        if isinstance(m, Detect):
            m.export, m.format, m.dynamic = True, "onnx", False
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.zeros(1, 3, size, size), str(path), opset_version=17, dynamo=False,
                          input_names=["images"], output_names=["output0"])


def build_with_mlprt_exec(onnx_path: Path, engine_path: Path) -> None:
    """trtexec --onnx=... --saveEngine=... (mlprt's trtexec)."""
    subprocess.run([sys.executable, "-m", "mlprt", "exec", f"--onnx={onnx_path}", f"--saveEngine={engine_path}",
                    "--skipInference"], check=True, stdout=subprocess.DEVNULL)


class HostDeviceMem:
    """A pinned host array and the device allocation it is copied to and from."""

    def __init__(self, host: np.ndarray, device: cuda.DeviceAllocation) -> None:
        self.host = host
        self.device = device


class YoloEngine:
    """The tutorials' engine class: loads the engine file, allocates every binding once, and runs
    it with execute_async_v2."""

    def __init__(self, engine_path: Path) -> None:
        logger = trt.Logger(trt.Logger.WARNING)
        with open(engine_path, "rb") as f, trt.Runtime(logger) as runtime:
            self.engine = runtime.deserialize_cuda_engine(f.read())
        self.context = self.engine.create_execution_context()
        self.stream = cuda.Stream()
        self.inputs: List[HostDeviceMem] = []
        self.outputs: List[HostDeviceMem] = []
        self.bindings: List[int] = []
        for binding in range(self.engine.num_bindings):
            shape = tuple(self.engine.get_binding_shape(binding))
            dtype = trt.nptype(self.engine.get_binding_dtype(binding))
            host = cuda.pagelocked_empty(shape, dtype)
            device = cuda.mem_alloc(host.nbytes)
            self.bindings.append(int(device))
            (self.inputs if self.engine.binding_is_input(binding) else self.outputs).append(HostDeviceMem(host, device))
        self.input_size = tuple(self.engine.get_binding_shape(0))[2:]

    def infer(self, blob: np.ndarray) -> np.ndarray:
        np.copyto(self.inputs[0].host, blob)
        cuda.memcpy_htod_async(self.inputs[0].device, self.inputs[0].host, self.stream)
        self.context.execute_async_v2(bindings=self.bindings, stream_handle=self.stream.handle)
        cuda.memcpy_dtoh_async(self.outputs[0].host, self.outputs[0].device, self.stream)
        self.stream.synchronize()
        return np.array(self.outputs[0].host)


def draw_picture(height: int = 360, width: int = 480) -> np.ndarray:
    """A BGR uint8 frame with a few filled rectangles and a disc on a gradient."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 255 // width, y * 255 // height, np.full_like(x, 96)], axis=-1).astype(np.uint8)
    image[60:200, 40:170] = (30, 30, 220)
    image[150:330, 260:430] = (40, 200, 40)
    image[((y - 110) ** 2 + (x - 360) ** 2) < 50 ** 2] = (230, 200, 20)
    return image


def letterbox(image: np.ndarray, size: Tuple[int, int]) -> Tuple[np.ndarray, float, Tuple[int, int]]:
    """Resized (nearest) to fit ``size`` keeping its aspect, padded with grey (114) around it;
    returns the image, the scale and the (left, top) padding."""
    height, width = image.shape[:2]
    scale = min(size[0] / height, size[1] / width)
    new_h, new_w = int(round(height * scale)), int(round(width * scale))
    rows = np.minimum((np.arange(new_h) / scale).astype(int), height - 1)
    cols = np.minimum((np.arange(new_w) / scale).astype(int), width - 1)
    resized = image[rows][:, cols]
    top, left = (size[0] - new_h) // 2, (size[1] - new_w) // 2
    boxed = np.full((size[0], size[1], 3), 114, np.uint8)
    boxed[top:top + new_h, left:left + new_w] = resized
    return boxed, scale, (left, top)


def preprocess(image: np.ndarray, size: Tuple[int, int]) -> Tuple[np.ndarray, float, Tuple[int, int]]:
    """BGR HWC uint8 -> letterboxed RGB NCHW float32 in [0, 1]."""
    boxed, scale, pad = letterbox(image, size)
    blob = boxed[..., ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    return np.ascontiguousarray(blob), scale, pad


def box_area(boxes: np.ndarray) -> np.ndarray:
    """Areas of boxes (x1, y1, x2, y2) along the last axis."""
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> List[int]:
    """Indices kept by greedy non-maximum suppression (boxes x1, y1, x2, y2)."""
    order = np.argsort(-scores, kind="stable")
    keep: List[int] = []
    while order.size:
        i = order[0]
        keep.append(int(i))
        x1 = np.maximum(boxes[i, 0], boxes[order[1:], 0])
        y1 = np.maximum(boxes[i, 1], boxes[order[1:], 1])
        x2 = np.minimum(boxes[i, 2], boxes[order[1:], 2])
        y2 = np.minimum(boxes[i, 3], boxes[order[1:], 3])
        inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
        iou = inter / (box_area(boxes[i]) + box_area(boxes[order[1:]]) - inter + 1e-9)
        order = order[1:][iou <= iou_threshold]
    return keep


def decode(output: np.ndarray, scale: float, pad: Tuple[int, int], image_shape: Tuple[int, int],
           threshold: float, iou_threshold: float = 0.45) -> List[Tuple[np.ndarray, float, int]]:
    """(box x1, y1, x2, y2 in the picture's pixels, score, class) from a (1, 4 + classes, anchors)
    output, best first."""
    predictions = output[0].T  # (anchors, 4 + classes)
    classes = predictions[:, 4:].argmax(axis=1)
    scores = predictions[np.arange(len(predictions)), 4 + classes]
    chosen = scores > threshold
    centre, extent = predictions[chosen, :2], predictions[chosen, 2:4]
    boxes = np.concatenate([centre - extent / 2, centre + extent / 2], axis=1)
    boxes = (boxes - np.array([pad[0], pad[1], pad[0], pad[1]])) / scale
    boxes = np.clip(boxes, 0, [image_shape[1], image_shape[0], image_shape[1], image_shape[0]])
    scores, classes = scores[chosen], classes[chosen]
    detections = []
    for c in np.unique(classes):
        members = np.nonzero(classes == c)[0]
        for k in nms(boxes[members], scores[members], iou_threshold):
            detections.append((boxes[members[k]], float(scores[members[k]]), int(c)))
    return sorted(detections, key=lambda d: -d[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="where the ONNX and engine files go (default: a temporary folder)")
    parser.add_argument("--size", type=int, default=320, help="the square input size (a multiple of 32)")
    parser.add_argument("--threshold", type=float, default=0.25, help="score threshold")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp())
    workdir.mkdir(parents=True, exist_ok=True)
    onnx_path, engine_path = workdir / "yolov8n.onnx", workdir / "yolov8n.engine"
    export_yolov8n(onnx_path, args.size)
    build_with_mlprt_exec(onnx_path, engine_path)

    detector = YoloEngine(engine_path)
    image = draw_picture()
    blob, scale, pad = preprocess(image, detector.input_size)
    output = detector.infer(blob)

    import onnxruntime
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    expected = session.run(None, {"images": blob})[0]
    error = float(np.abs(output - expected).max() / np.abs(expected).max())
    detections = decode(output, scale, pad, image.shape[:2], args.threshold)
    print(f"engine {engine_path.name}: input {tuple(blob.shape)}, output {tuple(output.shape)}, "
          f"max relative error against ONNX Runtime {error:.2e}")
    print(f"{len(detections)} detections above {args.threshold} (random weights: boxes mean nothing)")
    for box, score, cls in detections[:5]:
        print(f"  class {cls:2d}  score {score:.3f}  box {np.round(box, 1).tolist()}")
    if error > 1e-4:
        raise SystemExit(f"the engine's output differs from ONNX Runtime's by {error:.2e}")


if __name__ == "__main__":
    main()
