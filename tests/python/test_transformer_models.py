"""Issue 15's transformers end to end (transformer_zoo.py): `transformers` BERT, DistilBERT,
RoBERTa, GPT-2 (causal and padding masks, no KV cache) and a sentence-embedding model, torchvision's
VisionTransformer and Swin-T, exported with random weights by the TorchScript exporter (opset 17),
built into one engine each with a profile over batch 1..4 and sequence 1..16 (the vision models:
batch 1..4), and run at two sequence lengths (two batches) from that engine; compared with ONNX
Runtime and PyTorch: FP32 within 1e-4 relative error, FP16 within 1e-2. Through TensorRT's API,
`mlprt exec` (several dynamic inputs) and `mlprt.Session`. Tiny widths keep PoCL's runs short;
the architectures are whole."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, Sequence

import numpy as np
import onnxruntime
import pytest

import mlprt
from engine_helpers import RecordingLogger, infer, load, relative_error
from mlprt.engine_tools import build_engine
from transformer_zoo import MODELS, TransformerExport, export


def _check(model: TransformerExport, results: Sequence[Dict[str, np.ndarray]], bound: float) -> None:
    """``results``: mlprt's outputs for each of the model's samples, checked against ONNX Runtime's
    and PyTorch's within ``bound`` (max |error| / max |reference|, every output)."""
    session = onnxruntime.InferenceSession(model.onnx, providers=["CPUExecutionProvider"])
    for sample, torch_outputs, got in zip(model.samples, model.torch_outputs, results, strict=True):
        shapes = {name: value.shape for name, value in sample.items()}
        ort_outputs = dict(zip(model.outputs, session.run(list(model.outputs), sample)))
        for reference, outputs in (("onnxruntime", ort_outputs), ("pytorch", torch_outputs)):
            for name in model.outputs:
                assert got[name].shape == outputs[name].shape, (name, reference, shapes)
                error = relative_error(got[name], outputs[name])
                assert error <= bound, (f"{model.name} output {name} at inputs {shapes}: relative error "
                                        f"{error:.3g} against {reference}")


def _check_engine(model: TransformerExport, engine: mlprt.ICudaEngine, bound: float) -> None:
    """The engine's outputs keep the exported dynamic axes (-1: they follow the batch and the
    sequence), and one execution context runs every sample within ``bound``."""
    for name in model.outputs:
        axes = model.dynamic_axes[name]
        reference = model.torch_outputs[0][name]
        expected = tuple(-1 if axis in axes else extent for axis, extent in enumerate(reference.shape))
        assert tuple(engine.get_tensor_shape(name)) == expected, name
    context = engine.create_execution_context()
    _check(model, [infer(context, sample) for sample in model.samples], bound)


@pytest.mark.parametrize("name", MODELS)
def test_model_matches_onnxruntime_and_pytorch(name: str) -> None:
    """Parsed and built through TensorRT's API, one engine at both sample shapes."""
    model = export(name)
    plan = build_engine(model.onnx, profiles=[model.profile], logger=RecordingLogger())
    engine = load(plan)
    # Every attention chain is one fused step (Swin-T's shifted windows too): no softmax is left.
    inspector = engine.create_engine_inspector()
    infos = [json.loads(inspector.get_layer_information(i, mlprt.LayerInformationFormat.JSON))
             for i in range(engine.num_layers)]
    layers = [info["LayerType"] for info in infos]
    assert "Softmax" not in layers and "Attention" in layers, layers
    if name in ("bert", "distilbert", "roberta", "sentence_embedding", "gpt2"):  # three Linears, or one split in three
        assert all("merged_qkv=true" in info["Parameters"] for info in infos if info["LayerType"] == "Attention")
    _check_engine(model, engine, 1e-4)


@pytest.mark.parametrize("name", ["bert"])
def test_model_in_fp16(name: str) -> None:
    """FP16 storage of every interior tensor; BERT is the issue's speed target."""
    model = export(name)
    plan = build_engine(model.onnx, fp16=True, profiles=[model.profile], logger=RecordingLogger())
    _check_engine(model, load(plan), 1e-2)


def _shapes(model: TransformerExport, which: int) -> str:
    """trtexec's shape list of profile entry ``which`` (0 min, 1 opt, 2 max)."""
    return ",".join(f"{name}:{'x'.join(map(str, shapes[which]))}" for name, shapes in model.profile.items())


@pytest.mark.parametrize("name", ["gpt2"])
def test_mlprt_exec_over_batch_and_sequence(name: str, tmp_path: Path) -> None:
    """trtexec's flags with two dynamic inputs, each over two axes:
    --minShapes=input_ids:1x1,attention_mask:1x1 ... --maxShapes=input_ids:4x16,attention_mask:4x16."""
    model = export(name)
    onnx_path, engine_path = tmp_path / f"{name}.onnx", tmp_path / f"{name}.engine"
    onnx_path.write_bytes(model.onnx)
    result = subprocess.run([sys.executable, "-m", "mlprt", "exec", f"--onnx={onnx_path}",
                             f"--saveEngine={engine_path}", f"--minShapes={_shapes(model, 0)}",
                             f"--optShapes={_shapes(model, 1)}", f"--maxShapes={_shapes(model, 2)}",
                             "--iterations=2"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    _check_engine(model, load(engine_path.read_bytes()), 1e-4)


@pytest.mark.parametrize("name", ["sentence_embedding"])
def test_session_runs_sentence_embeddings(name: str) -> None:
    """`mlprt.Session` as a sentence-embedding service calls it: token ids and masks of any batch
    and length in, unit-length embeddings out."""
    model = export(name)
    session = mlprt.Session(model.onnx, profiles=model.profile, use_cache=False)
    results = [dict(zip(model.outputs, session.run(None, sample))) for sample in model.samples]
    _check(model, results, 1e-4)
    for got in results:
        np.testing.assert_allclose(np.linalg.norm(got["embedding"], axis=1), 1.0, rtol=1e-5)
