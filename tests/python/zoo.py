"""The model zoo of TensorRT's tutorials as PyTorch modules, with cached ONNX exports.

Shared by the parser tests and the engine tests. Every model is built with a fixed seed, in eval
mode, with non-trivial weights (BatchNorm running statistics randomized). ``ZooExports`` exports
each (model, exporter, dynamic) once per session into a temporary directory; use the
session-scoped ``zoo_exports`` fixture (import it into a test module: ``from zoo import
zoo_exports``).

Exporters: ``"legacy"`` is ``torch.onnx.export(..., dynamo=False)`` (TorchScript), ``"dynamo"``
is ``torch.onnx.export(..., dynamo=True)``. Static exports have batch ``STATIC_BATCH``; dynamic
ones a dynamic first axis on every input and output.
"""
from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import pytest
import torch
from torch import nn

STATIC_BATCH = 5
EXPORTERS = ("legacy", "dynamo")
SEED = 1234


@dataclass(frozen=True)
class ZooModel:
    """A zoo entry: how to build the module, its inputs (name, per-sample shape) and outputs."""

    name: str
    build: Callable[[], nn.Module]
    inputs: Tuple[Tuple[str, Tuple[int, ...]], ...]
    outputs: Tuple[str, ...]

    def module(self) -> nn.Module:
        """The module, seeded, with randomized BatchNorm statistics, in eval mode."""
        torch.manual_seed(SEED)
        model = self.build()
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, (nn.BatchNorm1d, nn.LayerNorm)):
                    if m.weight is not None:
                        m.weight.uniform_(0.5, 1.5)
                        m.bias.uniform_(-0.5, 0.5)
                if isinstance(m, nn.BatchNorm1d):
                    m.running_mean.normal_(0.0, 0.5)
                    m.running_var.uniform_(0.5, 2.0)
        return model.eval()

    def example_inputs(self, batch: int, seed: int = 0) -> Dict[str, np.ndarray]:
        """Random float32 inputs (standard normal) by input name."""
        rng = np.random.default_rng(seed)
        return {name: rng.standard_normal((batch,) + shape).astype(np.float32) for name, shape in self.inputs}


class Sequential(nn.Module):
    """nn.Sequential with one input, named so exports read well."""

    def __init__(self, *layers: nn.Module) -> None:
        super().__init__()
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class ViewFlattenMLP(nn.Module):
    """x.view(x.size(0), -1): the legacy exporter emits Shape -> Gather -> Unsqueeze -> Concat."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(784, 32), nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x.view(x.size(0), -1))))


class ResidualMLP(nn.Module):
    """Linear stem, two residual blocks x + W2 relu(W1 x), Linear head."""

    def __init__(self, width: int = 64, blocks: int = 2) -> None:
        super().__init__()
        self.stem = nn.Linear(784, width)
        self.blocks = nn.ModuleList(nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))
                                    for _ in range(blocks))
        self.head = nn.Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.stem(x))
        for block in self.blocks:
            x = torch.relu(x + block(x))
        return self.head(x)


class SoftmaxHeads(nn.Module):
    """An MLP with two heads: probabilities (Softmax) and log-probabilities (LogSoftmax)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(784, 48), nn.Tanh(), nn.Linear(48, 10))

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        logits = self.body(x) * 3.0
        return torch.softmax(logits, dim=1), torch.log_softmax(logits, dim=-1)


class TwoTower(nn.Module):
    """Two inputs (an image and metadata), concatenated features, two outputs."""

    def __init__(self) -> None:
        super().__init__()
        self.image = nn.Sequential(nn.Linear(784, 32), nn.ReLU())
        self.metadata_tower = nn.Sequential(nn.Linear(16, 8), nn.Sigmoid())
        self.head = nn.Linear(40, 10)

    def forward(self, image: torch.Tensor, meta: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        logits = self.head(torch.cat([self.image(image), self.metadata_tower(meta)], dim=1))
        return logits, torch.softmax(logits, dim=1)


def _mlp(widths: Sequence[int], activations: Sequence[nn.Module]) -> nn.Module:
    layers: List[nn.Module] = []
    for i, act in enumerate(activations):
        layers += [nn.Linear(widths[i], widths[i + 1]), act]
    layers.append(nn.Linear(widths[len(activations)], widths[len(activations) + 1]))
    return Sequential(*layers)


_IMAGE = (("input", (784,)),)
_LOGITS = ("output",)

ZOO: Dict[str, ZooModel] = {m.name: m for m in [
    ZooModel("simple_mlp", lambda: _mlp([784, 32, 10], [nn.ReLU()]), _IMAGE, _LOGITS),
    ZooModel("wide_mlp", lambda: _mlp([784, 512, 256, 10], [nn.ReLU(), nn.ReLU()]), _IMAGE, _LOGITS),
    ZooModel("mlp_activations_a", lambda: _mlp(
        [784, 64, 64, 48, 48, 32, 10],
        [nn.LeakyReLU(0.1), nn.Sigmoid(), nn.Tanh(), nn.ELU(0.7), nn.SELU()]), _IMAGE, _LOGITS),
    ZooModel("mlp_activations_b", lambda: _mlp(
        [784, 64, 64, 48, 48, 32, 32, 32, 32, 10],
        [nn.Softplus(), nn.Hardsigmoid(), nn.Hardswish(), nn.GELU(), nn.GELU(approximate="tanh"),
         nn.ReLU6(), nn.PReLU(32), nn.PReLU()]), _IMAGE, _LOGITS),
    ZooModel("mlp_batchnorm", lambda: Sequential(nn.Linear(784, 64), nn.BatchNorm1d(64), nn.ReLU(),
                                                 nn.Linear(64, 10)), _IMAGE, _LOGITS),
    ZooModel("mlp_layernorm", lambda: Sequential(nn.Linear(784, 64), nn.LayerNorm(64), nn.GELU(),
                                                 nn.Linear(64, 10)), _IMAGE, _LOGITS),
    ZooModel("mlp_dropout", lambda: Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Dropout(0.5),
                                               nn.Linear(64, 10)), _IMAGE, _LOGITS),
    ZooModel("flatten_mlp", lambda: Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10)),
             (("input", (28, 28)),), _LOGITS),
    ZooModel("view_flatten_mlp", ViewFlattenMLP, (("input", (28, 28)),), _LOGITS),
    ZooModel("residual_mlp", ResidualMLP, _IMAGE, _LOGITS),
    ZooModel("softmax_heads", SoftmaxHeads, _IMAGE, ("probs", "log_probs")),
    ZooModel("two_tower", TwoTower, (("image", (784,)), ("meta", (16,))), ("logits", "probs")),
]}


def export(model: ZooModel, path: Path, exporter: str, dynamic: bool) -> Path:
    """Exports ``model`` to ``path`` with ``exporter`` ("legacy" or "dynamo"), batch dynamic or
    ``STATIC_BATCH``; returns ``path``."""
    module = model.module()
    args = tuple(torch.from_numpy(v) for v in model.example_inputs(STATIC_BATCH).values())
    input_names = [name for name, _ in model.inputs]
    output_names = list(model.outputs)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        if exporter == "legacy":
            axes = {name: {0: "batch"} for name in input_names + output_names} if dynamic else None
            torch.onnx.export(module, args, str(path), dynamo=False, input_names=input_names,
                              output_names=output_names, dynamic_axes=axes)
        elif exporter == "dynamo":
            shapes = None
            if dynamic:
                batch = torch.export.Dim("batch", min=1, max=4096)
                forward_names = list(module.forward.__code__.co_varnames[1:1 + len(input_names)])
                shapes = {name: {0: batch} for name in forward_names}
            program = torch.onnx.export(module, args, dynamo=True, input_names=input_names,
                                        output_names=output_names, dynamic_shapes=shapes, verbose=False)
            program.save(str(path))
        else:
            raise ValueError(f"unknown exporter {exporter!r}")
    return path


class ZooExports:
    """Exports on demand into ``directory``, each (model, exporter, dynamic) once."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._paths: Dict[Tuple[str, str, bool], Path] = {}

    def get(self, name: str, exporter: str, dynamic: bool) -> Path:
        """The path of the ONNX export of zoo model ``name``."""
        key = (name, exporter, dynamic)
        if key not in self._paths:
            path = self.directory / f"{name}-{exporter}-{'dynamic' if dynamic else 'static'}.onnx"
            self._paths[key] = export(ZOO[name], path, exporter, dynamic)
        return self._paths[key]


@pytest.fixture(scope="session")
def zoo_exports(tmp_path_factory: pytest.TempPathFactory) -> ZooExports:
    """Session-wide cache of the zoo's ONNX exports."""
    return ZooExports(tmp_path_factory.mktemp("zoo"))
