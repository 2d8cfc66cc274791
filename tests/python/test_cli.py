"""The mlprt command line, run as a user would: in a subprocess, output checked."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlprt


def run_cli(*args: str, env_extra: dict = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "mlprt", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_devices_table_lists_every_device_and_marks_the_default() -> None:
    result = run_cli("devices")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["index", "p:d", "type"]
    default = mlprt.default_device()
    for device in mlprt.devices():
        assert any(device.name in line for line in lines)
    marked = [line for line in lines if line.startswith("* ") and "default device" not in line]
    assert len(marked) == 1 and default.name in marked[0]
    assert "MLPRT_DEVICE" in result.stdout


def test_devices_json() -> None:
    result = run_cli("devices", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["name"] for row in rows] == [d.name for d in mlprt.devices()]
    assert sum(row["default"] for row in rows) == 1
    assert {"platform", "type", "global_memory", "fp16"} <= set(rows[0])


def test_bad_device_selection_is_an_error_naming_it() -> None:
    result = run_cli("devices", env_extra={"MLPRT_DEVICE": "no-such-gpu"})
    assert result.returncode == 1
    assert "MLPRT_DEVICE: unknown OpenCL device 'no-such-gpu'" in result.stderr


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "mlprt"
    assert script.exists(), "pip install did not create the mlprt console script"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and mlprt.__version__ in result.stdout


def test_no_command_prints_help() -> None:
    result = run_cli()
    assert result.returncode == 2 and "devices" in result.stdout
