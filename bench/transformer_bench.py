"""BERT encoders on mlprt, PyTorch and ONNX Runtime, numpy in and numpy out, in one run (issue
15's speed table: a 4-layer, 256-wide BERT and BERT-base at sequence 128).

For each model, batch and precision: Hugging Face's BertModel with random weights (no download),
exported by the TorchScript exporter (opset 17, dynamic batch and sequence), built by mlprt into
an engine whose profile is the timed shape, and run as the TensorRT tutorials do (pinned host
buffers, memcpy_htod_async of input_ids and attention_mask, execute_async_v3, memcpy_dtoh_async,
synchronize); PyTorch runs the same module eagerly and as a CUDA graph replayed with pinned
staging (FP16: the module in half, PyTorch's default SDPA attention); ONNX Runtime on the CPU.
Medians of --iterations timed calls after warm-up, and the engine's cold build time.

    python3 bench/transformer_bench.py --models bert_4x256,bert_base --batches 1,32 --precisions fp16

Needs `transformers` (scripts/requirements.txt pins it); on the GPU machine, install the wheels
carried there first (bench/README.md).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import onnxruntime

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "python"))

import mlprt  # noqa: E402
import mlprt.autoinit  # noqa: E402,F401
import mlprt.driver as cuda  # noqa: E402
from mlprt.engine_tools import build_engine  # noqa: E402
from layer_profile import layer_profile  # noqa: E402
from timing import compile_summary, cuda_torch, median_seconds, speed_table  # noqa: E402
from build_log import StepTimes, tactic_tally  # noqa: E402

#: name -> (layers, hidden, heads, intermediate): BERT's vocabulary and positions throughout.
CONFIGS: Dict[str, Tuple[int, int, int, int]] = {
    "bert_tiny": (2, 32, 4, 64),  # for the test of this script (tests/python/test_transformer_bench.py)
    "bert_4x256": (4, 256, 4, 1024),
    "bert_base": (12, 768, 12, 3072),
}
INPUTS = ("input_ids", "attention_mask")


def bert(name: str) -> "torch.nn.Module":
    """The encoder with random weights, returning last_hidden_state only."""
    import torch
    from vision_zoo import torchvision_models
    try:
        torchvision_models()  # transformers imports torchvision, which needs a shim beside a CPU build of torch
    except ImportError:
        pass  # no torchvision (the GPU machine): transformers does without it
    import transformers
    layers, hidden, heads, intermediate = CONFIGS[name]
    config = transformers.BertConfig(num_hidden_layers=layers, hidden_size=hidden, num_attention_heads=heads,
                                     intermediate_size=intermediate)
    torch.manual_seed(0)
    model = transformers.BertModel(config, add_pooling_layer=False).eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    return LastHiddenState().eval()


def export_onnx(module: "torch.nn.Module", feeds: Dict[str, np.ndarray], path: Path) -> None:
    import torch
    axes = {name: {0: "batch", 1: "sequence"} for name in (*INPUTS, "hidden")}
    with torch.no_grad():
        torch.onnx.export(module, tuple(torch.from_numpy(feeds[n]) for n in INPUTS), str(path), input_names=list(INPUTS),
                          output_names=["hidden"], dynamic_axes=axes, opset_version=17, dynamo=False)


def sample(batch: int, sequence: int, vocabulary: int = 30522) -> Dict[str, np.ndarray]:
    """Random tokens; the last row padded over its second half."""
    rng = np.random.default_rng(batch * 1000 + sequence)
    mask = np.ones((batch, sequence), np.int64)
    mask[-1, sequence // 2:] = 0
    return {"input_ids": rng.integers(0, vocabulary, (batch, sequence)).astype(np.int64), "attention_mask": mask}


def mlprt_runner(plan: bytes, feeds: Dict[str, np.ndarray],
                 profiler: Optional[mlprt.IProfiler] = None) -> Callable[[], np.ndarray]:
    """The tutorials' call: host arrays copied into pinned buffers, copies and the run on a stream."""
    engine = mlprt.Runtime(mlprt.Logger(mlprt.Logger.WARNING)).deserialize_cuda_engine(plan)
    context = engine.create_execution_context()
    context.profiler = profiler
    stream = cuda.Stream()
    staged = []
    for name, value in feeds.items():
        context.set_input_shape(name, value.shape)
        host = cuda.pagelocked_empty(value.shape, value.dtype)
        device = cuda.mem_alloc(host.nbytes)
        context.set_tensor_address(name, int(device))
        staged.append((value, host, device))
    shape = tuple(context.get_tensor_shape("hidden"))
    host_out = cuda.pagelocked_empty(shape, np.float32)
    dev_out = cuda.mem_alloc(host_out.nbytes)
    context.set_tensor_address("hidden", int(dev_out))

    def run() -> np.ndarray:
        for value, host, device in staged:
            np.copyto(host, value)
            cuda.memcpy_htod_async(device, host, stream)
        context.execute_async_v3(stream.handle)
        cuda.memcpy_dtoh_async(host_out, dev_out, stream)
        stream.synchronize()
        # The pinned array itself, as the tutorials' do_inference returns [out.host for out in
        # outputs] (and PyTorch's FP32 graph below its staging tensor's NumPy view): no copy.
        return host_out
    return run


def torch_runners(module: "torch.nn.Module", feeds: Dict[str, np.ndarray], fp16: bool) -> Dict[str, Callable[[], np.ndarray]]:
    import torch
    module = module.cuda().to(torch.float16 if fp16 else torch.float32)
    torch.backends.cuda.matmul.allow_tf32 = False
    arrays = [feeds[n] for n in INPUTS]

    def eager() -> np.ndarray:
        with torch.no_grad():
            return module(*(torch.from_numpy(a).cuda() for a in arrays)).float().cpu().numpy()

    stage_in = [torch.zeros(a.shape, dtype=torch.int64, pin_memory=True) for a in arrays]
    static_in = [torch.zeros(a.shape, dtype=torch.int64, device="cuda") for a in arrays]
    for s, a in zip(static_in, arrays):
        s.copy_(torch.from_numpy(a))
    with torch.no_grad():
        for _ in range(3):
            module(*static_in)
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_out = module(*static_in)
    stage_out = torch.zeros(static_out.shape, dtype=static_out.dtype, pin_memory=True)

    def replay() -> np.ndarray:
        for stage, static, a in zip(stage_in, static_in, arrays):
            stage.copy_(torch.from_numpy(a))
            static.copy_(stage, non_blocking=True)
        graph.replay()
        stage_out.copy_(static_out, non_blocking=True)
        torch.cuda.synchronize()
        return stage_out.float().numpy()
    return {"torch_eager": eager, "torch_graph": replay}


def steps_by_kind(plan: bytes) -> Dict[str, int]:
    engine = mlprt.Runtime(mlprt.Logger(mlprt.Logger.WARNING)).deserialize_cuda_engine(plan)
    inspector = engine.create_engine_inspector()
    kinds: Dict[str, int] = {}
    for i in range(engine.num_layers):
        kind = json.loads(inspector.get_layer_information(i, mlprt.LayerInformationFormat.JSON))["LayerType"]
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="bert_4x256", help=f"comma-separated: {', '.join(CONFIGS)}")
    parser.add_argument("--batches", default="1,32")
    parser.add_argument("--sequence", type=int, default=128)
    parser.add_argument("--precisions", default="fp16")
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--ort-iterations", type=int, default=3, help="ONNX Runtime (CPU) is slow at these sizes")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--profile", action="store_true",
                        help="also print each layer's device time in the engine's run (IProfiler), by kind")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    workdir = Path(tempfile.mkdtemp())
    rows: List[Dict[str, object]] = []
    for name in args.models.split(","):
        module = bert(name)
        path = workdir / f"{name}.onnx"
        export_onnx(module, sample(2, 16), path)
        for batch in (int(b) for b in args.batches.split(",")):
            feeds = sample(batch, args.sequence)
            shapes = {n: (feeds[n].shape,) * 3 for n in INPUTS}
            session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            reference = session.run(None, feeds)[0]
            ort_ms = median_seconds(lambda: session.run(None, feeds), args.ort_iterations, warmup=1) * 1e3
            for precision in args.precisions.split(","):
                fp16 = precision == "fp16"
                start = time.perf_counter()
                build_log = StepTimes()
                plan = build_engine(str(path), fp16=fp16, profiles=[shapes], logger=build_log)
                build_s = time.perf_counter() - start
                runners = {"mlprt": mlprt_runner(bytes(plan), feeds)}
                if cuda_torch():
                    runners.update(torch_runners(bert(name), feeds, fp16))
                times: Dict[str, object] = {k: round(median_seconds(run, args.iterations) * 1e3, 3)
                                            for k, run in runners.items()}
                times.setdefault("torch_eager", None)
                times.setdefault("torch_graph", None)
                error = float(np.abs(runners["mlprt"]() - reference).max() / np.abs(reference).max())
                row = {"model": f"{name} seq {args.sequence}", "batch": batch, "precision": precision,
                       "build_s": round(build_s, 2), "rel_error_vs_ort": error, **times,
                       "onnxruntime_cpu": round(ort_ms, 3),
                       "mlprt_over_graph": round(times["mlprt"] / times["torch_graph"], 2) if times["torch_graph"]
                       else None, "steps": steps_by_kind(bytes(plan)), "tactics": tactic_tally(bytes(plan)),
                       **compile_summary(build_log.compiles)}
                rows.append(row)
                print(json.dumps(row), flush=True)
                if args.profile:
                    print(layer_profile(bytes(plan), lambda profiler: mlprt_runner(bytes(plan), feeds, profiler),
                                        float(times["mlprt"])), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print("\n" + speed_table(rows))


if __name__ == "__main__":
    main()
