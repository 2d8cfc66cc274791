"""``mlprt compare``, run as a user would: in a subprocess, output and exit status checked."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from zoo import zoo_exports  # noqa: F401  (fixture)


def run_compare(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlprt", "compare", *args], capture_output=True,
                          text=True, env=dict(os.environ), timeout=300)


def output_blocks(stdout: str) -> Dict[str, str]:
    """output name -> its block of lines in the report."""
    blocks: Dict[str, str] = {}
    for match in re.finditer(r"output '([^']+)': (.*?)(?=\noutput '|\n(?:PASSED|FAILED): \d+ of)", stdout, re.S):
        blocks[match.group(1)] = match.group(2)
    return blocks


def test_fp32_dynamic_two_outputs_pass(zoo_exports) -> None:
    path = zoo_exports.get("two_tower", "legacy", True)
    result = run_compare(str(path), "--minShapes", "image:1x784,meta:1x16", "--optShapes",
                         "image:4x784,meta:4x16", "--maxShapes", "image:8x784,meta:8x16",
                         "--input-shapes", "image:6x784,meta:6x16", "--seed", "3")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "inputs: image float32 6x784, meta float32 6x16" in out
    assert "profile image 1x784..8x784 opt 4x784; meta 1x16..8x16 opt 4x16" in out
    blocks = output_blocks(out)
    assert set(blocks) == {"logits", "probs"}
    for block in blocks.values():
        assert block.startswith("float32 (6, 10)")
        assert re.search(r"absolute difference: max \S+ at \(\d+, \d+\), mean \S+", block)
        assert re.search(r"relative difference: max \S+ at \(\d+, \d+\), mean \S+", block)
        assert "PASSED: |mlprt - onnxruntime| <= 1e-05 + 1e-05 * |onnxruntime| for all 60 elements" in block
    assert "PASSED: 2 of 2 outputs match ONNX Runtime (atol 1e-05, rtol 1e-05)" in out


def test_defaults_static_shape_and_dynamic_default_profile(zoo_exports) -> None:
    static = run_compare(str(zoo_exports.get("simple_mlp", "legacy", False)))
    assert static.returncode == 0, static.stdout + static.stderr
    assert "inputs: input float32 5x784" in static.stdout and "engine built (fp32)" in static.stdout
    dynamic = run_compare(str(zoo_exports.get("simple_mlp", "legacy", True)))
    assert dynamic.returncode == 0, dynamic.stdout + dynamic.stderr
    assert "profile input 1x784..64x784 opt 1x784" in dynamic.stdout
    assert "inputs: input float32 1x784" in dynamic.stdout
    bigger = run_compare(str(zoo_exports.get("simple_mlp", "legacy", True)), "--shapes", "input:100x784")
    assert bigger.returncode == 0 and "profile input 1x784..100x784 opt 100x784" in bigger.stdout


def test_fp16_passes_with_its_defaults_and_fails_exact(zoo_exports) -> None:
    path = str(zoo_exports.get("simple_mlp", "legacy", True))
    shapes = ("--minShapes", "input:1x784", "--optShapes", "input:8x784", "--maxShapes", "input:16x784")
    loose = run_compare(path, "--fp16", *shapes)
    assert loose.returncode == 0, loose.stdout + loose.stderr
    assert "engine built (fp16" in loose.stdout and "inputs: input float32 8x784" in loose.stdout
    assert "(atol 0.01, rtol 0.01)" in loose.stdout
    strict = run_compare(path, "--fp16", *shapes, "--atol", "0", "--rtol", "0")
    assert strict.returncode == 1
    assert re.search(r"FAILED: \d+ of 80 elements break \|mlprt - onnxruntime\| <= 0 \+ 0", strict.stdout)
    assert "FAILED: 1 of 1 outputs differ from ONNX Runtime (output)" in strict.stdout


def test_load_engine_and_save_engine(zoo_exports, tmp_path: Path) -> None:
    path = str(zoo_exports.get("simple_mlp", "legacy", True))
    engine = tmp_path / "mlp.engine"
    saved = run_compare(path, "--maxShapes", "input:4x784", "--saveEngine", str(engine))
    assert saved.returncode == 0 and engine.stat().st_size > 0, saved.stderr
    loaded = run_compare(path, "--loadEngine", str(engine), "--seed", "9")
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert f"engine loaded from {engine}" in loaded.stdout
    assert "inputs: input float32 4x784" in loaded.stdout    # profile opt = max, the only shape given
    outside = run_compare(path, "--loadEngine", str(engine), "--input-shapes", "input:5x784")
    assert outside.returncode == 1 and "outside the engine's profile" in outside.stderr
    both = run_compare(path, "--loadEngine", str(engine), "--minShapes", "input:1x784")
    assert both.returncode == 1 and "drop them with --loadEngine" in both.stderr


@pytest.mark.parametrize("args, message", [
    (("--loadEngine", "{tmp}/missing.engine"), "cannot read the engine"),
    (("--loadEngine", "{tmp}/garbage.engine"), "could not be loaded"),
    (("--minShapes", "input:1xq"), "--minShapes 'input:1xq': dimension 'q' is not an integer"),
    (("--input-shapes", "input:[4,q]"), "--input-shapes 'input:[4,q]': dimension 'q' is not an integer"),
    (("--trt-max-shapes", "input:[4,784"), "--maxShapes 'input:[4,784': unbalanced brackets"),
    (("--minShapes", "input:8x784", "--maxShapes", "input:4x784"), "bad profile"),
])
def test_errors_are_messages_without_traceback(zoo_exports, tmp_path: Path, args, message) -> None:
    (tmp_path / "garbage.engine").write_bytes(b"not an engine at all, just some bytes.....")
    path = str(zoo_exports.get("simple_mlp", "legacy", True))
    result = run_compare(path, *(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert result.returncode == 1
    assert result.stderr.startswith("mlprt compare: ") and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_build_errors_and_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not protobuf")
    result = run_compare(str(bad))
    assert result.returncode == 1 and "could not be parsed" in result.stderr
    assert "Traceback" not in result.stderr
    missing = run_compare(str(tmp_path / "none.onnx"))
    assert missing.returncode == 1 and "no such model file" in missing.stderr


def test_help_documents_the_pass_rule() -> None:
    result = subprocess.run([sys.executable, "-m", "mlprt", "compare", "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0
    assert "|mlprt - onnxruntime| <= atol + rtol * |onnxruntime|" in result.stdout
    assert "--loadEngine" in result.stdout and "--input-shapes" in result.stdout
