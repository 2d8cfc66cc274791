"""``mlprt exec`` (trtexec) run as a user would: in a subprocess, output and files checked."""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict

import numpy as np
import onnxruntime as ort
import pytest

from mlprt.tools.exec_tool import ProgressLogger, Statistics, _averaged_runs, parse_memory_size
from zoo import zoo_exports  # noqa: F401  (fixture)

import mlprt
from mlprt._core import LayerInformationFormat

FAST = ("--iterations", "4", "--warmUp", "0", "--duration", "0")
PROFILE = ("--minShapes", "input:1x784", "--optShapes", "input:4x784", "--maxShapes", "input:8x784")
STAT_KEYS = ("min", "max", "mean", "median", "percentile(90%)", "percentile(95%)", "percentile(99%)")


def run_exec(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlprt", "exec", *args], capture_output=True,
                          text=True, env=dict(os.environ), timeout=600)


def assert_clean_failure(result: subprocess.CompletedProcess, *culprits: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("mlprt exec: ") or "\nmlprt exec: " in result.stderr, result.stderr
    for culprit in culprits:
        assert culprit in result.stderr, result.stderr


def summary_stats(stdout: str, label: str) -> Dict[str, float]:
    """The numbers of one summary line, e.g. 'Latency: min = 1.2 ms, ...', by statistic."""
    line = next(l for l in stdout.splitlines() if l.startswith(label + ": "))
    stats = {key: float(value) for key, value in re.findall(r"([a-z]+(?:\(\d+%\))?) = ([0-9.eE+-]+) ms", line)}
    assert tuple(stats) == STAT_KEYS, line
    assert 0 <= stats["min"] <= stats["median"] <= stats["max"], line
    assert stats["min"] <= stats["mean"] <= stats["max"], line
    assert stats["percentile(90%)"] <= stats["percentile(95%)"] <= stats["percentile(99%)"] <= stats["max"], line
    return stats


@pytest.fixture(scope="module")
def mlp_onnx(zoo_exports) -> Path:  # noqa: F811
    return zoo_exports.get("simple_mlp", "legacy", True)


@pytest.fixture(scope="module")
def saved_engine(mlp_onnx: Path, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, object]:
    """One build with a profile, saved, timed at batch 2 with --exportTimes."""
    directory = tmp_path_factory.mktemp("exec")
    engine, times = directory / "mlp.engine", directory / "times.json"
    result = run_exec("--onnx", str(mlp_onnx), *PROFILE, "--shapes", "input:2x784",
                      "--saveEngine", str(engine), "--exportTimes", str(times), *FAST)
    assert result.returncode == 0, result.stderr
    return {"engine": engine, "times": times, "result": result}


def test_build_save_and_summary(saved_engine: Dict[str, object]) -> None:
    result = saved_engine["result"]
    out = result.stdout
    assert Path(saved_engine["engine"]).read_bytes()[:5] == b"MLPRT"
    assert "Engine saved to" in out and "Inference shapes: input:2x784" in out
    assert "=== Performance summary ===" in out
    qps = float(re.search(r"^Throughput: ([0-9.]+) qps$", out, re.M).group(1))
    assert qps > 0
    latency = summary_stats(out, "Latency")
    parts = {label: summary_stats(out, label) for label in ("H2D Latency", "GPU Compute Time", "D2H Latency")}
    summary_stats(out, "Enqueue Time")
    # Each part is a piece of the latency, which spans all three on the stream.
    for stats in parts.values():
        assert stats["min"] <= latency["max"] + 1e-6
    assert int(re.search(r"^Iterations: (\d+)$", out, re.M).group(1)) >= 4
    assert float(re.search(r"^Total Host Walltime: ([0-9.]+) s$", out, re.M).group(1)) > 0
    # Not a terminal: no progress bar, no carriage returns.
    assert "timing tactics" not in out and "\r" not in out and "\033" not in out


def test_export_times_json(saved_engine: Dict[str, object]) -> None:
    data = json.loads(Path(saved_engine["times"]).read_text())
    assert data["iterations"] == len(data["times"]) >= 4
    assert data["shapes"] == {"input": [2, 784]} and data["data_transfers"] is True
    assert data["throughput_qps"] > 0
    for record in data["times"]:
        assert set(record) == {"startMs", "latencyMs", "enqueueMs", "computeMs", "h2dMs", "d2hMs"}
        assert record["latencyMs"] >= record["computeMs"] >= 0
        assert record["latencyMs"] + 1e-6 >= record["h2dMs"] + record["computeMs"] + record["d2hMs"] - 1e-3
    assert set(data["summary"]) == {"Latency", "Enqueue Time", "H2D Latency", "GPU Compute Time", "D2H Latency"}
    latencies = sorted(r["latencyMs"] for r in data["times"])
    assert data["summary"]["Latency"]["min"] == pytest.approx(latencies[0])
    assert data["summary"]["Latency"]["max"] == pytest.approx(latencies[-1])


def test_load_engine_at_max_shape(saved_engine: Dict[str, object]) -> None:
    result = run_exec("--loadEngine", str(saved_engine["engine"]), "--shapes", "input:8x784", *FAST)
    assert result.returncode == 0, result.stderr
    assert "Engine loaded from" in result.stdout and "Inference shapes: input:8x784" in result.stdout
    summary_stats(result.stdout, "GPU Compute Time")


def test_default_shapes_are_the_profile_opt(saved_engine: Dict[str, object]) -> None:
    result = run_exec("--loadEngine", str(saved_engine["engine"]), "--iterations", "1", "--warmUp", "0",
                      "--duration", "0", "--device", mlprt.default_device().name)
    assert result.returncode == 0, result.stderr
    assert "Inference shapes: input:4x784" in result.stdout
    assert f"Device: {mlprt.default_device().name}" in result.stdout


def test_no_data_transfers(saved_engine: Dict[str, object], tmp_path: Path) -> None:
    times = tmp_path / "t.json"
    result = run_exec("--loadEngine", str(saved_engine["engine"]), "--noDataTransfers",
                      "--exportTimes", str(times), *FAST)
    assert result.returncode == 0, result.stderr
    assert "H2D Latency" not in result.stdout and "D2H Latency" not in result.stdout
    summary_stats(result.stdout, "GPU Compute Time")
    data = json.loads(times.read_text())
    assert data["data_transfers"] is False
    assert all("h2dMs" not in r and "d2hMs" not in r for r in data["times"])


def test_dump_and_export_profile(saved_engine: Dict[str, object], tmp_path: Path) -> None:
    profile = tmp_path / "profile.json"
    result = run_exec("--loadEngine", str(saved_engine["engine"]), "--shapes", "input:3x784", "--dumpProfile",
                      "--separateProfileRun", "--exportProfile", str(profile), *FAST)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # The table follows the performance summary (the profiled run is a run of its own).
    assert out.index("=== Performance summary ===") < out.index("=== Profile (4 iterations) ===")
    table = out[out.index("=== Profile"):].splitlines()
    assert table[1].split() == ["Time(ms)", "Avg.(ms)", "Median(ms)", "Time(%)", "Layer"]
    engine = mlprt.Runtime(mlprt.Logger()).deserialize_cuda_engine(Path(saved_engine["engine"]).read_bytes())
    inspector = engine.create_engine_inspector()
    names = [json.loads(inspector.get_layer_information(i, LayerInformationFormat.JSON))["Name"]
             for i in range(engine.num_layers)]
    rows = table[2:2 + len(names)]
    assert [row.split(None, 4)[4] for row in rows] == names
    assert table[2 + len(names)].split()[-1] == "Total"
    data = json.loads(profile.read_text())
    assert data[0] == {"count": 4}
    assert [row["name"] for row in data[1:]] == names
    assert sum(row["percentage"] for row in data[1:]) == pytest.approx(100.0)
    for row in data[1:]:
        assert row["timeMs"] == pytest.approx(4 * row["averageMs"]) and row["medianMs"] >= 0


def test_shape_outside_profile_fails_naming_the_input(saved_engine: Dict[str, object]) -> None:
    result = run_exec("--loadEngine", str(saved_engine["engine"]), "--shapes", "input:9x784", *FAST)
    assert_clean_failure(result, "'input'", "outside")


def test_unknown_input_in_shapes_fails(saved_engine: Dict[str, object]) -> None:
    result = run_exec("--loadEngine", str(saved_engine["engine"]), "--shapes", "image:2x784", *FAST)
    assert_clean_failure(result, "image")


def test_bad_shape_syntax_fails_naming_it(mlp_onnx: Path) -> None:
    result = run_exec("--onnx", str(mlp_onnx), "--minShapes", "input=1x784", "--skipInference")
    assert_clean_failure(result, "input=1x784")
    result = run_exec("--onnx", str(mlp_onnx), "--maxShapes", "input:8xq", "--skipInference")
    assert_clean_failure(result, "input:8xq")


def test_missing_files_fail_naming_them(tmp_path: Path) -> None:
    assert_clean_failure(run_exec("--onnx", str(tmp_path / "nope.onnx")), "nope.onnx")
    assert_clean_failure(run_exec("--loadEngine", str(tmp_path / "gone.engine")), "gone.engine")
    assert_clean_failure(run_exec(), "--onnx")


def test_corrupt_engine_fails(tmp_path: Path) -> None:
    path = tmp_path / "bad.engine"
    path.write_bytes(b"not an engine at all")
    assert_clean_failure(run_exec("--loadEngine", str(path), *FAST), "engine")


def test_build_failure_fails_cleanly(mlp_onnx: Path) -> None:
    # A dynamic model without a profile cannot be built; the builder names the input.
    assert_clean_failure(run_exec("--onnx", str(mlp_onnx), "--skipInference"), "input")


def test_fp16_skip_inference_and_workspace(mlp_onnx: Path, tmp_path: Path) -> None:
    engine = tmp_path / "fp16.engine"
    result = run_exec("--onnx", str(mlp_onnx), *PROFILE, "--fp16", "--memPoolSize=workspace:64MiB",
                      "--saveEngine", str(engine), "--skipInference")
    assert result.returncode == 0, result.stderr
    assert "FP16" in result.stdout and "Inference skipped" in result.stdout
    assert "Performance summary" not in result.stdout
    loaded = mlprt.Runtime(mlprt.Logger()).deserialize_cuda_engine(engine.read_bytes())
    info = json.loads(loaded.create_engine_inspector().get_engine_information(LayerInformationFormat.JSON))
    assert info["FP16"] is True
    result = run_exec("--loadEngine", str(engine), "--shapes", "input:3x784", *FAST)
    assert result.returncode == 0, result.stderr
    summary_stats(result.stdout, "Latency")


def test_bad_memory_pool_fails(mlp_onnx: Path) -> None:
    result = run_exec("--onnx", str(mlp_onnx), *PROFILE, "--memPoolSize=workspace:12parsecs", "--skipInference")
    assert_clean_failure(result, "12parsecs")
    result = run_exec("--onnx", str(mlp_onnx), *PROFILE, "--memPoolSize=dlaSRAM:1MiB", "--skipInference")
    assert_clean_failure(result, "dlaSRAM")


def test_timing_cache_file_is_reused(mlp_onnx: Path, tmp_path: Path) -> None:
    cache = tmp_path / "timing.cache"
    first = run_exec("--onnx", str(mlp_onnx), *PROFILE, "--timingCacheFile", str(cache), "--skipInference")
    assert first.returncode == 0, first.stderr
    hits, misses = map(int, re.search(r"Timing cache: (\d+) hits, (\d+) misses", first.stdout).groups())
    assert hits == 0 and misses > 0
    assert cache.stat().st_size > 0
    second = run_exec("--onnx", str(mlp_onnx), *PROFILE, "--timingCacheFile", str(cache), "--skipInference",
                      "--verbose")
    assert second.returncode == 0, second.stderr
    hits, misses = map(int, re.search(r"Timing cache: (\d+) hits, (\d+) misses", second.stdout).groups())
    assert hits > 0 and misses == 0
    assert "from the timing cache" in second.stderr  # --verbose shows the builder's messages
    assert "timing tactics" not in second.stdout


def test_builder_optimization_level(mlp_onnx: Path, tmp_path: Path) -> None:
    # trtexec's flag: below 3 the profile's tactics are timed at its opt shapes only, so a fresh
    # timing cache records fewer timings than at the default level; the engine runs either way.
    misses = {}
    for level in ("1", "3"):
        cache = tmp_path / f"level{level}.cache"
        engine = tmp_path / f"level{level}.engine"
        result = run_exec("--onnx", str(mlp_onnx), *PROFILE, "--builderOptimizationLevel", level,
                          "--timingCacheFile", str(cache), "--saveEngine", str(engine), "--skipInference")
        assert result.returncode == 0, result.stderr
        misses[level] = int(re.search(r"Timing cache: \d+ hits, (\d+) misses", result.stdout).group(1))
        result = run_exec("--loadEngine", str(engine), "--shapes", "input:3x784", *FAST)
        assert result.returncode == 0, result.stderr
    assert 0 < misses["1"] < misses["3"], misses
    result = run_exec("--onnx", str(mlp_onnx), *PROFILE, "--builderOptimizationLevel", "-1", "--skipInference")
    assert_clean_failure(result, "builder_optimization_level is -1")


def test_trtexec_inspector_and_config_flags(mlp_onnx: Path, saved_engine: Dict[str, object], tmp_path: Path) -> None:
    # As tutorials call trtexec: --profilingVerbosity=detailed --dumpLayerInfo --exportLayerInfo, with
    # --noBuilderCache and --maxAuxStreams; the layers printed and exported are the inspector's.
    exported = tmp_path / "layers.json"
    result = run_exec("--onnx", str(mlp_onnx), *PROFILE, "--profilingVerbosity=detailed", "--noBuilderCache",
                      "--maxAuxStreams", "0", "--dumpLayerInfo", "--exportLayerInfo", str(exported), "--skipInference")
    assert result.returncode == 0, result.stderr
    shown = result.stdout.split("Layer Information:\n", 1)[1].split("Layer information exported", 1)[0]
    lines = [line for line in shown.splitlines() if line.strip()]
    # The same build's JSON: its layers (builds differ: one may fuse the MLP into one step, one not).
    layers = json.loads(exported.read_text())["Layers"]
    assert lines[0].startswith("mlprt engine ") and len(lines) == 2 + len(layers) >= 3, result.stdout  # a header, a line each
    assert all(layer["Name"] in shown for layer in layers), (layers, shown)
    assert "Inference skipped" in result.stdout
    # A saved engine too, before its timing.
    result = run_exec("--loadEngine", str(saved_engine["engine"]), "--dumpLayerInfo", "--shapes", "input:3x784", *FAST)
    assert result.returncode == 0 and "Layer Information:" in result.stdout, result.stderr
    assert_clean_failure(run_exec("--onnx", str(mlp_onnx), *PROFILE, "--profilingVerbosity", "none", "--skipInference"),
                         "profiling_verbosity NONE")
    assert_clean_failure(run_exec("--onnx", str(mlp_onnx), *PROFILE, "--noBuilderCache", "--timingCacheFile",
                                  str(tmp_path / "t.cache"), "--skipInference"), "--noBuilderCache", "--timingCacheFile")


def test_memory_sizes() -> None:
    assert parse_memory_size("1024MiB") == 1 << 30
    assert parse_memory_size("2GiB") == 2 << 30
    assert parse_memory_size("512KiB") == 512 << 10
    assert parse_memory_size("4096B") == 4096
    assert parse_memory_size("16") == 16 << 20
    assert parse_memory_size("0.5GiB") == 1 << 29
    with pytest.raises(Exception, match="MiB"):
        parse_memory_size("lots")


class _Terminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_bar_only_on_a_terminal() -> None:
    tty, pipe = _Terminal(True), _Terminal(False)
    for terminal in (tty, pipe):
        logger = ProgressLogger(mlprt.Logger.ERROR, terminal)
        logger.log(mlprt.Logger.INFO, "timing tactics: step 1 of 4 'fc1 + relu'")
        logger.log(mlprt.Logger.INFO, "timing tactics: step 4 of 4 'fc2'")
        logger.finish()
    assert pipe.getvalue() == ""
    text = tty.getvalue()
    assert "layer 1 of 4: fc1 + relu" in text and "layer 4 of 4: fc2" in text
    assert "[" + "#" * 30 + "]" in text and text.endswith("\r\033[K")


def test_statistics() -> None:
    stats = Statistics([4.0, 1.0, 3.0, 2.0])
    s = stats.summary()
    assert (s["min"], s["max"], s["mean"], s["median"]) == (1.0, 4.0, 2.5, 2.5)
    assert s["p90"] <= s["p95"] <= s["p99"] <= 4.0
    assert stats.line().startswith("min = 1.00000 ms, max = 4.00000 ms")


def test_trtexec_tutorial_flags_inputs_and_outputs(mlp_onnx: Path, saved_engine: Dict[str, object],
                                                   tmp_path: Path) -> None:
    # TensorRT 7/8 tutorials' trtexec line: --explicitBatch --workspace=N --best (or --int8), --noTF32.
    engine = tmp_path / "best.engine"
    result = run_exec("--onnx", str(mlp_onnx), *PROFILE, "--explicitBatch", "--workspace=64", "--best", "--noTF32",
                      "--saveEngine", str(engine), "--skipInference")
    assert result.returncode == 0, result.stderr
    assert "FP16" in result.stdout and "Inference skipped" in result.stdout
    assert "INT8" in result.stderr and "no kernels" in result.stderr  # the builder's warning, not an error
    loaded = mlprt.Runtime(mlprt.Logger()).deserialize_cuda_engine(engine.read_bytes())
    info = json.loads(loaded.create_engine_inspector().get_engine_information(LayerInformationFormat.JSON))
    assert info["FP16"] is True

    # --loadInputs feeds a file's values; --dumpOutput and --exportOutput show one inference's
    # outputs, which match ONNX Runtime on the same input.
    x = np.random.default_rng(41).standard_normal((3, 784)).astype(np.float32)
    x.tofile(tmp_path / "x.bin")
    exported = tmp_path / "out.json"
    result = run_exec("--loadEngine", str(saved_engine["engine"]), "--shapes", "input:3x784",
                      "--loadInputs", f"input:{tmp_path / 'x.bin'}", "--dumpOutput", "--exportOutput", str(exported), *FAST)
    assert result.returncode == 0, result.stderr
    (reference,) = ort.InferenceSession(str(mlp_onnx), providers=["CPUExecutionProvider"]).run(None, {"input": x})
    outputs = json.loads(exported.read_text())
    assert [o["name"] for o in outputs] == ["output"] and outputs[0]["dimensions"] == "3x10"
    np.testing.assert_allclose(np.array(outputs[0]["values"]).reshape(3, 10), reference, rtol=1e-5, atol=1e-5)
    dumped = result.stdout.split("Output Tensors:\n", 1)[1].splitlines()
    assert dumped[0] == "output: (3x10)"
    np.testing.assert_allclose(np.array(dumped[1].split(), dtype=np.float64).reshape(3, 10), reference,
                               rtol=1e-5, atol=1e-5)

    # Each bad input names what is at fault.
    bad = [(("--workspace=64", "--memPoolSize=workspace:64MiB"), ("--workspace", "--memPoolSize")),
           (("--workspace=-1",), ("--workspace -1",))]
    for flags, culprits in bad:
        assert_clean_failure(run_exec("--onnx", str(mlp_onnx), *PROFILE, *flags, "--skipInference"), *culprits)
    (tmp_path / "short.bin").write_bytes(b"\0" * 12)
    for spec, culprits in [(f"input:{tmp_path / 'missing.bin'}", ("missing.bin", "'input'")),
                           (f"input:{tmp_path / 'short.bin'}", ("short.bin", "12 bytes", "3x784", "9408")),
                           (f"other:{tmp_path / 'x.bin'}", ("'other'", "['input']")),
                           ("nocolon", ("'nocolon'", "NAME:FILE"))]:
        result = run_exec("--loadEngine", str(saved_engine["engine"]), "--shapes", "input:3x784",
                          "--loadInputs", spec, *FAST)
        assert_clean_failure(result, *culprits)


def test_avg_runs_and_cuda_graph_flag(saved_engine: Dict[str, object], tmp_path: Path) -> None:
    # --avgRuns N: the summary's statistics are over means of N consecutive inferences (the
    # exported times stay per inference); --useCudaGraph is taken (launches are replayed anyway).
    times = tmp_path / "t.json"
    result = run_exec("--loadEngine", str(saved_engine["engine"]), "--avgRuns", "3", "--useCudaGraph",
                      "--exportTimes", str(times), "--iterations", "9", "--warmUp", "0", "--duration", "0")
    assert result.returncode == 0, result.stderr
    data = json.loads(times.read_text())
    latencies = [r["latencyMs"] for r in data["times"]]
    whole = len(latencies) // 3 * 3
    means = [sum(latencies[i:i + 3]) / 3 for i in range(0, whole, 3)]
    assert data["summary"]["Latency"]["min"] == pytest.approx(min(means))
    assert data["summary"]["Latency"]["max"] == pytest.approx(max(means))
    assert int(re.search(r"^Iterations: (\d+)$", result.stdout, re.M).group(1)) == len(latencies) >= 9
    assert_clean_failure(run_exec("--loadEngine", str(saved_engine["engine"]), "--avgRuns", "0", *FAST),
                         "--avgRuns must be at least 1")
    # A last, shorter group is dropped unless it is the only one.
    assert _averaged_runs([1.0, 2.0, 3.0, 4.0, 5.0], 2) == [1.5, 3.5]
    assert _averaged_runs([1.0, 2.0], 3) == [1.5] and _averaged_runs([1.0, 2.0], 1) == [1.0, 2.0]
