"""The convolutional networks of TensorRT's vision tutorials, built with random weights (no
downloads), small spatial sizes for PoCL, and exported to ONNX by the tests themselves.

``torchvision`` is imported through :func:`torchvision_models`: torchvision 0.28's PyPI wheel is
built against CUDA torch, and with the CPU build of torch 2.13 its import fails registering fake
kernels for ``torchvision::nms`` and ``torchvision::qnms``, which the CPU build does not define.
Defining those two schemas first lets it import; model definitions need none of its compiled ops.
"""
from __future__ import annotations

import contextlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

SEED = 2024
_shim: Optional[torch.library.Library] = None


def torchvision_models():
    """``torchvision.models``, importable beside the CPU build of torch (see the module docstring)."""
    global _shim
    if _shim is None:
        try:
            import torchvision  # noqa: F401  (a build that imports by itself)
        except RuntimeError:
            _shim = torch.library.Library("torchvision", "DEF")
            for name in ("nms", "qnms"):
                _shim.define(f"{name}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        else:
            _shim = torch.library.Library("mlprt_tests_unused", "DEF")
    import torchvision
    return torchvision.models


class SuperResolutionNet(nn.Module):
    """The network of PyTorch's super-resolution export tutorial (and TensorRT's ONNX samples)."""

    def __init__(self, upscale_factor: int = 3) -> None:
        super().__init__()
        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(1, 64, (5, 5), (1, 1), (2, 2))
        self.conv2 = nn.Conv2d(64, 64, (3, 3), (1, 1), (1, 1))
        self.conv3 = nn.Conv2d(64, 32, (3, 3), (1, 1), (1, 1))
        self.conv4 = nn.Conv2d(32, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        x = self.relu(self.conv3(x))
        return self.pixel_shuffle(self.conv4(x))


def _double_conv(cin: int, cout: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU())


class UNet(nn.Module):
    """A small U-Net: max-pooled encoder, a transposed-convolution and a bilinear-upsampling
    decoder stage, skip connections joined with Concat."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1, self.enc2, self.mid = _double_conv(3, 8), _double_conv(8, 16), _double_conv(16, 32)
        self.up2 = nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.dec2 = _double_conv(32, 16)
        self.up1 = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.dec1 = _double_conv(24, 8)
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        m = self.mid(F.max_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([self.up2(m), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        return self.head(d1)


class SuperPointNet(nn.Module):
    """SuperPoint's shape: a VGG encoder (1/8 resolution), a detector head (65 channels, softmax,
    dustbin dropped, pixel shuffle to full resolution) and L2-normalized descriptors."""

    def __init__(self) -> None:
        super().__init__()
        widths = [(1, 16), (16, 16), (16, 24), (24, 24), (24, 32), (32, 32), (32, 32), (32, 32)]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in widths)
        self.det_a, self.det_b = nn.Conv2d(32, 64, 3, padding=1), nn.Conv2d(64, 65, 1)
        self.desc_a, self.desc_b = nn.Conv2d(32, 64, 3, padding=1), nn.Conv2d(64, 32, 1)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        for i, conv in enumerate(self.convs):
            x = F.relu(conv(x))
            if i in (1, 3, 5):
                x = F.max_pool2d(x, 2, 2)
        scores = F.softmax(self.det_b(F.relu(self.det_a(x))), dim=1)[:, :-1]
        heatmap = F.pixel_shuffle(scores, 8)
        descriptors = F.normalize(self.desc_b(F.relu(self.desc_a(x))), p=2, dim=1)
        return heatmap, descriptors


class EmbeddingNet(nn.Module):
    """A ResNet-18 trunk with a 128-d L2-normalized embedding head (the re-identification tutorial's
    [N, 3, 256, 144] network)."""

    def __init__(self) -> None:
        super().__init__()
        self.trunk = torchvision_models().resnet18()
        self.trunk.fc = nn.Linear(512, 128)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.trunk(x), dim=1)


@dataclass(frozen=True)
class VisionModel:
    name: str
    build: Callable[[], nn.Module]
    input_shape: Tuple[int, ...]  # with batch 1
    outputs: Tuple[str, ...] = ("y",)
    # True: the output is a list of detections (box, score, class) chosen by TopK, which the tests
    # compare as a set (detections of nearly equal score may come in either order).
    detections: bool = False

    def module(self) -> nn.Module:
        torch.manual_seed(SEED)
        model = self.build()
        with torch.no_grad():  # batch norms with non-trivial statistics
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.normal_(0.0, 0.2)
                    m.running_var.uniform_(0.5, 1.5)
        return model.eval()

    def export(self, opset: int = 17, dynamic_batch: bool = False, batch: int = 1, dynamo: bool = False) -> bytes:
        """The ONNX bytes of the TorchScript exporter, or of the dynamo exporter (torch.export; it
        picks its own opset, 18 or later)."""
        example = torch.randn((batch,) + self.input_shape[1:])
        axes = {name: {0: "batch"} for name in ("x",) + self.outputs} if dynamic_batch else None
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            if not dynamo:
                buffer = io.BytesIO()
                torch.onnx.export(self.module(), example, buffer, opset_version=opset, dynamo=False,
                                  input_names=["x"], output_names=list(self.outputs), dynamic_axes=axes)
                return buffer.getvalue()
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "model.onnx"
                torch.onnx.export(self.module(), (example,), str(path), dynamo=True, input_names=["x"],
                                  output_names=list(self.outputs), dynamic_axes=axes)
                import onnx
                # It writes the weights to a file beside the model: read back into one model.
                return onnx.load(str(path)).SerializeToString()

    def torch_outputs(self, x: np.ndarray) -> Dict[str, np.ndarray]:
        with torch.no_grad():
            result = self.module()(torch.from_numpy(x))
        results = result if isinstance(result, tuple) else (result,)
        return {name: r.numpy() for name, r in zip(self.outputs, results)}


def _torchvision(name: str, **kwargs) -> Callable[[], nn.Module]:
    return lambda: getattr(torchvision_models(), name)(**kwargs)


def _spread_class_scores(head: nn.Module) -> None:
    """Random class biases for a head with random weights: its initial biases give every anchor and
    class nearly the same score, so that which of them a TopK keeps is decided by rounding."""
    with torch.no_grad():
        for name, module in head.named_modules():
            if "cv3" in name and isinstance(module, nn.Conv2d) and module.bias is not None and module.out_channels == head.nc:
                module.weight.mul_(20.0)
                module.bias.normal_(-2.0, 1.0)


def _ultralytics(config: str, end2end: bool = False) -> Callable[[], nn.Module]:
    """An ultralytics detector built from its yaml (no weights are downloaded), with its Detect head
    set up as ultralytics' own ONNX export sets it: one (batch, 4 + classes, anchors) output of
    decoded boxes (centre x, y, width, height in input pixels) and class scores; or, with
    ``end2end`` (YOLO26's NMS-free head, which ultralytics exports by default), (batch, detections,
    6): boxes (x1, y1, x2, y2), score and class of the top-scoring anchors, chosen with TopK."""
    def build() -> nn.Module:
        os.environ.setdefault("YOLO_OFFLINE", "1")  # no update or telemetry checks
        os.environ.setdefault("YOLO_VERBOSE", "False")
        torchvision_models()  # ultralytics imports torchvision: the shim first
        from ultralytics.nn.modules.head import Detect
        from ultralytics.nn.tasks import DetectionModel
        model = DetectionModel(config, verbose=False)
        for m in model.modules():
            if isinstance(m, Detect):
                m.export, m.format, m.dynamic = True, "onnx", False
                m.end2end = end2end
                if end2end:
                    _spread_class_scores(m)
        return model
    return build


MODELS: Dict[str, VisionModel] = {m.name: m for m in [
    VisionModel("resnet18", _torchvision("resnet18"), (1, 3, 64, 64)),
    VisionModel("resnet50", _torchvision("resnet50"), (1, 3, 32, 32)),
    VisionModel("mobilenet_v2", _torchvision("mobilenet_v2"), (1, 3, 64, 64)),
    VisionModel("mobilenet_v3_small", _torchvision("mobilenet_v3_small"), (1, 3, 64, 64)),
    VisionModel("efficientnet_b0", _torchvision("efficientnet_b0"), (1, 3, 64, 64)),
    VisionModel("shufflenet_v2_x0_5", _torchvision("shufflenet_v2_x0_5"), (1, 3, 64, 64)),
    VisionModel("convnext_tiny", _torchvision("convnext_tiny"), (1, 3, 32, 32)),
    VisionModel("regnet_x_400mf", _torchvision("regnet_x_400mf"), (1, 3, 64, 64)),
    VisionModel("super_resolution", SuperResolutionNet, (1, 1, 32, 32)),
    VisionModel("unet", UNet, (1, 3, 32, 40)),
    VisionModel("superpoint", SuperPointNet, (1, 1, 48, 64), ("heatmap", "descriptors")),
    VisionModel("embedding_resnet18", EmbeddingNet, (1, 3, 64, 36)),
    VisionModel("yolov8n", _ultralytics("yolov8n.yaml"), (1, 3, 64, 64)),
    VisionModel("yolo11n", _ultralytics("yolo11n.yaml"), (1, 3, 64, 64)),
    VisionModel("yolo26n", _ultralytics("yolo26n.yaml", end2end=True), (1, 3, 64, 64), detections=True),
]}
