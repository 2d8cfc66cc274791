"""The tutorial scripts in examples/tutorials run as users run them and match PyTorch (and,
for the era scripts, ONNX Runtime)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
import numpy as np
import onnx
import pytest

TUTORIALS = Path(__file__).resolve().parents[2] / "examples" / "tutorials"
SCRIPTS = {
    "pycuda_engine_class.py": ("simple_mlp_static.engine", 3),
    "cudart_allocate_buffers.py": ("simple_mlp_dynamic.engine", 3),
    "static_shape_inference.py": ("simple_mlp_static.engine", 1),
    "dynamic_shape_inference.py": ("simple_mlp_dynamic.engine", 4),
}


# Era scripts: written as the tutorials of their TensorRT version are, only the imports
# changed; they write their files to the working directory. script -> (arguments, the
# comparisons they print, legacy names that must each be announced exactly once).
ERA_SCRIPTS = {
    # The scripts' logger shows WARNING and above: the names whose arguments mlprt ignores.
    # (The INFO announcements are tested in test_legacy_api.py.)
    "trt7_onnx_pycuda.py": ([], 4, ["[W] Builder.max_batch_size was removed in TensorRT 10",
                                    "[W] IExecutionContext.execute_async was removed in TensorRT 10",
                                    "[W] IExecutionContext.execute was removed in TensorRT 10"]),
    "trt10_cuda_python.py": ([], 12, []),
}
SIMPLE_MLP = ["simple_mlp_export.py", "simple_mlp_build.py", "simple_mlp_infer.py"]


def run_in(workdir: Path, script: str, *args: str) -> subprocess.CompletedProcess:
    """Runs a tutorial script from ``workdir`` as a user would (``python path/script.py``)."""
    return subprocess.run([sys.executable, str(TUTORIALS / script), *args], cwd=workdir,
                          capture_output=True, text=True, timeout=600, env=dict(os.environ))


def test_every_script_is_tested_and_documented():
    scripts = {p.name for p in TUTORIALS.glob("*.py")} - {"common.py"}
    assert scripts == set(SCRIPTS) | set(ERA_SCRIPTS) | set(SIMPLE_MLP)
    readme = (TUTORIALS / "README.md").read_text()
    for name in scripts:
        assert f"`{name}`" in readme


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_tutorial_runs_and_matches_pytorch(tmp_path, script):
    result = subprocess.run([sys.executable, str(TUTORIALS / script), "--workdir", str(tmp_path)],
                            capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    engine, comparisons = SCRIPTS[script]
    assert (tmp_path / engine).is_file()
    assert len(list(tmp_path.glob("*.onnx"))) == 1
    assert result.stdout.count(" OK\n") == comparisons, output
    assert "MISMATCH" not in result.stdout
    assert result.stdout.rstrip().endswith("PASSED"), output


def test_mismatch_exits_non_zero(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(TUTORIALS))
    import common  # the tutorials' shared helpers

    expected = np.ones((2, 10), np.float32)
    assert common.check("same", expected.copy(), expected)
    assert not common.check("off", expected + 1e-3, expected)
    assert not common.check("shape", expected[:1], expected[:1].reshape(10, 1))
    assert "MISMATCH" in capsys.readouterr().out
    with pytest.raises(SystemExit) as raised:
        common.finish(False)
    assert raised.value.code not in (0, None)
    common.finish(True)
    assert "PASSED" in capsys.readouterr().out


@pytest.mark.parametrize("script", sorted(ERA_SCRIPTS) + SIMPLE_MLP)
def test_era_scripts_name_mlprt_only_in_imports(script):
    # Docstrings may say mlprt; code lines may not (the promise: only the imports change).
    source = (TUTORIALS / script).read_text()
    body = source.split('"""', 2)[2]  # after the module docstring
    offending = [line for line in body.splitlines()
                 if "mlprt" in line and not line.startswith(("import mlprt", "from mlprt import"))]
    assert offending == []


@pytest.mark.parametrize("script,args", [("trt7_onnx_pycuda.py", []),
                                         ("trt7_onnx_pycuda.py", ["--fp16"]),
                                         ("trt10_cuda_python.py", [])])
def test_era_script_runs_and_matches_onnxruntime(tmp_path, script, args):
    result = run_in(tmp_path, script, *args)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    _, comparisons, announced = ERA_SCRIPTS[script]
    compared = [line for line in result.stdout.splitlines() if "max abs difference" in line]
    assert len(compared) == comparisons, output
    assert sum("ONNX Runtime" in line for line in compared) == comparisons // 2
    assert "MISMATCH" not in result.stdout
    assert result.stdout.rstrip().endswith("PASSED"), output
    for message in announced:
        assert result.stderr.count(message) == 1, (message, result.stderr)


def test_trt7_script_fp16_engine_differs_from_fp32(tmp_path):
    # builder.fp16_mode must reach the build: the FP16 engine's results are not the FP32 ones.
    differences = {}
    for args in ([], ["--fp16"]):
        workdir = tmp_path / ("fp16" if args else "fp32")
        workdir.mkdir()
        result = run_in(workdir, "trt7_onnx_pycuda.py", *args)
        assert result.returncode == 0, result.stdout + result.stderr
        first = next(line for line in result.stdout.splitlines() if "vs ONNX Runtime" in line)
        differences[bool(args)] = float(first.split("difference ")[1].split()[0])
    assert differences[False] < 1e-6 < differences[True]


@pytest.fixture(scope="module")
def simple_mlp_dir(tmp_path_factory) -> Path:
    """The SimpleMLP tutorial's step 1 run once: torch 2.13's default (dynamo) export."""
    workdir = tmp_path_factory.mktemp("simple_mlp")
    result = run_in(workdir, "simple_mlp_export.py")
    assert result.returncode == 0, result.stdout + result.stderr
    return workdir


def test_simple_mlp_export_is_dynamo_with_external_data(simple_mlp_dir):
    # The premise of the tutorial test: opset 18 and the weights in a .data file beside it.
    for name in ("simple_mlp.onnx", "simple_mlp_dynamic.onnx"):
        assert (simple_mlp_dir / (name + ".data")).stat().st_size > 784 * 128 * 4
        model = onnx.load(str(simple_mlp_dir / name), load_external_data=False)
        assert {o.domain: o.version for o in model.opset_import}.get("", 0) >= 18
    dynamic = onnx.load(str(simple_mlp_dir / "simple_mlp_dynamic.onnx"), load_external_data=False)
    assert dynamic.graph.input[0].type.tensor_type.shape.dim[0].dim_param != ""


@pytest.mark.parametrize("model", ["simple_mlp", "simple_mlp_dynamic"])
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_simple_mlp_tutorial_build_and_infer(simple_mlp_dir, model, precision):
    engine = f"{model}_{precision}.engine"
    flags = ["--fp16"] if precision == "fp16" else []
    built = run_in(simple_mlp_dir, "simple_mlp_build.py", "--onnx", f"{model}.onnx",
                   "--engine", engine, *flags)
    assert built.returncode == 0, built.stdout + built.stderr
    assert (simple_mlp_dir / engine).stat().st_size > 0
    assert built.stderr.count("[W] Builder.max_batch_size was removed in TensorRT 10") == 1
    inferred = run_in(simple_mlp_dir, "simple_mlp_infer.py", "--onnx", f"{model}.onnx",
                      "--engine", engine, *flags)
    output = inferred.stdout + inferred.stderr
    assert inferred.returncode == 0, output
    batches = 3 if model.endswith("dynamic") else 1
    assert inferred.stdout.count(" OK\n") == 2 * batches, output
    if batches == 3:
        for batch in (1, 7, 64):
            assert f"batch {batch}: output ({batch}, 10) vs ONNX Runtime" in inferred.stdout
    assert inferred.stdout.rstrip().endswith("PASSED"), output
