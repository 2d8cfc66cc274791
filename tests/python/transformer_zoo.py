"""The transformers of issue 15, built with random weights (no downloads), tiny configurations for
PoCL, and exported to ONNX (opset 17, TorchScript exporter) by the tests themselves.

Text models (``transformers`` BERT, DistilBERT, RoBERTa, GPT-2 and a sentence-embedding model)
take int64 ``input_ids`` and ``attention_mask`` of shape (batch, sequence), both axes dynamic;
their masks pad the ends of some rows, as a tokenizer pads a batch on the right. Vision models
(torchvision's VisionTransformer and Swin-T) take float ``x`` with a dynamic batch. Every model is
exported once per process (:func:`export` caches it) together with sample inputs at two shapes
and PyTorch's outputs for them, so that one engine is checked at two sequence lengths (two
batches for the vision models).

``transformers`` imports torchvision: :func:`vision_zoo.torchvision_models` is called first (see
vision_zoo's docstring). The models use the attention ``transformers`` picks by default
(``sdpa``), which the TorchScript exporter writes out as MatMul, Softmax and mask arithmetic.
"""
from __future__ import annotations

import contextlib
import functools
import io
import os
import time
import warnings
from dataclasses import dataclass
from typing import Callable, Dict, Mapping, Sequence, Tuple

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from vision_zoo import SEED, torchvision_models

Shape = Tuple[int, ...]
Profile = Dict[str, Tuple[Shape, Shape, Shape]]  # input -> (min, opt, max)

OPSET = 17
#: The tiny text configuration: hidden width, layers, heads, MLP width, vocabulary, positions.
HIDDEN, LAYERS, HEADS, INTERMEDIATE, VOCAB, POSITIONS = 32, 2, 4, 64, 100, 64
#: (batch, sequence) of the text samples: two sequence lengths run by one engine.
TEXT_SAMPLES: Tuple[Tuple[int, int], ...] = ((3, 5), (2, 11))
#: The text engines' profile: batch 1..4, sequence 1..16.
TEXT_PROFILE: Profile = {
    name: ((1, 1), (2, 8), (4, 16)) for name in ("input_ids", "attention_mask")}
#: The shape of the export's example: neither sample's, so nothing specific to them is traced.
_TEXT_EXAMPLE = (2, 7)
IMAGE = 64    # Swin-T: stages of 16, 8, 4 and 2 tokens a side at patch 4, every one a window multiple
VIT_IMAGE = 32
VISION_BATCHES = (3, 1)


@dataclass(frozen=True)
class TransformerExport:
    """One exported model: the ONNX bytes, its I/O names, the engine profile its tests use, and
    samples (inputs) with PyTorch's outputs for each."""

    name: str
    onnx: bytes
    inputs: Tuple[str, ...]
    outputs: Tuple[str, ...]
    profile: Profile
    dynamic_axes: Dict[str, Dict[int, str]]  # input or output -> {axis: name}, as exported
    samples: Tuple[Dict[str, np.ndarray], ...]
    torch_outputs: Tuple[Dict[str, np.ndarray], ...]
    export_seconds: float  # building the module and exporting it (not the PyTorch references)


class _TextOutputs(nn.Module):
    """A ``transformers`` model called with keywords (GPT-2's ``forward`` takes ``cache`` second),
    returning plain tensors: the named fields of its output, in order."""

    def __init__(self, model: nn.Module, fields: Sequence[str]) -> None:
        super().__init__()
        self.model = model
        self.fields = tuple(fields)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        result = self.model(input_ids=input_ids, attention_mask=attention_mask)
        return tuple(getattr(result, name) for name in self.fields)


class SentenceEmbedding(nn.Module):
    """A sentence-transformers style embedding: a BERT encoder, the mean of its hidden states over
    the unmasked tokens, L2-normalized."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        return F.normalize(mean, p=2, dim=1)


def _transformers():
    """``transformers``, imported after torchvision's shim, offline (models are built from
    configurations: nothing is fetched from the Hugging Face Hub), with its logging quieted."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torchvision_models()
    import transformers
    transformers.logging.set_verbosity_error()
    return transformers


def _bert_config():
    return _transformers().BertConfig(
        vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
        intermediate_size=INTERMEDIATE, max_position_embeddings=POSITIONS, pad_token_id=0)


def _bert() -> nn.Module:
    return _TextOutputs(_transformers().BertModel(_bert_config()), ("last_hidden_state", "pooler_output"))


def _distilbert() -> nn.Module:
    t = _transformers()
    config = t.DistilBertConfig(vocab_size=VOCAB, dim=HIDDEN, n_layers=LAYERS, n_heads=HEADS,
                                hidden_dim=INTERMEDIATE, max_position_embeddings=POSITIONS, pad_token_id=0)
    return _TextOutputs(t.DistilBertModel(config), ("last_hidden_state",))


def _roberta() -> nn.Module:
    """RoBERTa numbers positions from ``pad_token_id + 1`` over the non-padding ids (a CumSum of
    ``input_ids != 1``), so the padded ids of the samples matter."""
    t = _transformers()
    config = t.RobertaConfig(vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                             num_attention_heads=HEADS, intermediate_size=INTERMEDIATE,
                             max_position_embeddings=POSITIONS + 2, pad_token_id=1,
                             bos_token_id=0, eos_token_id=2)
    return _TextOutputs(t.RobertaModel(config, add_pooling_layer=False), ("last_hidden_state",))


def _gpt2() -> nn.Module:
    """GPT-2 with its language-model head (tied to the embedding), causal and padding masks, no
    KV cache."""
    t = _transformers()
    config = t.GPT2Config(vocab_size=VOCAB, n_embd=HIDDEN, n_layer=LAYERS, n_head=HEADS, n_inner=INTERMEDIATE,
                          n_positions=POSITIONS, bos_token_id=VOCAB - 1, eos_token_id=VOCAB - 1,
                          pad_token_id=0, use_cache=False)
    return _TextOutputs(t.GPT2LMHeadModel(config), ("logits",))


def _sentence_embedding() -> nn.Module:
    t = _transformers()
    return SentenceEmbedding(t.BertModel(_bert_config(), add_pooling_layer=False))


def _vit() -> nn.Module:
    return torchvision_models().VisionTransformer(
        image_size=VIT_IMAGE, patch_size=8, num_layers=LAYERS, num_heads=HEADS, hidden_dim=HIDDEN,
        mlp_dim=INTERMEDIATE, num_classes=10)


def _swin_t() -> nn.Module:
    """Swin-T's architecture (four stages of shifted-window attention joined by patch merging,
    patch 4) at tiny widths: embedding 16, two blocks a stage, heads of 8 channels, 2x2 windows
    (the feature maps of a 64x64 image are 16, 8, 4 and 2 tokens a side: windows shift in the
    first three stages)."""
    return torchvision_models().SwinTransformer(
        patch_size=[4, 4], embed_dim=16, depths=[2, 2, 2, 2], num_heads=[2, 4, 8, 16],
        window_size=[2, 2], stochastic_depth_prob=0.2, num_classes=10)


@dataclass(frozen=True)
class _Spec:
    build: Callable[[], nn.Module]
    outputs: Tuple[str, ...]
    text: bool = True
    pad_id: int = 0
    image: int = IMAGE


_SPECS: Dict[str, _Spec] = {
    "bert": _Spec(_bert, ("last_hidden_state", "pooler_output")),
    "distilbert": _Spec(_distilbert, ("last_hidden_state",)),
    "roberta": _Spec(_roberta, ("last_hidden_state",), pad_id=1),
    "gpt2": _Spec(_gpt2, ("logits",)),
    "sentence_embedding": _Spec(_sentence_embedding, ("embedding",)),
    "vit": _Spec(_vit, ("logits",), text=False, image=VIT_IMAGE),
    "swin_t": _Spec(_swin_t, ("logits",), text=False),
}
MODELS: Tuple[str, ...] = tuple(_SPECS)


def text_inputs(batch: int, sequence: int, pad_id: int = 0, seed: int = 0) -> Dict[str, np.ndarray]:
    """Random token ids (never a special id) with right padding: row ``r`` keeps
    ``max(sequence - 2 r, 1)`` tokens, the rest of its mask is 0 and its ids are ``pad_id``."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(3, VOCAB - 1, size=(batch, sequence), dtype=np.int64)
    mask = np.ones((batch, sequence), np.int64)
    for row in range(batch):
        kept = max(sequence - 2 * row, 1)
        mask[row, kept:] = 0
        ids[row, kept:] = pad_id
    return {"input_ids": ids, "attention_mask": mask}


def _dynamic_axes(spec: _Spec) -> Dict[str, Dict[int, str]]:
    if not spec.text:
        return {name: {0: "batch"} for name in ("x",) + spec.outputs}
    axes = {name: {0: "batch", 1: "sequence"} for name in ("input_ids", "attention_mask")}
    for name in spec.outputs:  # per-token outputs follow the sequence; pooled ones do not
        axes[name] = {0: "batch", 1: "sequence"} if name in ("last_hidden_state", "logits") else {0: "batch"}
    return axes


def _randomize(module: nn.Module) -> None:
    """Random values for every parameter, at scales where each part of the model shows in its
    outputs: matrices, embeddings and tokens N(0, 0.2) (attention scores of order 1, not the
    near-uniform attention of the libraries' 0.02 initialization), biases N(0, 0.1), norm scales
    1 + N(0, 0.1). The libraries start biases, norm shifts and ViT's head at zero."""
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if parameter.dim() >= 2:
                parameter.normal_(0.0, 0.2)
            elif name.endswith("weight"):
                parameter.normal_(1.0, 0.1)
            else:
                parameter.normal_(0.0, 0.1)


def _module(spec: _Spec) -> nn.Module:
    torch.manual_seed(SEED)
    module = spec.build()
    _randomize(module)
    return module.eval()


def _run_torch(module: nn.Module, names: Sequence[str], feeds: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
    with torch.no_grad():
        result = module(*(torch.from_numpy(value) for value in feeds.values()))
    results = result if isinstance(result, tuple) else (result,)
    return {name: r.numpy() for name, r in zip(names, results)}


@functools.lru_cache(maxsize=None)
def export(name: str) -> TransformerExport:
    """Model ``name`` (one of :data:`MODELS`) exported at opset 17 with its samples and PyTorch's
    outputs; built once per process."""
    spec = _SPECS[name]
    start = time.perf_counter()
    module = _module(spec)
    if spec.text:
        inputs: Tuple[str, ...] = ("input_ids", "attention_mask")
        example = text_inputs(*_TEXT_EXAMPLE, pad_id=spec.pad_id, seed=1)  # padded: the traced masks are live
        samples = tuple(text_inputs(b, s, spec.pad_id, seed=2 + i) for i, (b, s) in enumerate(TEXT_SAMPLES))
        profile = dict(TEXT_PROFILE)
    else:
        inputs = ("x",)
        shape = (3, spec.image, spec.image)
        example = {"x": np.random.default_rng(1).standard_normal((2,) + shape).astype(np.float32)}
        samples = tuple({"x": np.random.default_rng(2 + i).standard_normal((b,) + shape).astype(np.float32)}
                        for i, b in enumerate(VISION_BATCHES))
        profile = {"x": ((1,) + shape, (2,) + shape, (4,) + shape)}
    axes = _dynamic_axes(spec)
    buffer = io.BytesIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(module, tuple(torch.from_numpy(v) for v in example.values()), buffer,
                          opset_version=OPSET, dynamo=False, input_names=list(inputs),
                          output_names=list(spec.outputs), dynamic_axes=axes)
    seconds = time.perf_counter() - start
    references = tuple(_run_torch(module, spec.outputs, sample) for sample in samples)
    return TransformerExport(name, buffer.getvalue(), inputs, spec.outputs, profile, axes, samples,
                             references, seconds)
