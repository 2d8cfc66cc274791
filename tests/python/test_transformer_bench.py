"""bench/transformer_bench.py on a tiny BERT: it exports, builds, runs the tutorials' memcpy call
and writes its row (the PyTorch columns stay empty without CUDA), and its engine matches ONNX
Runtime; the speed table itself is measured on the GPU machine (bench/RESULTS.md)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_transformer_bench_writes_a_row_that_matches_onnxruntime(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(REPO / "bench" / "transformer_bench.py"), "--models", "bert_tiny",
                             "--batches", "2", "--sequence", "8", "--precisions", "fp32", "--iterations", "2",
                             "--ort-iterations", "1", "--profile", "--json", str(tmp_path / "rows.json")],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    (row,) = json.loads((tmp_path / "rows.json").read_text())
    assert row["model"] == "bert_tiny seq 8" and row["batch"] == 2 and row["precision"] == "fp32"
    assert row["rel_error_vs_ort"] <= 1e-4 and row["mlprt"] > 0 and row["onnxruntime_cpu"] > 0
    assert row["steps"]["Attention"] == 2  # one fused attention per layer
    # The build as bench/build_log.py keeps it: the tactics of the layers that have a choice (the
    # products and attention among them), and the driver's compiles by kernel adding up to their count.
    assert 2 + 4 * 2 <= sum(row["tactics"].values()) <= sum(row["steps"].values())
    by_kernel = row["compiles_by_kernel"]
    assert sum(count for count, _ in by_kernel.values()) == row["programs_compiled"]
    assert abs(sum(seconds for _, seconds in by_kernel.values()) - row["compile_s_sum"]) < 0.01
    assert "profile: " in result.stdout and "| bert_tiny seq 8 | 2 | fp32 |" in result.stdout


def test_epilogue_probe_prints_a_choice_per_activation(tmp_path: Path) -> None:
    """bench/epilogue_probe.py at a tiny size: the builder's choice and timings for the product
    without an activation and with each activation it tries, weights K x N then N x K (a choice per
    case); a layout it does not know is refused by name."""
    result = subprocess.run([sys.executable, str(REPO / "bench" / "epilogue_probe.py"), "--m", "33", "--k", "16",
                             "--n", "24", "--layouts", "kxn,nxk"], capture_output=True, text=True, timeout=600,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    activations = ["None", "ActivationType.GELU_ERF", "ActivationType.GELU_TANH", "ActivationType.RELU"]
    assert [line for line in lines if line.startswith("== ")] == [
        f"== weights {layout}, {activation}" for layout in ("K x N", "N x K") for activation in activations]
    # Each case's choice: a tile timed against the others, or (at this tiny size, where timing
    # decides) the fused MLP kernel chosen before tactic choice, faster than the steps' launches.
    choices = [line for line in lines if ("chose " in line or " before tactic choice" in line) and "(timed " in line]
    assert len(choices) == 8, result.stdout
    refused = subprocess.run([sys.executable, str(REPO / "bench" / "epilogue_probe.py"), "--layouts", "kn"],
                             capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert refused.returncode != 0 and "--layouts: 'kn' is neither kxn nor nxk" in refused.stderr


def test_launch_count_counts_the_per_run_launches_of_a_tiny_bert(tmp_path: Path) -> None:
    """bench/launch_count.py on the 2-layer BERT at batch 1: its FP16 engine launches 16 kernels per
    run (the word gather and the embeddings' layer norm, 7 per layer; the attention reads the INT64
    attention_mask itself, so its cast, reshapes, gather, logic, expand and select need none, nor
    does a cast after the last norm)."""
    result = subprocess.run([sys.executable, str(REPO / "bench" / "launch_count.py"), "bert_tiny", "1", "8"],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "bert_tiny b1 s8: " in result.stdout and ", 16 launches per run, median " in result.stdout, result.stdout
