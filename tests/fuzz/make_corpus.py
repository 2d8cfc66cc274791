"""Remakes the fuzzing seed corpus: small ONNX models (tests/fuzz/corpus/onnx) and the engines
mlprt builds from them (tests/fuzz/corpus/engine).

    python tests/fuzz/make_corpus.py [--out tests/fuzz/corpus]

The models are written with onnx.helper from fixed-seed weights, so the ONNX seeds come out the
same every time; the engines hold the device they were built on and its compiled programs, so
they differ between machines (the fuzzers do not depend on that: the C++ target never loads an
engine onto a device, and fuzz_deserialize.py rewrites each seed's device record to the device it
runs on). The program binaries are emptied (engine_file.without_binaries) to keep the seeds small:
they are opaque bytes to the reader, and the runtime compiles such kernels from source. Files
named finding-* are inputs the fuzzers once failed on, kept as seeds; this script leaves them be. Between them the networks use every layer kind the builder emits: matrix multiplies
with bias/activation epilogues, fused MLPs, element-wise, activation, unary, shuffle, softmax,
reduce, normalization, concatenation and identity layers; convolution, deconvolution, pooling,
resize, slice (with a sample mode) and LRN layers; attention (packed heads), axis ranges, a
normalization with a residual, GELU (tanh) epilogues, cumulative (sums and products) and scatter
layers; channels-last convolutions and reformat steps; static and
dynamic shapes; one and two optimization profiles; FP32 and FP16.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from engine_file import without_binaries

Shape = Tuple[int, ...]
ProfileSpec = Dict[str, Tuple[Shape, Shape, Shape]]
OPSET = 17


def _weights(rng: np.random.Generator, name: str, shape: Shape) -> onnx.TensorProto:
    return numpy_helper.from_array((rng.standard_normal(shape) * 0.1).astype(np.float32), name)


def _model(nodes: List[onnx.NodeProto], inputs: List[onnx.ValueInfoProto], outputs: List[onnx.ValueInfoProto],
           initializers: List[onnx.TensorProto], name: str, opset: int = OPSET) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, name, inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="mlprt-fuzz")
    model.ir_version = 8 if opset == OPSET else 12
    onnx.checker.check_model(model)
    return model


def tutorial_mlp() -> onnx.ModelProto:
    """The tutorial's SimpleMLP 784-32-10 as torch exports it: Gemm (transB) + Relu + Gemm, dynamic batch."""
    rng = np.random.default_rng(1)
    nodes = [
        helper.make_node("Gemm", ["input", "fc1.weight", "fc1.bias"], ["h"], name="/fc1/Gemm", transB=1),
        helper.make_node("Relu", ["h"], ["a"], name="/relu/Relu"),
        helper.make_node("Gemm", ["a", "fc2.weight", "fc2.bias"], ["output"], name="/fc2/Gemm", transB=1),
    ]
    inits = [_weights(rng, "fc1.weight", (32, 784)), _weights(rng, "fc1.bias", (32,)),
             _weights(rng, "fc2.weight", (10, 32)), _weights(rng, "fc2.bias", (10,))]
    return _model(nodes, [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 784])],
                  [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 10])], inits, "tutorial_mlp")


def small_mlp() -> onnx.ModelProto:
    """A static 16-12-8-4 MLP from MatMul + Add with three activations (the fused-MLP pattern)."""
    rng = np.random.default_rng(2)
    nodes, inits, x = [], [], "x"
    widths = [16, 12, 8, 4]
    for i, (k, n) in enumerate(zip(widths, widths[1:])):
        inits += [_weights(rng, f"w{i}", (k, n)), _weights(rng, f"b{i}", (n,))]
        nodes += [helper.make_node("MatMul", [x, f"w{i}"], [f"m{i}"], name=f"matmul{i}"),
                  helper.make_node("Add", [f"m{i}", f"b{i}"], [f"z{i}"], name=f"bias{i}")]
        act = ["Relu", "Tanh", "Sigmoid"][i]
        x = "y" if i == len(widths) - 2 else f"a{i}"
        nodes.append(helper.make_node(act, [f"z{i}"], [x], name=f"act{i}"))
    return _model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 16])],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])], inits, "small_mlp")


def layer_mix() -> onnx.ModelProto:
    """Two inputs, two outputs and one node of most supported kinds, on a dynamic batch."""
    rng = np.random.default_rng(3)
    inits = [_weights(rng, "scale", (8,)), _weights(rng, "ln_scale", (8,)), _weights(rng, "ln_bias", (8,)),
             _weights(rng, "w", (16, 6)),
             numpy_helper.from_array(np.array([-1, 2, 4], np.int64), "shape3"),
             numpy_helper.from_array(np.array([1], np.int64), "axis1"),
             numpy_helper.from_array(np.array(-2.0, np.float32), "lo"),
             numpy_helper.from_array(np.array(2.0, np.float32), "hi")]
    n = helper.make_node
    nodes = [
        n("Mul", ["x", "scale"], ["scaled"], name="mul"),
        n("Sigmoid", ["scaled"], ["sig"], name="sigmoid"),
        n("LeakyRelu", ["z"], ["leaky"], name="leaky", alpha=0.1),
        n("Add", ["sig", "leaky"], ["sum"], name="add"),
        n("Abs", ["sum"], ["abs"], name="abs"),
        n("Neg", ["abs"], ["neg"], name="neg"),
        n("Exp", ["neg"], ["exp"], name="exp"),
        n("Sqrt", ["exp"], ["sqrt"], name="sqrt"),
        n("Softmax", ["sqrt"], ["soft"], name="softmax", axis=-1),
        n("ReduceSum", ["soft", "axis1"], ["rsum"], name="reduce", keepdims=1),
        n("Div", ["soft", "rsum"], ["norm"], name="div"),
        n("LayerNormalization", ["norm", "ln_scale", "ln_bias"], ["ln"], name="layernorm", axis=-1, epsilon=1e-5),
        n("Reshape", ["ln", "shape3"], ["r3"], name="reshape"),
        n("Transpose", ["r3"], ["t3"], name="transpose", perm=[0, 2, 1]),
        n("Flatten", ["t3"], ["flat"], name="flatten", axis=1),
        n("Concat", ["flat", "z"], ["cat"], name="concat", axis=1),
        n("MatMul", ["cat", "w"], ["mm"], name="matmul"),
        n("Clip", ["mm", "lo", "hi"], ["y"], name="clip"),
        n("Cast", ["leaky"], ["half"], name="to_half", to=TensorProto.FLOAT16),
        n("Erf", ["half"], ["erf"], name="erf"),
        n("Cast", ["erf"], ["y2"], name="to_float", to=TensorProto.FLOAT),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8]),
              helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 8])]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 6]),
               helper.make_tensor_value_info("y2", TensorProto.FLOAT, ["batch", 8])]
    return _model(nodes, inputs, outputs, inits, "layer_mix")


def shape_ops() -> onnx.ModelProto:
    """Shape arithmetic folded at parse time: Shape -> Gather -> Concat -> Reshape, Unsqueeze/Squeeze."""
    n = helper.make_node
    inits = [numpy_helper.from_array(np.array(0, np.int64), "zero"),
             numpy_helper.from_array(np.array([-1], np.int64), "minus1"),
             numpy_helper.from_array(np.array([0], np.int64), "axes0")]
    nodes = [
        n("Shape", ["x"], ["shape"], name="shape"),
        n("Gather", ["shape", "zero"], ["batch"], name="gather", axis=0),
        n("Unsqueeze", ["batch", "axes0"], ["batch1"], name="unsqueeze"),
        n("Concat", ["batch1", "minus1"], ["target"], name="concat", axis=0),
        n("Reshape", ["x", "target"], ["flat"], name="reshape"),
        n("Tanh", ["flat"], ["y"], name="tanh"),
    ]
    return _model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 4])],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 12])], inits, "shape_ops")


def recent_ops() -> onnx.ModelProto:
    """Operators of recent opsets (26): CumProd (exclusive, reverse; float and int64 lines) and
    CenterCropPad (a crop and a pad in one FILL-mode slice)."""
    n = helper.make_node
    inits = [numpy_helper.from_array(np.array(1, np.int64), "axis1"),
             numpy_helper.from_array(np.array(0, np.int64), "axis0"),
             numpy_helper.from_array(np.array([3, 9], np.int64), "target")]
    nodes = [
        n("CumProd", ["x", "axis1"], ["products"], name="cumprod", exclusive=1),
        n("CenterCropPad", ["products", "target"], ["y"], name="center_crop_pad", axes=[1, 2]),
        n("CumProd", ["counts", "axis0"], ["z"], name="cumprod_ints", reverse=1),
    ]
    return _model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 5, 6]),
                          helper.make_tensor_value_info("counts", TensorProto.INT64, [7])],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3, 9]),
                   helper.make_tensor_value_info("z", TensorProto.INT64, [7])], inits, "recent_ops", opset=26)


def vision_mix() -> onnx.ModelProto:
    """The convolutional layers: grouped strided Conv, ceil-mode MaxPool, ConvTranspose, linear
    Resize, reflect Pad, LRN, AveragePool, Slice, Split, Concat, TopK and GlobalAveragePool."""
    rng = np.random.default_rng(11)
    n = helper.make_node
    inits = [_weights(rng, "w1", (8, 2, 3, 3)), _weights(rng, "b1", (8,)), _weights(rng, "wt", (8, 4, 2, 2)),
             numpy_helper.from_array(np.array([1, 1, 1.5, 1.5], np.float32), "scales"),
             numpy_helper.from_array(np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64), "pads"),
             numpy_helper.from_array(np.array([0, 0], np.int64), "starts"),
             numpy_helper.from_array(np.array([3, 5], np.int64), "ends"),
             numpy_helper.from_array(np.array([1, 2], np.int64), "axes"),
             numpy_helper.from_array(np.array([1, 2], np.int64), "split"),
             numpy_helper.from_array(np.array([2], np.int64), "k")]
    nodes = [
        n("Conv", ["x", "w1", "b1"], ["c1"], name="conv", group=2, strides=[2, 1], pads=[1, 1, 1, 1]),
        n("Relu", ["c1"], ["r1"], name="relu"),
        n("MaxPool", ["r1"], ["p1"], name="maxpool", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
        n("ConvTranspose", ["p1", "wt"], ["t1"], name="deconv", strides=[2, 2]),
        n("Resize", ["t1", "", "scales"], ["z1"], name="resize", mode="linear"),
        n("Pad", ["z1", "pads"], ["q1"], name="pad", mode="reflect"),
        n("LRN", ["q1"], ["l1"], name="lrn", size=3),
        n("AveragePool", ["l1"], ["a1"], name="avgpool", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        n("Slice", ["a1", "starts", "ends", "axes"], ["s1"], name="slice"),
        n("Split", ["s1", "split"], ["u1", "u2"], name="split", axis=1),
        n("Concat", ["u2", "u1"], ["k1"], name="concat", axis=1),
        n("TopK", ["k1", "k"], ["v1", "i1"], name="topk", axis=1),
        n("GlobalAveragePool", ["v1"], ["y"], name="gap"),
    ]
    return _model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4, 9, 7])],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2, 1, 1])], inits, "vision_mix")


def transformer_mix() -> onnx.ModelProto:
    """A transformer block at a dynamic batch and sequence: token and position embeddings (Range
    over the run-time length: an axis range), q/k/v projections split into heads and a masked
    softmax attention (one fused step reading packed heads), the residual Add into LayerNorm, an
    MLP with GELU in its tanh form, CumSum and ScatterElements on the result."""
    rng = np.random.default_rng(13)
    n = helper.make_node
    width, heads = 8, 2
    inits = [_weights(rng, "tokens", (11, width)), _weights(rng, "positions", (16, width)),
             _weights(rng, "wq", (width, width)), _weights(rng, "wk", (width, width)),
             _weights(rng, "wv", (width, width)), _weights(rng, "w1", (width, 12)), _weights(rng, "w2", (12, width)),
             numpy_helper.from_array(np.ones(width, np.float32), "gamma"),
             numpy_helper.from_array(np.zeros(width, np.float32), "beta"),
             numpy_helper.from_array(np.array([0, 0, heads, width // heads], np.int64), "split_heads"),
             numpy_helper.from_array(np.array([0, 0, width], np.int64), "merge_heads"),
             numpy_helper.from_array(np.array(0, np.int64), "zero_i"),
             numpy_helper.from_array(np.array(1, np.int64), "one_i"),
             numpy_helper.from_array(np.array(1, np.int64), "axis1"),
             numpy_helper.from_array(np.array([1, 2], np.int64), "axes12"),
             numpy_helper.from_array(np.array(np.sqrt(width // heads), np.float32), "root"),
             numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
             numpy_helper.from_array(np.array(-1e9, np.float32), "minus_big"),
             numpy_helper.from_array(np.array(0.5, np.float32), "half"),
             numpy_helper.from_array(np.array(1.0, np.float32), "one"),
             numpy_helper.from_array(np.array(3.0, np.float32), "three"),
             numpy_helper.from_array(np.array(0.044715, np.float32), "c"),
             numpy_helper.from_array(np.array(np.sqrt(2 / np.pi), np.float32), "gelu_scale"),
             numpy_helper.from_array(np.zeros((1, 1, width), np.int64), "scatter_at"),
             numpy_helper.from_array(np.ones((1, 1, width), np.float32), "scatter_values")]
    nodes = [
        n("Gather", ["tokens", "ids"], ["embedded"], name="embed"),
        n("Shape", ["ids"], ["ids_shape"], name="shape"),
        n("Gather", ["ids_shape", "one_i"], ["length"], name="length", axis=0),
        n("Range", ["zero_i", "length", "one_i"], ["position_ids"], name="range"),
        n("Gather", ["positions", "position_ids"], ["placed"], name="place"),
        n("Add", ["embedded", "placed"], ["x"], name="add_positions"),
    ]
    for name, weights in (("q", "wq"), ("k", "wk"), ("v", "wv")):
        nodes += [n("MatMul", ["x", weights], [name], name=f"{name}_proj"),
                  n("Reshape", [name, "split_heads"], [f"{name}_split"], name=f"{name}_split"),
                  n("Transpose", [f"{name}_split"], [f"{name}_heads"], name=f"{name}_heads",
                    perm=[0, 2, 3, 1] if name == "k" else [0, 2, 1, 3])]
    nodes += [
        n("MatMul", ["q_heads", "k_heads"], ["raw"], name="scores"),
        n("Div", ["raw", "root"], ["scaled"], name="scale"),
        n("Unsqueeze", ["mask", "axes12"], ["mask4"], name="mask4"),
        n("Cast", ["mask4"], ["allowed"], name="allowed", to=TensorProto.BOOL),
        n("Where", ["allowed", "zero", "minus_big"], ["bias"], name="bias"),
        n("Add", ["scaled", "bias"], ["biased"], name="biased"),
        n("Softmax", ["biased"], ["probs"], name="softmax", axis=-1),
        n("MatMul", ["probs", "v_heads"], ["context"], name="context"),
        n("Transpose", ["context"], ["context_t"], name="context_t", perm=[0, 2, 1, 3]),
        n("Reshape", ["context_t", "merge_heads"], ["attended"], name="merge"),
        n("Add", ["x", "attended"], ["residual"], name="residual"),
        n("LayerNormalization", ["residual", "gamma", "beta"], ["normed"], name="norm", axis=-1),
        n("MatMul", ["normed", "w1"], ["h"], name="fc1"),
        n("Mul", ["h", "half"], ["hh"], name="gelu_half"), n("Pow", ["h", "three"], ["h3"], name="gelu_cube"),
        n("Mul", ["h3", "c"], ["ch3"], name="gelu_c"), n("Add", ["h", "ch3"], ["inner"], name="gelu_inner"),
        n("Mul", ["inner", "gelu_scale"], ["ks"], name="gelu_k"), n("Tanh", ["ks"], ["t"], name="gelu_tanh"),
        n("Add", ["t", "one"], ["t1"], name="gelu_one"), n("Mul", ["hh", "t1"], ["gelu"], name="gelu"),
        n("MatMul", ["gelu", "w2"], ["mlp"], name="fc2"),
        n("CumSum", ["mlp", "axis1"], ["running"], name="cumsum"),
        n("ScatterElements", ["running", "scatter_at", "scatter_values"], ["y"], name="scatter", axis=1),
    ]
    inputs = [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "sequence"]),
              helper.make_tensor_value_info("mask", TensorProto.INT64, ["batch", "sequence"])]
    output = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "sequence", width])
    return _model(nodes, inputs, [output], inits, "transformer_mix")


def build_engine(model: onnx.ModelProto, profiles: Sequence[ProfileSpec], fp16: bool = False,
                 channels_last: Optional[bool] = None) -> bytes:
    """Parses and builds `model` with mlprt; the engine's bytes. ``channels_last``: force the
    convolutions' layout (MLPRT_CHANNELS_LAST) instead of timing it."""
    import os

    import mlprt

    if channels_last is not None:
        os.environ["MLPRT_CHANNELS_LAST"] = "1" if channels_last else "0"

    logger = mlprt.Logger(mlprt.Logger.WARNING)
    builder = mlprt.Builder(logger)
    network = builder.create_network(1 << int(mlprt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = mlprt.OnnxParser(network, logger)
    if not parser.parse(model.SerializeToString()):
        raise SystemExit("\n".join(str(parser.get_error(i)) for i in range(parser.num_errors)))
    config = builder.create_builder_config()
    if fp16:
        config.set_flag(mlprt.BuilderFlag.FP16)
    for spec in profiles:
        profile = builder.create_optimization_profile()
        for name, (lo, opt, hi) in spec.items():
            profile.set_shape(name, lo, opt, hi)
        config.add_optimization_profile(profile)
    plan = builder.build_serialized_network(network, config)
    os.environ.pop("MLPRT_CHANNELS_LAST", None)
    if plan is None:
        raise SystemExit(f"building {model.graph.name} failed")
    return bytes(plan)


def engines(models: Dict[str, onnx.ModelProto]) -> Dict[str, bytes]:
    """The engine seeds: each model built once, some twice (FP16, two profiles)."""
    batch = lambda *rest: (((1,) + rest), ((4,) + rest), ((8,) + rest))  # noqa: E731
    small, large = ((1, 8), (2, 8), (4, 8)), ((4, 8), (8, 8), (16, 8))
    two = [{"x": small, "z": small}, {"x": large, "z": large}]
    text = ((1, 1), (2, 8), (4, 16))
    return {
        "tutorial_mlp.engine": build_engine(models["tutorial_mlp"], [{"input": batch(784)}]),
        # A wide profile: its products keep tactic ranges (format 11's STEP trailer).
        "tutorial_mlp_ranges.engine": build_engine(models["tutorial_mlp"],
                                                   [{"input": ((1, 784), (256, 784), (2048, 784))}]),
        "small_mlp.engine": build_engine(models["small_mlp"], []),
        "small_mlp_fp16.engine": build_engine(models["small_mlp"], [], fp16=True),
        "layer_mix_two_profiles.engine": build_engine(models["layer_mix"], two),
        "shape_ops.engine": build_engine(models["shape_ops"], [{"x": batch(3, 4)}]),
        "vision_mix.engine": build_engine(models["vision_mix"], [{"x": batch(4, 9, 7)}], channels_last=False),
        # Its convolutions channels-last, with the reformat steps between layouts (format 13).
        "vision_mix_hwc.engine": build_engine(models["vision_mix"], [{"x": batch(4, 9, 7)}], fp16=True,
                                              channels_last=True),
        # Its three projections become one product read as merged q, k and v (format 12).
        "transformer_mix.engine": build_engine(models["transformer_mix"], [{"ids": text, "mask": text}]),
        "recent_ops.engine": build_engine(models["recent_ops"], [{"x": batch(5, 6)}]),
    }


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "corpus",
                        help="corpus directory (onnx/ and engine/ are written under it)")
    args = parser.parse_args(argv)
    models = {"tutorial_mlp": tutorial_mlp(), "small_mlp": small_mlp(), "layer_mix": layer_mix(),
              "shape_ops": shape_ops(), "vision_mix": vision_mix(), "transformer_mix": transformer_mix(),
              "recent_ops": recent_ops()}
    (args.out / "onnx").mkdir(parents=True, exist_ok=True)
    (args.out / "engine").mkdir(parents=True, exist_ok=True)
    for name, model in models.items():
        path = args.out / "onnx" / f"{name}.onnx"
        path.write_bytes(model.SerializeToString())
        print(f"{path}: {path.stat().st_size} bytes")
    for name, data in engines(models).items():
        path = args.out / "engine" / name
        path.write_bytes(without_binaries(data))
        print(f"{path}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
