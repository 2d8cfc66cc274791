"""Shape flags of ``mlprt compare`` and ``mlprt exec``: trtexec's ``7x784`` beside Polygraphy's
``[7,784]`` (mlprt.tools.shapes), parsed directly and through the command lines."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mlprt.tools.shapes import parse_shape_flag, split_entries
from zoo import zoo_exports  # noqa: F401  (fixture)


def test_polygraphy_and_trtexec_forms_give_the_same_shapes():
    trtexec = parse_shape_flag(["image:6x784,meta:6x16"], "--input-shapes")
    assert trtexec == {"image": (6, 784), "meta": (6, 16)}
    assert parse_shape_flag(["image:[6,784]", "meta:[6,16]"], "--input-shapes") == trtexec
    assert parse_shape_flag(["image:[6,784],meta:[6,16]"], "--input-shapes") == trtexec
    assert parse_shape_flag(["image:[6, 784] meta:6x16"], "--input-shapes") == trtexec
    assert parse_shape_flag("image:[6,784]", "--input-shapes") == {"image": (6, 784)}


def test_scalars_quoted_names_and_names_with_colons():
    assert parse_shape_flag(["s:[]", "t:"], "--shapes") == {"s": (), "t": ()}
    assert parse_shape_flag(["'in:put':[3,5]", "a:b:2x3"], "--shapes") == {"in:put": (3, 5), "a:b": (2, 3)}
    assert parse_shape_flag([], "--shapes") == {} and parse_shape_flag(None, "--shapes") == {}


def test_split_entries_keeps_brackets_whole():
    assert split_entries("a:[1,2],b:3x4 c:[5, 6]") == ["a:[1,2]", "b:3x4", "c:[5, 6]"]
    assert split_entries(" , ") == []


@pytest.mark.parametrize("text, culprit, reason", [
    ("input:[7,x]", "input:[7,x]", "dimension 'x' is not an integer"),
    ("input:[7,784", "input:[7,784", "unbalanced brackets"),
    ("input:7]", "input:7]", "unbalanced brackets"),
    ("input[7,784]", "input[7,784]", "brackets must hold the whole shape"),
    ("input:[7,784]x2", "input:[7,784]x2", "brackets must hold the whole shape"),
    ("input:7x784x", "input:7x784x", "dimension '' is not an integer"),
    ("input:7,784", "784", "not NAME:SHAPE"),
    ("input=7x784", "input=7x784", "not NAME:SHAPE"),
    ("x:[-1,2]", "x:[-1,2]", "dimensions cannot be negative"),
    (":[1]", ":[1]", "the input name is missing"),
    ("a:[1] a:2", "a:2", "input 'a' is given twice"),
    ("   ", "   ", "no shape given"),
])
def test_bad_shapes_are_refused_naming_flag_and_text(text, culprit, reason):
    with pytest.raises(ValueError) as raised:
        parse_shape_flag([text], "--input-shapes")
    message = str(raised.value)
    assert message.startswith(f"--input-shapes '{culprit}': ")
    assert reason in message
    if culprit != text:
        assert f"(in '{text}')" in message


def run_tool(tool: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlprt", tool, *args], capture_output=True,
                          text=True, env=dict(os.environ), timeout=600)


def test_compare_takes_polygraphy_shapes_for_two_inputs(zoo_exports):
    path = str(zoo_exports.get("two_tower", "legacy", True))
    # Polygraphy's spelling throughout, the model written after the shape values.
    result = run_tool("compare", "--trt-min-shapes", "image:[1,784]", "meta:[1,16]",
                      "--trt-opt-shapes", "image:[4,784],meta:[4,16]",
                      "--trt-max-shapes", "image:[8,784]", "meta:8x16",
                      "--input-shapes", "image:[7,784]", "meta:[7,16]", path, "--seed", "5")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "inputs: image float32 7x784, meta float32 7x16" in result.stdout
    assert "profile image 1x784..8x784 opt 4x784; meta 1x16..8x16 opt 4x16" in result.stdout
    assert "PASSED: 2 of 2 outputs match ONNX Runtime" in result.stdout


def test_compare_refuses_bad_polygraphy_shape_and_missing_model(zoo_exports):
    path = str(zoo_exports.get("simple_mlp", "legacy", True))
    bad = run_tool("compare", path, "--input-shapes", "input:[7,784,]")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("mlprt compare: --input-shapes 'input:[7,784,]': dimension '' "
                                 "is not an integer"), bad.stderr
    missing = run_tool("compare", "--input-shapes", "input:[7,784]")
    assert missing.returncode == 1 and "the ONNX model is missing" in missing.stderr


def test_exec_takes_polygraphy_shapes(zoo_exports):
    path = str(zoo_exports.get("simple_mlp", "legacy", True))
    result = run_tool("exec", "--onnx", path, "--minShapes", "input:[1,784]", "--optShapes",
                      "input:[3,784]", "--maxShapes", "input:8x784", "--shapes", "input:[5,784]",
                      "--iterations", "2", "--warmUp", "0", "--duration", "0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Inference shapes: input:5x784" in result.stdout
    bad = run_tool("exec", "--onnx", path, "--shapes", "input:[5;784]", "--skipInference")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "mlprt exec: --shapes 'input:[5;784]': dimension '5;784' is not an integer" in bad.stderr
