"""The tutorial scripts in examples/tutorials run as users run them and match PyTorch."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

TUTORIALS = Path(__file__).resolve().parents[2] / "examples" / "tutorials"
SCRIPTS = {
    "pycuda_engine_class.py": ("simple_mlp_static.engine", 3),
    "cudart_allocate_buffers.py": ("simple_mlp_dynamic.engine", 3),
    "static_shape_inference.py": ("simple_mlp_static.engine", 1),
    "dynamic_shape_inference.py": ("simple_mlp_dynamic.engine", 4),
}


def test_every_script_is_tested_and_documented():
    scripts = {p.name for p in TUTORIALS.glob("*.py")} - {"common.py"}
    assert scripts == set(SCRIPTS)
    readme = (TUTORIALS / "README.md").read_text()
    for name in SCRIPTS:
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
