"""bench/benchmark.py (issue 5's benchmark) run as a user would, in a subprocess: exit status,
printed tables, the JSON record (structure, positive times, errors within tolerance, CUDA
columns null where CUDA is missing), the build and load rows, markdown and plot files; plus
its timing helper on its own."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, List, Optional

import pytest

import mlprt

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "benchmark.py"
IMPLEMENTATIONS = ("mlprt_e2e", "mlprt_zero_copy", "mlprt_device", "torch_eager",
                   "torch_graph_pinned", "torch_graph_replay", "ort_cpu")
TORCH_CUDA = ("torch_eager", "torch_graph_pinned", "torch_graph_replay")
TARGETS = (
    "MLP 784-32-10, batch 1, end to end",
    "MLP 784-32-10, batch 64, end to end",
    "MLP 1024-4096-4096-1024, batch 4096, FP32 device-only",
    "same, FP16 device-only",
    "8x256 MLP, batch 4096, FP16 device-only",
    "build of the 784-32-10 engine, cold / with timing cache",
    "engine load + first inference",
    "MLP 784-32-10, batch 1, FP32, the tutorials' memcpy calls, engine (1, max, max)",
    "MLP 1024-4096-4096-1024, batch 4096, FP16 device-only",
    "build of the 784-32-10 engine, every cache empty (mlprt's and the driver's)",
    "ResNet-50 224x224, batch 32, FP16, the tutorials' memcpy calls",
    "YOLOv8n 640x640, batch 1, FP16, the tutorials' memcpy calls",
    "BERT-base, sequence 128, batch 32, FP16, the tutorials' memcpy calls",
)


def run_benchmark(*args: str) -> subprocess.CompletedProcess:
    """Runs bench/benchmark.py with ``args`` in a fresh interpreter."""
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          env=dict(os.environ), timeout=600)


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    """One --quick run on the small model, batches 1 and 3, FP32 and FP16, with the build and
    load rows (one repeat, without the all-caches-empty build: PoCL recompiles for long)."""
    folder = tmp_path_factory.mktemp("benchmark")
    files = {"json": folder / "result.json", "markdown": folder / "result.md",
             "plot": folder / "latency.png"}
    result = run_benchmark("--quick", "--models", "mlp_784_32_10", "--batches", "1,3",
                           "--precisions", "fp32,fp16", "--no-cold-all",
                           "--workdir", str(folder / "work"), "--json", str(files["json"]),
                           "--markdown", str(files["markdown"]), "--plot", str(files["plot"]))
    assert result.returncode == 0, result.stdout + result.stderr
    return {"result": result, "record": json.loads(files["json"].read_text()), **files}


def cuda_available() -> bool:
    """Whether PyTorch sees CUDA here (the GPU machine: yes)."""
    import torch
    return bool(torch.cuda.is_available())


def test_exit_status_and_tables(quick: Dict[str, Any]) -> None:
    """Exit 0, the three tables printed, every row ok, ONNX Runtime labelled FP32."""
    stdout = quick["result"].stdout
    for heading in ("## Results", "## Build and load (fresh subprocesses)", "## Issue 5 and 16 targets"):
        assert heading in stdout
    rows = [line for line in stdout.splitlines() if line.startswith("| mlp_784_32_10 |")]
    assert len(rows) == 4, stdout
    assert all(line.endswith("| ok |") for line in rows), stdout
    assert "FAIL" not in stdout
    assert "ORT CPU FP32" in stdout and "FP16 rows too" in stdout


def test_record_describes_the_run(quick: Dict[str, Any]) -> None:
    """The JSON names devices, versions, date and command, the settings and issue 5's targets."""
    record = quick["record"]
    env = record["environment"]
    for key in ("date", "command", "host", "mlprt_device", "cuda_available", "cuda_device", "cpu",
                "versions", "torch_settings"):
        assert key in env, key
    assert {"torch", "onnxruntime", "mlprt", "numpy", "python"} <= set(env["versions"])
    assert env["mlprt_device"]["name"]
    assert "--quick" in env["command"]
    assert env["cuda_available"] == cuda_available()
    assert record["settings"]["min_iterations"] == 5
    assert record["ok"] is True and record["complete"] is True and record["failures"] == []
    assert [t["target"] for t in record["targets"]] == list(TARGETS)


def test_rows_have_positive_times(quick: Dict[str, Any]) -> None:
    """Every measured figure is positive and ordered (min <= median <= p90)."""
    rows: List[Dict[str, Any]] = quick["record"]["rows"]
    assert [(r["batch"], r["precision"]) for r in rows] == [(1, "fp32"), (3, "fp32"),
                                                            (1, "fp16"), (3, "fp16")]
    measured = IMPLEMENTATIONS if cuda_available() else ("mlprt_e2e", "mlprt_zero_copy", "mlprt_device",
                                                         "ort_cpu")
    for row in rows:
        assert row["model"] == "mlp_784_32_10"
        assert row["flops"] == 2 * row["batch"] * (784 * 32 + 32 * 10)
        assert row["build"]["seconds"] > 0 and row["build"]["engine_bytes"] > 0
        assert row["build"]["input_dtype"] == "float32"   # FP16 engines take FP32 too
        for key in measured:
            m = row["measurements"][key]
            assert m is not None, key
            assert 0 < m["min_us"] <= m["median_us"] <= m["p90_us"], (key, m)
            assert m["iterations"] >= 3, (key, m)
            assert m["iterations"] >= 5 or m["capped"], (key, m)
        assert row["throughput"]["mlprt_e2e"]["samples_per_s"] > 0
        assert row["throughput"]["mlprt_device"]["tflops"] > 0
        assert row["ratios"]["e2e_over_ort"] > 0


def test_errors_within_tolerance(quick: Dict[str, Any]) -> None:
    """mlprt matches PyTorch and ONNX Runtime within 1e-5 (FP32) and 1e-2 (FP16)."""
    for row in quick["record"]["rows"]:
        tolerance = 1e-5 if row["precision"] == "fp32" else 1e-2
        assert row["tolerance"] == tolerance
        assert set(row["errors"]) >= {"vs_torch", "vs_ort", "zero_copy_vs_e2e"}
        assert row["errors"]["zero_copy_vs_e2e"] == 0.0   # the same kernels, with or without copies
        for name, error in row["errors"].items():
            assert 0 <= error <= tolerance, (row["precision"], name, error)
        assert row["allclose"] == {"vs_torch": True, "vs_ort": True}
        assert row["ok"] is True
        assert row["torch_reference"] == ("cuda" if cuda_available() else "cpu")


def test_cuda_columns_null_without_cuda(quick: Dict[str, Any]) -> None:
    """Without CUDA the PyTorch CUDA figures are null, never invented; with CUDA, measured."""
    record = quick["record"]
    rows = record["rows"]
    if cuda_available():
        for row in rows:
            assert all(row["measurements"][k]["median_us"] > 0 for k in TORCH_CUDA)
            assert all(value > 0 for value in row["ratios"].values())
            assert row["errors"]["graph_vs_eager"] <= row["tolerance"]
        return
    assert record["environment"]["cuda_device"] is None
    for row in rows:
        assert all(row["measurements"][k] is None for k in TORCH_CUDA)
        for key in ("e2e_over_eager", "e2e_over_graph", "zero_copy_over_eager", "zero_copy_over_graph",
                    "device_over_replay"):
            assert row["ratios"][key] is None
        assert row["throughput"]["torch_graph_replay"] == {"samples_per_s": None, "tflops": None}
    status = {t["target"]: t["status"] for t in record["targets"]}
    assert status[TARGETS[0]] == "n/a (no CUDA)"          # batch 1 measured, PyTorch could not be
    assert status[TARGETS[1]] == "not measured"           # batch 64 was not asked for
    assert status[TARGETS[7]] == "not measured"           # a static engine: issue 16's needs (1, max, max)
    assert status[TARGETS[9]] == "not measured"           # --quick leaves the every-cache-empty build out
    assert "n/a (no CUDA)" in quick["result"].stdout


def test_build_and_load_rows(quick: Dict[str, Any]) -> None:
    """The cold and warm builds and the load row ran in fresh processes, with sane figures."""
    build = quick["record"]["build_rows"]
    assert (build["model"], build["batch"], build["precision"]) == ("mlp_784_32_10", 64, "fp32")
    assert build["cold_build_s"] > 0 and build["warm_build_s"] > 0
    assert 0 < build["load_first_inference_s"] < 60
    assert build["cold_all_build_s"] is None and build["samples"]["cold_all"] == []
    assert build["warm_timing_cache_hits"] > 0 and build["warm_timing_cache_misses"] == 0
    cold, warm, load = (build["samples"][k][0] for k in ("cold", "warm", "load"))
    assert not cold["timing_cache_read"] and warm["timing_cache_read"]
    assert cold["timing_cache_misses"] > 0
    # The driver's compiles, from the core's verbose log: kernels, options and time of each.
    assert cold["programs_compiled"] == len(cold["compiles"]) > 0
    assert cold["compile_s_sum"] == pytest.approx(sum(c["ms"] for c in cold["compiles"]) / 1e3)
    assert all(c["ms"] > 0 and c["kernels"] for c in cold["compiles"])
    assert any("(timed" in choice for choice in cold["tactic_choices"])
    assert [c["ms"] for c in cold["compiles"]] == sorted((c["ms"] for c in cold["compiles"]), reverse=True)
    # The cold build filled mlprt's program cache, where the device's binaries are kept (not PoCL's).
    assert (cold["cache_files"]["MLPRT_CACHE_DIR"] > 0) == mlprt._core.program_binaries_kept()
    assert load["read_s"] + load["load_and_setup_s"] + load["first_inference_s"] == \
        pytest.approx(load["seconds"], rel=1e-6, abs=1e-9)
    for sample in (cold, warm, load):
        assert sample["process_wall_s"] > sample["seconds"] > 0
    targets = {t["target"]: t for t in quick["record"]["targets"]}
    assert targets[TARGETS[5]]["status"] in ("met", "MISSED")
    assert targets[TARGETS[5]]["values"] == {"cold_s": build["cold_build_s"],
                                             "warm_s": build["warm_build_s"]}
    assert targets[TARGETS[6]]["status"] in ("met", "MISSED")


def test_markdown_and_plot(quick: Dict[str, Any]) -> None:
    """--markdown writes a RESULTS.md block; --plot a PNG (or a note without matplotlib)."""
    text = quick["markdown"].read_text()
    assert text.startswith("### ")
    assert "- mlprt device: " in text and "- command: " in text and "- date: " in text
    assert "#### Issue 5 and 16 targets" in text and "| mlp_784_32_10 | 1 | fp32 |" in text
    if importlib.util.find_spec("matplotlib") is not None:
        assert quick["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert quick["record"]["plot_note"] is None
    else:
        assert "matplotlib" in quick["record"]["plot_note"]


def test_no_build_rows_and_skip_ort(tmp_path: Path) -> None:
    """--no-build-rows leaves the subprocess rows out; --skip-ort-above leaves ONNX Runtime
    untimed above that batch while its output is still compared; --build-timeout builds in a
    subprocess."""
    out = tmp_path / "result.json"
    result = run_benchmark("--quick", "--models", "mlp_784_32_10", "--batches", "2",
                           "--precisions", "fp32", "--no-build-rows", "--skip-ort-above", "1",
                           "--build-timeout", "300", "--json", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads(out.read_text())
    assert record["build_rows"] is None
    (row,) = record["rows"]
    assert row["build"]["in_subprocess"] is True and row["build"]["seconds"] > 0
    assert row["measurements"]["ort_cpu"] is None and row["ratios"]["e2e_over_ort"] is None
    assert 0 <= row["errors"]["vs_ort"] <= 1e-5
    assert any("--skip-ort-above" in note for note in row["notes"])
    status = {t["target"]: t["status"] for t in record["targets"]}
    assert status[TARGETS[5]] == status[TARGETS[6]] == "not measured"


def test_profile_max_builds_the_tutorial_profile(tmp_path: Path) -> None:
    """--profile-max P builds each row's engine with the profile (1, P, P), in this process and
    in a build subprocess alike, and runs it at the row's batch; a P below a batch is refused."""
    for extra in ((), ("--build-timeout", "300")):
        out = tmp_path / "result.json"
        result = run_benchmark("--quick", "--models", "mlp_784_32_10", "--batches", "1,3",
                               "--precisions", "fp32", "--no-build-rows", "--profile-max", "17",
                               "--json", str(out), *extra)
        assert result.returncode == 0, result.stdout + result.stderr
        rows = json.loads(out.read_text())["rows"]
        assert [row["batch"] for row in rows] == [1, 3]
        for row in rows:
            assert row["build"]["profile"] == [[1, 784], [17, 784], [17, 784]]
            assert row["ok"] is True and 0 <= row["errors"]["vs_ort"] <= 1e-5
        memcpy = {t["target"]: t for t in json.loads(out.read_text())["targets"]}[TARGETS[7]]
        assert memcpy["issue"] == 16 and memcpy["status"] == "n/a (no CUDA)"
        assert memcpy["values"]["mlprt_e2e_us"] == rows[0]["measurements"]["mlprt_e2e"]["median_us"]
    result = run_benchmark("--models", "mlp_784_32_10", "--batches", "1,64", "--profile-max", "8")
    assert result.returncode == 2 and "--profile-max 8 is below batch 64" in result.stderr


def test_build_timeout_fails_the_row_and_the_run_goes_on(tmp_path: Path) -> None:
    """A build stopped by --build-timeout fails its row (exit 1); the other rows still run."""
    out = tmp_path / "result.json"
    result = run_benchmark("--quick", "--models", "mlp_784_32_10", "--batches", "1,2",
                           "--precisions", "fp32", "--no-build-rows", "--build-timeout", "0.01",
                           "--json", str(out))
    assert result.returncode == 1
    assert "did not finish within 0.01 s" in result.stderr
    record = json.loads(out.read_text())
    assert record["complete"] is True and record["ok"] is False and len(record["failures"]) == 2
    for row in record["rows"]:          # both rows were tried, neither has invented figures
        assert row["ok"] is False and row["errors"] == {}
        assert all(m is None for m in row["measurements"].values())
        assert row["notes"] and "not measured" in row["notes"][0]
    assert {t["target"]: t["status"] for t in record["targets"]}[TARGETS[0]] == "MISSED"
    assert result.stdout.count("| FAIL |") == 2


def test_bad_arguments_are_refused() -> None:
    """Unknown models and precisions are refused by argparse, naming the choices."""
    result = run_benchmark("--models", "resnet50")
    assert result.returncode == 2
    assert "resnet50" in result.stderr and "mlp_784_32_10" in result.stderr
    result = run_benchmark("--precisions", "int8")
    assert result.returncode == 2 and "int8" in result.stderr


@pytest.fixture(scope="module")
def benchmark_module() -> ModuleType:
    """bench/benchmark.py imported as a module."""
    spec = importlib.util.spec_from_file_location("mlprt_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_measure_is_adaptive(benchmark_module: ModuleType) -> None:
    """measure() warms up, then runs to min_iterations, or stops at the time cap."""
    settings = benchmark_module.TimingSettings(
        min_iterations=7, min_seconds=0.0, max_seconds=10.0, ort_max_seconds=10.0,
        warmup_iterations=2, warmup_seconds=0.0)
    calls: List[int] = []

    def sample() -> float:
        """One fake run, 1 ms longer than the one before."""
        calls.append(1)
        return 1e-3 * len(calls)

    m = benchmark_module.measure(sample, settings)
    assert m.iterations == 7 and len(calls) == 9 and not m.capped   # 2 warm-up runs first
    assert m.median_us == pytest.approx(6000.0) and m.min_us == pytest.approx(3000.0)
    # A time cap stops a measurement short of min_iterations, but not before 3 runs.
    capped = benchmark_module.measure(lambda: 0.0, benchmark_module.TimingSettings(
        min_iterations=10**9, min_seconds=0.0, max_seconds=0.05, ort_max_seconds=0.05,
        warmup_iterations=1, warmup_seconds=0.0))
    assert capped.capped and capped.iterations >= 3


def test_relative_error(benchmark_module: ModuleType) -> None:
    """max|a - b| / max|b|, infinite for mismatched shapes; the FLOP count of a model."""
    import numpy as np

    expected = np.array([[2.0, -4.0]], np.float32)
    assert benchmark_module.relative_error(expected, expected) == 0.0
    assert benchmark_module.relative_error(expected + 0.04, expected) == pytest.approx(0.01)
    assert benchmark_module.relative_error(expected[:, :1], expected) == float("inf")
    assert benchmark_module.MODELS["mlp_deep"].flops(2) == 2 * 2 * 8 * 256 * 256


def test_network_rows_run_their_scripts_and_name_the_row_that_fails(tmp_path: Path) -> None:
    """--cnn and --transformers: each row measured by bench/cnn_bench.py or
    bench/transformer_bench.py in a subprocess, its error against ONNX Runtime checked, a table
    and the JSON record written; a row whose script fails is named, the others still run."""
    record_path = tmp_path / "result.json"
    result = run_benchmark("--quick", "--models", "mlp_784_32_10", "--batches", "1", "--precisions", "fp32",
                           "--no-build-rows", "--cnn", "super_resolution:16x16:1:fp32,no_such_net:16x16:1:fp32",
                           "--transformers", "bert_tiny:2:fp32:8", "--workdir", str(tmp_path / "work"),
                           "--json", str(record_path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL: cnn no_such_net:16x16:1:fp32: exit status" in result.stderr
    record = json.loads(record_path.read_text())
    rows = {(r["model"], r["batch"], r["precision"]): r for r in record["network_rows"]}
    assert set(rows) == {("super_resolution 16x16", 1, "fp32"), ("bert_tiny seq 8", 2, "fp32")}
    for row in rows.values():
        assert row["ok"] and row["rel_error_vs_ort"] <= 1e-4 and row["mlprt"] > 0
    assert "## Networks" in result.stdout and "| bert_tiny seq 8 | 2 | fp32 |" in result.stdout
    # The CNN row carries its build's driver compiles (the core's verbose log, bench/timing.py).
    cnn = rows[("super_resolution 16x16", 1, "fp32")]
    assert cnn["programs_compiled"] > 0 and cnn["compile_s_sum"] > 0
    assert 0 < len(cnn["slowest_compiles"]) <= 3 and all(seconds > 0 for _, seconds in cnn["slowest_compiles"])
    assert sum(count for count, _ in cnn["compiles_by_kernel"].values()) == cnn["programs_compiled"]
    assert len(cnn["compiles"]) == cnn["programs_compiled"]
    # The device time alone beside the wall time (no PyTorch CUDA here: its replay stays empty). Not
    # compared with the wall time: two medians taken at different moments on a loaded CPU device
    # (the device time came out at 1.6x the call's under pytest -n 2).
    assert 0 < cnn["mlprt_device"] < float("inf") and cnn["torch_graph_replay"] is None
    assert all(kernel in cnn["compiles_by_kernel"] and seconds >= 0 for kernel, _, seconds in cnn["compiles"])
    assert f"| super_resolution 16x16 | 1 | fp32 | {cnn['build_s']:.2f} | {cnn['programs_compiled']} (" in result.stdout
    assert f"| {cnn['mlprt_device']:.3f} / n/a |" in result.stdout
    second_level = [t for t in record["targets"] if t["target"].startswith(("ResNet-50", "YOLOv8n", "BERT-base"))]
    assert [t["status"] for t in second_level] == ["not measured"] * 3


def test_network_specs_are_checked(tmp_path: Path) -> None:
    for option, spec in (("--cnn", "resnet50:224:32:fp16"), ("--cnn", "resnet50:224x224:32:int8"),
                         ("--transformers", "bert_base:0:fp16"), ("--transformers", "bert_base:32")):
        result = run_benchmark("--quick", option, spec)
        assert result.returncode == 2 and f"'{spec}' is not" in result.stderr, (spec, result.stderr)


def test_second_level_targets_compare_with_the_graph(benchmark_module: ModuleType) -> None:
    """A network row against PyTorch's graph: met at or below 1.0x, missed above, n/a without
    PyTorch's figure on a machine without CUDA."""
    def row(model: str, batch: int, ours: float, graph: Optional[float]) -> Dict[str, Any]:
        return {"model": model, "batch": batch, "precision": "fp16", "mlprt": ours, "torch_graph": graph}

    network_rows = [row("resnet50 224x224", 32, 5.0, 4.0), row("yolov8n 640x640", 1, 0.9, 1.0)]
    targets = {t["target"].split(",")[0]: t
               for t in benchmark_module.evaluate_targets([], None, True, network_rows)}
    assert targets["ResNet-50 224x224"]["status"] == "MISSED"
    assert targets["ResNet-50 224x224"]["values"]["over_graph"] == pytest.approx(1.25)
    assert targets["YOLOv8n 640x640"]["status"] == "met"
    assert targets["BERT-base"]["status"] == "not measured"
    without_cuda = {t["target"].split(",")[0]: t for t in benchmark_module.evaluate_targets(
        [], None, False, [row("bert_base seq 128", 32, 7.0, None)])}
    assert without_cuda["BERT-base"]["status"] == "n/a (no CUDA)"


def test_network_commands_read_exported_models_from_an_absolute_folder(
        benchmark_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--cnn-from DIR given relative to the caller still names the folder in the row's command,
    which runs in another working directory (the GPU call's YOLO row failed on this)."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "yolov8n_640x640_b1.onnx").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    args = benchmark_module.parse_args(["--cnn", "yolov8n:640x640:1:fp16,resnet50:224x224:32:fp16",
                                        "--cnn-from", "models"])
    commands = benchmark_module.network_commands(args, tmp_path / "rows")
    yolo, resnet = commands[0][1], commands[1][1]
    assert yolo[yolo.index("--from") + 1] == str(tmp_path / "models")
    assert "--from" not in resnet  # no exported file for it: cnn_bench.py exports it itself
