"""The builder's transformer fusions: GELU as exporters write it becomes the activation of the
product before it, and the exporters' Q K^T / softmax / V chains (PyTorch's
scaled_dot_product_attention export with its NaN guard, the eager BERT form with a division by
sqrt(d) and an additive mask, GPT-2's) become one Attention step, whose engine matches ONNX
Runtime at two sequence lengths in FP32 and FP16; chains whose intermediates are used elsewhere
stay unfused."""
from __future__ import annotations

import json
from typing import Dict, List

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import mlprt
from mlprt.engine_tools import build_engine
from mlprt.testing import compare_with_onnxruntime

N = helper.make_node
F = TensorProto.FLOAT


def _model(nodes: List[onnx.NodeProto], inputs: List[onnx.ValueInfoProto], outputs: List[str],
           initializers: Dict[str, np.ndarray]) -> bytes:
    graph = helper.make_graph(nodes, "attention", inputs, [helper.make_tensor_value_info(o, F, None) for o in outputs],
                              [numpy_helper.from_array(v, k) for k, v in initializers.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model.SerializeToString()


def _heads(x: str, out: str, perm: List[int]) -> List[onnx.NodeProto]:
    """(batch, seq, 3 * 4) -> (batch, 3, seq, 4) (or perm's layout) as exporters write it."""
    return [N("Reshape", [x, "split_heads"], [out + "_split"]), N("Transpose", [out + "_split"], [out], perm=perm)]


def sdpa_model(guard: bool, eager: bool, expand: bool = False, lowest: float = -np.inf,
               bias_output: bool = False, mask_type: int = TensorProto.INT64) -> bytes:
    """q, k, v (batch, seq, 12) in 3 heads of 4; a padding mask (batch, seq) of 0/1, made additive
    as where(mask, 0, lowest), with `expand` of the mask to (batch, 1, seq, seq) first (as
    transformers' sdpa masks are), with `bias_output` also an output of the model."""
    inits = {"split_heads": np.array([0, 0, 3, 4], np.int64), "root": np.array(4 ** -0.25, np.float32),
             "sqrt_d": np.array(2.0, np.float32), "zero": np.array(0.0, np.float32),
             "neg_inf": np.array(lowest, np.float32), "axes12": np.array([1, 2], np.int64),
             "merge": np.array([0, 0, 12], np.int64), "one": np.array([1], np.int64),
             "i0": np.array(0, np.int64), "i1": np.array(1, np.int64)}
    nodes = _heads("q", "qh", [0, 2, 1, 3]) + _heads("v", "vh", [0, 2, 1, 3])
    if eager:  # BERT eager: (q k^T) / sqrt(d) + (1 - mask) * min
        nodes += _heads("k", "kh", [0, 2, 1, 3]) + [
            N("Transpose", ["kh"], ["kt"], perm=[0, 1, 3, 2]), N("MatMul", ["qh", "kt"], ["raw"]),
            N("Div", ["raw", "sqrt_d"], ["scores"])]
    else:  # scaled_dot_product_attention: q * d^-1/4 times (k^T * d^-1/4)
        nodes += _heads("k", "kt", [0, 2, 3, 1]) + [
            N("Mul", ["qh", "root"], ["qs"]), N("Mul", ["kt", "root"], ["ks"]), N("MatMul", ["qs", "ks"], ["scores"])]
    nodes += [N("Unsqueeze", ["mask", "axes12"], ["mask4"]), N("Cast", ["mask4"], ["allowed"], to=TensorProto.BOOL)]
    if expand:  # (batch, 1, 1, seq) -> (batch, 1, seq, seq), the shape made from the mask's at run time
        nodes += [N("Shape", ["mask"], ["mask_shape"]), N("Gather", ["mask_shape", "i0"], ["b"]),
                  N("Gather", ["mask_shape", "i1"], ["s"]), N("Unsqueeze", ["b", "i0"], ["b1"]),
                  N("Unsqueeze", ["s", "i0"], ["s1"]), N("Concat", ["b1", "one", "s1", "s1"], ["square"], axis=0),
                  N("Expand", ["allowed", "square"], ["allowed_square"])]
    nodes += [N("Where", ["allowed_square" if expand else "allowed", "zero", "neg_inf"], ["bias"]),
              N("Add", ["scores", "bias"], ["biased"]), N("Softmax", ["biased"], ["probs"], axis=-1)]
    if guard:  # transformers' guard: fully masked rows give 0, not NaN
        nodes += [N("IsNaN", ["probs"], ["nan"]), N("Where", ["nan", "zero", "probs"], ["safe"])]
    nodes += [N("MatMul", ["safe" if guard else "probs", "vh"], ["context"]),
              N("Transpose", ["context"], ["merged_heads"], perm=[0, 2, 1, 3]),
              N("Reshape", ["merged_heads", "merge"], ["y"])]
    inputs = [helper.make_tensor_value_info(n, F, ["batch", "seq", 12]) for n in ("q", "k", "v")]
    inputs.append(helper.make_tensor_value_info("mask", mask_type, ["batch", "seq"]))
    return _model(nodes, inputs, ["y", "bias"] if bias_output else ["y"], inits)


def _feeds(rng: np.random.Generator, batch: int, seq: int) -> Dict[str, np.ndarray]:
    feeds = {n: rng.standard_normal((batch, seq, 12)).astype(np.float32) for n in ("q", "k", "v")}
    mask = np.ones((batch, seq), np.int64)
    mask[-1, (seq + 1) // 2:] = 0
    feeds["mask"] = mask
    return feeds


def _layer_types(engine_bytes: bytes) -> List[str]:
    engine = mlprt.Runtime(mlprt.Logger()).deserialize_cuda_engine(engine_bytes)
    inspector = engine.create_engine_inspector()
    return [json.loads(inspector.get_layer_information(i, mlprt.LayerInformationFormat.JSON))["LayerType"]
            for i in range(engine.num_layers)]


def _check_output(model: bytes, engine: object, feeds: Dict[str, np.ndarray], fp16: bool, label: str) -> object:
    """Runs the engine and compares y with ONNX Runtime: relative error within FP32's or FP16's
    bound, NaN exactly where ONNX Runtime has NaN. Returns the report."""
    report = compare_with_onnxruntime(model, engine=engine, inputs=feeds, rtol=1.0, atol=1e9)
    got, expected = report.results["y"], report.reference["y"]
    scale = float(np.abs(expected[np.isfinite(expected)]).max())
    error = float(np.nanmax(np.abs(got - expected))) / scale
    assert error <= (1e-2 if fp16 else 1e-5), f"{label}: relative error {error:.3g}"
    assert np.array_equal(np.isnan(got), np.isnan(expected)), "NaN where ONNX Runtime has NaN, nowhere else"
    return report


PROFILE = {name: ((1, 1, 12), (2, 8, 12), (3, 16, 12)) for name in ("q", "k", "v")}
PROFILE["mask"] = ((1, 1), (2, 8), (3, 16))


@pytest.mark.parametrize("guard,eager,fp16", [(True, False, False), (False, True, False), (True, False, True)])
def test_attention_chains_become_one_step_and_match_onnxruntime(rng, guard, eager, fp16):
    model = sdpa_model(guard, eager)
    engine_bytes = build_engine(model, fp16=fp16, profiles=[PROFILE])
    types = _layer_types(engine_bytes)
    assert types.count("Attention") == 1 and "Softmax" not in types, types
    # The heads' reshapes and transposes are gone (the step reads q, k, v and writes y in place),
    # and so are the mask's unsqueeze, cast and select: the step reads the INT64 (batch, seq) mask.
    assert "Shuffle" not in types and "Select" not in types, types
    assert types.count("Identity") == (4 if fp16 else 0), types  # FP16: q, k, v to half, y to float
    engine = mlprt.Runtime(mlprt.Logger()).deserialize_cuda_engine(engine_bytes)
    for batch, seq in ((3, 5), (2, 16), (1, 1)):
        _check_output(model, engine, _feeds(rng, batch, seq), fp16, f"{batch}x{seq}")


@pytest.mark.parametrize("expand,lowest,bias_output,fp16", [
    (True, -np.inf, False, False), (True, float(np.finfo(np.float32).min), False, True),
    (False, float(np.finfo(np.float32).min), False, False), (True, -np.inf, True, False)])
def test_boolean_masks_are_read_where_they_are_made(rng, expand, lowest, bias_output, fp16):
    """where(mask, 0, lowest), maybe of the mask expanded to the scores' shape: the attention step
    reads the BOOL mask (batch, 1, 1, seq) itself, so neither the select nor the expand runs (where's
    output still does where the model returns it), and the engine matches ONNX Runtime, with a row
    of the last batch entry that the mask hides whole (uniform weights with the float's lowest value,
    NaN with -inf, as ONNX Runtime computes them)."""
    model = sdpa_model(guard=False, eager=False, expand=expand, lowest=lowest, bias_output=bias_output)
    engine_bytes = build_engine(model, fp16=fp16, profiles=[PROFILE])
    types = _layer_types(engine_bytes)
    assert types.count("Attention") == 1, types
    # Where the model returns where's output, the select (and the expand, a select too) still run.
    assert types.count("Select") == ((2 if expand else 1) if bias_output else 0), types
    engine = mlprt.Runtime(mlprt.Logger()).deserialize_cuda_engine(engine_bytes)
    for batch, seq in ((3, 5), (2, 16), (1, 1)):
        feeds = _feeds(rng, batch, seq)
        if batch == 2 and not np.isinf(lowest):
            feeds["mask"][0, :] = 0  # every key hidden from the first entry's rows
        report = _check_output(model, engine, feeds, fp16, f"{batch}x{seq}")
        if bias_output:
            np.testing.assert_array_equal(report.results["bias"], report.reference["bias"])


def test_a_float_mask_cast_to_bool_keeps_its_cast(rng):
    """The step reads BOOL, INT32 and INT64 masks as nonzero; a FLOAT mask cast to BOOL is not read
    in place (its cast stays), and the engine matches ONNX Runtime."""
    model = sdpa_model(guard=True, eager=False, mask_type=F)
    types = _layer_types(build_engine(model, profiles=[PROFILE]))
    assert types.count("Attention") == 1 and types.count("Identity") == 1, types
    feeds = _feeds(rng, 3, 5)
    feeds["mask"] = feeds["mask"].astype(np.float32) * 0.5  # nonzero values other than 1
    report = compare_with_onnxruntime(model, engine=build_engine(model, profiles=[PROFILE]), inputs=feeds,
                                      rtol=1e-5, atol=1e-5)
    report.assert_passed()


def test_scores_used_elsewhere_stay_unfused(rng):
    """A chain whose probabilities are also an output must keep its softmax."""
    model = onnx.load_from_string(sdpa_model(guard=False, eager=True))
    model.graph.output.append(helper.make_tensor_value_info("probs", F, None))
    engine_bytes = build_engine(model.SerializeToString(), profiles=[PROFILE])
    types = _layer_types(engine_bytes)
    assert "Attention" not in types and "Softmax" in types, types


@pytest.mark.parametrize("order", ["bert", "torch", "gpt2", "cubed"])
def test_gelu_as_exported_becomes_the_products_activation(rng, order):
    """x * 0.5 * (1 + erf(x / sqrt(2))) (BERT's order) or (x * 0.5) * (1 + erf(x * 1/sqrt(2))) after
    a Linear, or the tanh form (x * 0.5) * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))) with x^3 as
    GPT-2 writes it (Pow) or as x * x * x: one GELU activation in the product's epilogue, no
    elementwise steps left."""
    w = rng.standard_normal((12, 7)).astype(np.float32)
    b = rng.standard_normal((7,)).astype(np.float32)
    inits = {"w": w, "b": b, "half": np.array(0.5, np.float32), "one": np.array(1.0, np.float32),
             "root": np.array(np.sqrt(2.0), np.float32), "inverse_root": np.array(1 / np.sqrt(2.0), np.float32),
             "three": np.array(3.0, np.float32), "c": np.array(0.044715, np.float32),
             "k": np.array(np.sqrt(2 / np.pi), np.float32)}
    nodes = [N("MatMul", ["x", "w"], ["xw"]), N("Add", ["xw", "b"], ["h"])]
    if order == "bert":
        nodes += [N("Div", ["h", "root"], ["s"]), N("Erf", ["s"], ["e"]), N("Add", ["e", "one"], ["t"]),
                  N("Mul", ["h", "t"], ["ht"]), N("Mul", ["ht", "half"], ["y"])]
    elif order == "torch":
        nodes += [N("Mul", ["h", "half"], ["hh"]), N("Mul", ["h", "inverse_root"], ["s"]), N("Erf", ["s"], ["e"]),
                  N("Add", ["one", "e"], ["t"]), N("Mul", ["hh", "t"], ["y"])]
    else:
        cube = ([N("Pow", ["h", "three"], ["h3"])] if order == "gpt2" else
                [N("Mul", ["h", "h"], ["h2"]), N("Mul", ["h2", "h"], ["h3"])])
        nodes += [N("Mul", ["h", "half"], ["hh"])] + cube + [
            N("Mul", ["h3", "c"], ["ch3"]), N("Add", ["h", "ch3"], ["inner"]), N("Mul", ["inner", "k"], ["s"]),
            N("Tanh", ["s"], ["e"]), N("Add", ["e", "one"], ["t"]), N("Mul", ["hh", "t"], ["y"])]
    model = _model(nodes, [helper.make_tensor_value_info("x", F, ["batch", 12])], ["y"], inits)
    engine_bytes = build_engine(model, profiles=[{"x": ((1, 12), (4, 12), (9, 12))}])
    types = _layer_types(engine_bytes)
    assert len(types) == 1 and types[0] in ("MatrixMultiply", "FusedMLP"), types  # one dense step
    x = rng.standard_normal((5, 12)).astype(np.float32)
    report = compare_with_onnxruntime(model, engine=engine_bytes, inputs={"x": x}, rtol=1e-5, atol=1e-6)
    report.assert_passed()


@pytest.mark.parametrize("fp16,sum_is_output", [(False, False), (True, False), (False, True)])
def test_layer_norm_takes_in_the_residual_add(rng, fp16, sum_is_output):
    """LayerNormalization(x + Linear(x)) over the last axis (a BERT block's end): one normalization
    step that adds the residual itself; where the sum is also an output (GPT-2's pre-norm blocks
    read it again) the add stays. In FP16 the normalization writes the FLOAT output itself: the
    engine ends with it, no cast after it."""
    width = 37  # not a multiple of the work-group
    inits = {"w": rng.standard_normal((width, width)).astype(np.float32) * 0.2,
             "gamma": rng.standard_normal((width,)).astype(np.float32),
             "beta": rng.standard_normal((width,)).astype(np.float32)}
    nodes = [N("MatMul", ["x", "w"], ["h"]), N("Add", ["x", "h"], ["sum"]),
             N("LayerNormalization", ["sum", "gamma", "beta"], ["y"], axis=-1, epsilon=1e-5)]
    outputs = ["y", "sum"] if sum_is_output else ["y"]
    model = _model(nodes, [helper.make_tensor_value_info("x", F, ["batch", "seq", width])], outputs, inits)
    engine_bytes = build_engine(model, fp16=fp16, profiles=[{"x": ((1, 1, width), (2, 5, width), (3, 9, width))}])
    types = _layer_types(engine_bytes)
    assert types.count("Normalization") == 1, types
    assert ("ElementWise" in types) == sum_is_output, types
    assert types[-1] == "Normalization" or sum_is_output, types
    for shape in ((2, 7, width), (3, 1, width)):
        x = rng.standard_normal(shape).astype(np.float32)
        report = compare_with_onnxruntime(model, engine=engine_bytes, inputs={"x": x},
                                          rtol=1e-2 if fp16 else 1e-5, atol=1e-2 if fp16 else 1e-5)
        report.assert_passed()


@pytest.mark.parametrize("fp16,position_first", [(False, False), (True, False), (False, True)])
def test_layer_norm_takes_in_the_embedding_adds(rng, fp16, position_first):
    """BERT's embeddings: LayerNorm(words + token types + positions), the positions (1, seq, width)
    repeated over the batch. One normalization step adds both (the Add that broadcasts too);
    an Add broadcast along a middle axis (batch, 1, width) is no repetition of rows and stays."""
    width = 37
    inits = {"gamma": rng.standard_normal((width,)).astype(np.float32),
             "beta": rng.standard_normal((width,)).astype(np.float32)}
    positions = ["positions", "words_types"] if position_first else ["words_types", "positions"]
    nodes = [N("Add", ["words", "types"], ["words_types"]), N("Add", positions, ["sum"]),
             N("LayerNormalization", ["sum", "gamma", "beta"], ["y"], axis=-1, epsilon=1e-5),
             N("Add", ["y", "per_sequence"], ["y_shifted"]),
             N("LayerNormalization", ["y_shifted", "gamma", "beta"], ["z"], axis=-1, epsilon=1e-5)]
    inputs = [helper.make_tensor_value_info("words", F, ["batch", "seq", width]),
              helper.make_tensor_value_info("types", F, ["batch", "seq", width]),
              helper.make_tensor_value_info("positions", F, [1, "seq", width]),
              helper.make_tensor_value_info("per_sequence", F, ["batch", 1, width])]
    model = _model(nodes, inputs, ["z"], inits)
    profile = {name: ((1, 1, width), (2, 5, width), (3, 9, width)) for name in ("words", "types")}
    profile["positions"] = ((1, 1, width), (1, 5, width), (1, 9, width))
    profile["per_sequence"] = ((1, 1, width), (2, 1, width), (3, 1, width))
    engine_bytes = build_engine(model, fp16=fp16, profiles=[profile])
    types = _layer_types(engine_bytes)
    assert types.count("Normalization") == 2 and types.count("ElementWise") == 1, types
    for batch, seq in ((2, 7), (3, 1), (1, 9)):
        feeds = {"words": rng.standard_normal((batch, seq, width)).astype(np.float32),
                 "types": rng.standard_normal((batch, seq, width)).astype(np.float32),
                 "positions": rng.standard_normal((1, seq, width)).astype(np.float32),
                 "per_sequence": rng.standard_normal((batch, 1, width)).astype(np.float32)}
        report = compare_with_onnxruntime(model, engine=engine_bytes, inputs=feeds,
                                          rtol=1e-2 if fp16 else 1e-5, atol=1e-2 if fp16 else 1e-5)
        report.assert_passed()


def windowed_model(bias: bool, constant_mask: bool = True, windows: int = 4, heads: int = 2, tokens: int = 9,
                   depth: int = 8) -> bytes:
    """torchvision's shifted-window attention: q, k, v (images x windows, heads, tokens, depth); the
    scores get a relative position bias (1, heads, N, N), then, in a 5-D view (images, windows,
    heads, N, N), a per-window mask (1, windows, 1, N, N) of 0 and -100, and go back to 4-D for the
    softmax. ``constant_mask`` False: the window mask is an input instead."""
    rng = np.random.default_rng(5)
    window_mask = np.where(rng.random((1, windows, 1, tokens, tokens)) < 0.3, -100.0, 0.0).astype(np.float32)
    inits = {"scale": np.array(depth ** -0.5, np.float32),
             "rel_bias": rng.standard_normal((1, heads, tokens, tokens)).astype(np.float32),
             "split": np.array([-1, windows, heads, tokens, tokens], np.int64),
             "merge": np.array([-1, heads, tokens, tokens], np.int64)}
    if constant_mask:
        inits["window_mask"] = window_mask
    nodes = [N("Mul", ["q", "scale"], ["qs"]), N("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
             N("MatMul", ["qs", "kt"], ["raw"])]
    nodes += [N("Add", ["raw", "rel_bias"], ["scores"])] if bias else [N("Identity", ["raw"], ["scores"])]
    nodes += [N("Reshape", ["scores", "split"], ["scores5"]), N("Add", ["scores5", "window_mask"], ["masked5"]),
              N("Reshape", ["masked5", "merge"], ["masked"]), N("Softmax", ["masked"], ["probs"], axis=-1),
              N("MatMul", ["probs", "v"], ["y"])]
    inputs = [helper.make_tensor_value_info(n, F, ["bw", heads, tokens, depth]) for n in ("q", "k", "v")]
    if not constant_mask:
        inputs.append(helper.make_tensor_value_info("window_mask", F, [1, windows, 1, tokens, tokens]))
    return _model(nodes, inputs, ["y"], inits)


@pytest.mark.parametrize("bias,fp16", [(True, False), (False, False), (True, True)])
def test_shifted_window_masks_fuse_into_one_step(rng, bias, fp16):
    """The per-window mask, added in a 5-D view, and the relative position bias become one constant
    mask (windows, heads, N, N) that the fused step reads at batch entry b mod windows: no softmax
    and no reshape left (the one shuffle is k's transpose, which the step reads), and the answer of
    ONNX Runtime at 1 and 3 images from one engine."""
    model = windowed_model(bias)
    profile = {name: ((4, 2, 9, 8), (8, 2, 9, 8), (12, 2, 9, 8)) for name in ("q", "k", "v")}
    engine_bytes = build_engine(model, fp16=fp16, profiles=[profile])
    types = _layer_types(engine_bytes)
    assert [t for t in types if t != "Identity"] == ["Shuffle", "Attention"], types  # FP16: casts at the boundary
    engine = mlprt.Runtime(mlprt.Logger()).deserialize_cuda_engine(engine_bytes)
    for images in (1, 3):
        feeds = {n: rng.standard_normal((4 * images, 2, 9, 8)).astype(np.float32) for n in ("q", "k", "v")}
        report = compare_with_onnxruntime(model, engine=engine, inputs=feeds, rtol=1.0, atol=1e9)
        got, expected = report.results["y"], report.reference["y"]
        error = float(np.abs(got - expected).max()) / float(np.abs(expected).max())
        assert error <= (1e-2 if fp16 else 1e-5), f"{images} images: relative error {error:.3g}"


def test_window_masks_computed_at_run_time_stay_unfused(rng):
    """A window mask given as an input is no constant to combine with the bias: the chain keeps its
    softmax and still gives ONNX Runtime's answer."""
    model = windowed_model(bias=True, constant_mask=False)
    profile = {name: ((4, 2, 9, 8), (4, 2, 9, 8), (8, 2, 9, 8)) for name in ("q", "k", "v")}
    engine_bytes = build_engine(model, profiles=[profile])
    types = _layer_types(engine_bytes)
    assert "Attention" not in types and "Softmax" in types, types
    feeds = {n: rng.standard_normal((8, 2, 9, 8)).astype(np.float32) for n in ("q", "k", "v")}
    feeds["window_mask"] = np.where(rng.random((1, 4, 1, 9, 9)) < 0.3, -100.0, 0.0).astype(np.float32)
    engine = mlprt.Runtime(mlprt.Logger()).deserialize_cuda_engine(engine_bytes)
    report = compare_with_onnxruntime(model, engine=engine, inputs=feeds, rtol=1e-5, atol=1e-5)
    assert report.passed, report


def projected_model(bias: bool = True, shared_input: bool = True) -> bytes:
    """BERT's self-attention: x (batch, seq, 12) projected to q, k and v by three MatMuls by
    constant (12, 12) weights (and Adds of their biases), heads of 4 split and merged back.
    ``shared_input`` False: v projects another input, so the three cannot become one product."""
    rng = np.random.default_rng(11)
    inits = {"split_heads": np.array([0, 0, 3, 4], np.int64), "merge": np.array([0, 0, 12], np.int64),
             "sqrt_d": np.array(2.0, np.float32)}
    nodes = []
    for name in ("q", "k", "v"):
        inits[f"w{name}"] = rng.standard_normal((12, 12)).astype(np.float32) / 3
        source = "x" if shared_input or name != "v" else "x2"
        nodes.append(N("MatMul", [source, f"w{name}"], [f"{name}_raw" if bias else name]))
        if bias:
            inits[f"b{name}"] = rng.standard_normal((12,)).astype(np.float32)
            nodes.append(N("Add", [f"{name}_raw", f"b{name}"], [name]))
    nodes += _heads("q", "qh", [0, 2, 1, 3]) + _heads("k", "kh", [0, 2, 1, 3]) + _heads("v", "vh", [0, 2, 1, 3])
    nodes += [N("Transpose", ["kh"], ["kt"], perm=[0, 1, 3, 2]), N("MatMul", ["qh", "kt"], ["raw"]),
              N("Div", ["raw", "sqrt_d"], ["scores"]), N("Softmax", ["scores"], ["probs"], axis=-1),
              N("MatMul", ["probs", "vh"], ["context"]), N("Transpose", ["context"], ["merged_heads"], perm=[0, 2, 1, 3]),
              N("Reshape", ["merged_heads", "merge"], ["y"])]
    inputs = [helper.make_tensor_value_info("x", F, ["batch", "seq", 12])]
    if not shared_input:
        inputs.append(helper.make_tensor_value_info("x2", F, ["batch", "seq", 12]))
    return _model(nodes, inputs, ["y"], inits)


@pytest.mark.parametrize("bias,fp16", [(True, False), (False, False), (True, True)])
def test_query_key_value_projections_become_one_product(rng, bias, fp16):
    """The three projections of one input become one product (weights and biases side by side) whose
    output the attention step reads as merged q, k and v: two steps in all, ONNX Runtime's answer
    at two sequence lengths."""
    model = projected_model(bias)
    profile = {"x": ((1, 1, 12), (2, 8, 12), (3, 16, 12))}
    engine_bytes = build_engine(model, fp16=fp16, profiles=[profile])
    types = [t for t in _layer_types(engine_bytes) if t != "Identity"]  # FP16: casts at the boundary
    assert types == ["MatrixMultiply", "Attention"], types
    engine = mlprt.Runtime(mlprt.Logger()).deserialize_cuda_engine(engine_bytes)
    inspector = engine.create_engine_inspector()
    attention = next(json.loads(inspector.get_layer_information(i, mlprt.LayerInformationFormat.JSON))
                     for i in range(engine.num_layers)
                     if "Attention" in inspector.get_layer_information(i, mlprt.LayerInformationFormat.ONELINE))
    assert "merged_qkv=true" in attention["Parameters"], attention["Parameters"]
    for batch, seq in ((3, 5), (1, 16)):
        feeds = {"x": rng.standard_normal((batch, seq, 12)).astype(np.float32)}
        report = compare_with_onnxruntime(model, engine=engine, inputs=feeds, rtol=1.0, atol=1e9)
        got, expected = report.results["y"], report.reference["y"]
        error = float(np.abs(got - expected).max()) / float(np.abs(expected).max())
        assert error <= (1e-2 if fp16 else 1e-5), f"{batch}x{seq}: relative error {error:.3g}"


def test_projections_of_different_inputs_stay_apart(rng):
    model = projected_model(shared_input=False)
    profile = {name: ((1, 1, 12), (2, 8, 12), (3, 16, 12)) for name in ("x", "x2")}
    engine_bytes = build_engine(model, profiles=[profile])
    types = _layer_types(engine_bytes)
    assert types.count("MatrixMultiply") == 3 and types.count("Attention") == 1, types
    feeds = {n: rng.standard_normal((2, 7, 12)).astype(np.float32) for n in ("x", "x2")}
    engine = mlprt.Runtime(mlprt.Logger()).deserialize_cuda_engine(engine_bytes)
    assert compare_with_onnxruntime(model, engine=engine, inputs=feeds, rtol=1e-5, atol=1e-5).passed


def split_projection_model(order=("q", "k", "v")) -> bytes:
    """GPT-2's self-attention: one projection of x (batch, seq, 12) to 36 columns, Split along the
    last axis into three parts of 12, taken as q, k and v in ``order``, heads of 4."""
    rng = np.random.default_rng(12)
    inits = {"split_heads": np.array([0, 0, 3, 4], np.int64), "merge": np.array([0, 0, 12], np.int64),
             "sqrt_d": np.array(2.0, np.float32), "w": rng.standard_normal((12, 36)).astype(np.float32) / 3,
             "b": rng.standard_normal((36,)).astype(np.float32), "sizes": np.array([12, 12, 12], np.int64)}
    nodes = [N("MatMul", ["x", "w"], ["xw"]), N("Add", ["xw", "b"], ["qkv"]),
             N("Split", ["qkv", "sizes"], list(order), axis=-1)]
    nodes += _heads("q", "qh", [0, 2, 1, 3]) + _heads("k", "kh", [0, 2, 1, 3]) + _heads("v", "vh", [0, 2, 1, 3])
    nodes += [N("Transpose", ["kh"], ["kt"], perm=[0, 1, 3, 2]), N("MatMul", ["qh", "kt"], ["raw"]),
              N("Div", ["raw", "sqrt_d"], ["scores"]), N("Softmax", ["scores"], ["probs"], axis=-1),
              N("MatMul", ["probs", "vh"], ["context"]), N("Transpose", ["context"], ["merged_heads"], perm=[0, 2, 1, 3]),
              N("Reshape", ["merged_heads", "merge"], ["y"])]
    return _model(nodes, [helper.make_tensor_value_info("x", F, ["batch", "seq", 12])], ["y"], inits)


@pytest.mark.parametrize("order,merged", [(("q", "k", "v"), True), (("k", "q", "v"), False)])
def test_split_projection_is_read_in_place(rng, order, merged):
    """q, k and v as consecutive thirds of one projection (in that order) are read in place by the
    attention step, the split's copies gone; another order keeps them. ONNX Runtime's answer."""
    model = split_projection_model(order)
    profile = {"x": ((1, 1, 12), (2, 8, 12), (3, 16, 12))}
    engine_bytes = build_engine(model, profiles=[profile])
    types = _layer_types(engine_bytes)
    assert types.count("Slice") == (0 if merged else 3), types
    assert types.count("Attention") == 1 and types.count("MatrixMultiply") == 1, types
    engine = mlprt.Runtime(mlprt.Logger()).deserialize_cuda_engine(engine_bytes)
    for batch, seq in ((3, 5), (1, 16)):
        feeds = {"x": rng.standard_normal((batch, seq, 12)).astype(np.float32)}
        assert compare_with_onnxruntime(model, engine=engine, inputs=feeds, rtol=1e-5, atol=1e-5).passed, (batch, seq)
