"""Convolution and pooling layers through TensorRT's network API (add_convolution_nd,
add_pooling_nd): every case is built into an engine, run the tutorials' way, and compared with
the float64 NumPy reference of network_reference.py, on random data at awkward shapes."""
from __future__ import annotations

import json
from typing import Any, Callable, Dict, Optional, Sequence

import numpy as np
import pytest

import mlprt
from engine_helpers import RecordingLogger, build, infer, load, relative_error
import network_reference

PM = mlprt.PaddingMode
PT = mlprt.PoolingType


def _run(populate: Callable[[mlprt.INetworkDefinition], None], inputs: Dict[str, np.ndarray],
         fp16: bool = False, profiles: Sequence = ()) -> Dict[str, np.ndarray]:
    """Builds the network, runs it on `inputs`; also checks the reference on the same network."""
    logger = RecordingLogger()
    plan = build(populate, profiles=profiles, fp16=fp16, logger=logger)
    assert plan is not None, logger.errors()
    context = load(plan).create_execution_context()
    return infer(context, inputs)


def _reference(populate: Callable[[mlprt.INetworkDefinition], None], inputs: Dict[str, np.ndarray]):
    builder = mlprt.Builder(RecordingLogger())
    network = builder.create_network(0)
    populate(network)
    return network_reference.evaluate(network, inputs)


def _conv_network(x_shape, maps, kernel_shape, *, seed, groups=1, stride=None, dilation=None, pre=None,
                  post=None, mode=None, bias=True, relu=False, dynamic_batch=False):
    rng = np.random.default_rng(seed)
    channels = x_shape[1]
    kernel = rng.standard_normal((maps, channels // groups) + tuple(kernel_shape)).astype(np.float32)
    bias_values = rng.standard_normal(maps).astype(np.float32) if bias else None

    def populate(network: mlprt.INetworkDefinition) -> None:
        shape = (-1,) + tuple(x_shape[1:]) if dynamic_batch else tuple(x_shape)
        x = network.add_input("x", mlprt.DataType.FLOAT, shape)
        conv = network.add_convolution_nd(x, maps, kernel_shape, kernel, bias_values)
        conv.num_groups = groups
        if stride is not None:
            conv.stride_nd = stride
        if dilation is not None:
            conv.dilation_nd = dilation
        if pre is not None:
            conv.pre_padding = pre
        if post is not None:
            conv.post_padding = post
        if mode is not None:
            conv.padding_mode = mode
        out = conv.get_output(0)
        if relu:
            out = network.add_activation(out, mlprt.ActivationType.RELU).get_output(0)
        out.name = "y"
        network.mark_output(out)

    x = rng.standard_normal(x_shape).astype(np.float32)
    return populate, {"x": x}


CONV_CASES = [
    # (input shape, maps, kernel, keyword arguments)
    pytest.param((1, 3, 7, 9), 5, (1, 1), {}, id="1x1"),
    pytest.param((1, 3, 11, 13), 7, (3, 3), {"pre": (1, 1), "post": (1, 1), "relu": True}, id="3x3-pad1-relu"),
    pytest.param((3, 4, 13, 11), 13, (5, 5), {"pre": (2, 1), "post": (0, 2)}, id="5x5-asymmetric-pads-batch3"),
    pytest.param((2, 3, 17, 15), 6, (7, 7), {"stride": (2, 2), "pre": (3, 3), "post": (3, 3), "bias": False},
                 id="7x7-stride2-nobias"),
    pytest.param((1, 6, 12, 10), 4, (3, 3), {"groups": 2, "dilation": (2, 2), "pre": (2, 2), "post": (2, 2)},
                 id="groups2-dilation2"),
    pytest.param((1, 9, 10, 10), 9, (3, 3), {"groups": 9, "stride": (2, 1), "pre": (1, 1), "post": (1, 1)},
                 id="depthwise-stride2x1"),
    pytest.param((2, 5, 9, 8), 11, (3, 2), {"mode": PM.SAME_UPPER, "stride": (2, 3)}, id="same-upper"),
    pytest.param((1, 5, 9, 8), 3, (4, 4), {"mode": PM.SAME_LOWER}, id="same-lower-even-kernel"),
    pytest.param((1, 2, 10, 9), 3, (3, 3), {"mode": PM.EXPLICIT_ROUND_UP, "stride": (2, 2), "post": (1, 0)},
                 id="round-up"),
    pytest.param((2, 3, 23), 4, (5,), {"stride": (3,), "pre": (2,), "post": (1,), "dilation": (2,)}, id="1d"),
]


@pytest.mark.parametrize("x_shape,maps,kernel_shape,kwargs", CONV_CASES)
def test_convolution_matches_reference(x_shape, maps, kernel_shape, kwargs) -> None:
    populate, inputs = _conv_network(x_shape, maps, kernel_shape, seed=len(x_shape) * 100 + maps, **kwargs)
    expected = _reference(populate, inputs)["y"]
    got = _run(populate, inputs)["y"]
    assert got.shape == expected.shape
    assert relative_error(got, expected) <= 1e-5


@pytest.mark.parametrize("x_shape,maps,kernel_shape,kwargs", [CONV_CASES[1], CONV_CASES[5], CONV_CASES[9]])
def test_convolution_in_fp16(x_shape, maps, kernel_shape, kwargs) -> None:
    populate, inputs = _conv_network(x_shape, maps, kernel_shape, seed=7, **kwargs)
    expected = _reference(populate, inputs)["y"]
    got = _run(populate, inputs, fp16=True)["y"]
    assert relative_error(got, expected) <= 1e-2


def test_convolution_with_dynamic_batch() -> None:
    populate, _ = _conv_network((1, 3, 9, 9), 5, (3, 3), seed=3, pre=(1, 1), post=(1, 1), dynamic_batch=True,
                                relu=True)
    profile = {"x": ((1, 3, 9, 9), (2, 3, 9, 9), (5, 3, 9, 9))}
    plan = build(populate, profiles=[profile])
    context = load(plan).create_execution_context()
    rng = np.random.default_rng(5)
    for batch in (1, 5, 3):
        x = rng.standard_normal((batch, 3, 9, 9)).astype(np.float32)
        expected = _reference(populate, {"x": x})["y"]
        got = infer(context, {"x": x})["y"]
        assert got.shape == (batch, 5, 9, 9)
        assert relative_error(got, expected) <= 1e-5


def _deconv_network(x_shape, maps, kernel_shape, *, seed, groups=1, bias=True, **attributes):
    rng = np.random.default_rng(seed)
    kernel = rng.standard_normal((x_shape[1], maps // groups) + tuple(kernel_shape)).astype(np.float32)
    bias_values = rng.standard_normal(maps).astype(np.float32) if bias else None

    def populate(network: mlprt.INetworkDefinition) -> None:
        x = network.add_input("x", mlprt.DataType.FLOAT, tuple(x_shape))
        layer = network.add_deconvolution_nd(x, maps, kernel_shape, kernel, bias_values, num_groups=groups,
                                             **attributes)
        layer.get_output(0).name = "y"
        network.mark_output(layer.get_output(0))

    return populate, {"x": rng.standard_normal(x_shape).astype(np.float32)}


DECONV_CASES = [
    pytest.param((1, 3, 5, 4), 4, (3, 3), {}, id="3x3"),
    pytest.param((2, 4, 5, 7), 6, (4, 4), {"stride_nd": (2, 2), "padding_nd": (1, 1)}, id="4x4-stride2-pad1"),
    pytest.param((1, 4, 6, 5), 6, (3, 3), {"groups": 2, "stride_nd": (2, 3), "dilation_nd": (2, 1),
                                           "pre_padding": (1, 0), "post_padding": (0, 2), "output_padding": (1, 1)},
                 id="groups2-dilated-output-padding"),
    pytest.param((3, 5, 4, 4), 5, (3, 3), {"groups": 5, "stride_nd": (2, 2), "padding_mode": PM.SAME_UPPER},
                 id="depthwise-same-upper"),
    pytest.param((1, 2, 5, 5), 3, (2, 3), {"stride_nd": (2, 3), "padding_mode": PM.SAME_LOWER, "bias": False},
                 id="same-lower-nobias"),
    pytest.param((2, 3, 7), 2, (5,), {"stride_nd": (2,), "pre_padding": (2,), "post_padding": (1,)}, id="1d"),
]


@pytest.mark.parametrize("x_shape,maps,kernel_shape,kwargs", DECONV_CASES)
def test_deconvolution_matches_reference(x_shape, maps, kernel_shape, kwargs) -> None:
    populate, inputs = _deconv_network(x_shape, maps, kernel_shape, seed=maps * 7 + len(x_shape), **kwargs)
    expected = _reference(populate, inputs)["y"]
    got = _run(populate, inputs)["y"]
    assert got.shape == expected.shape
    assert relative_error(got, expected) <= 1e-5


def test_deconvolution_in_fp16() -> None:
    populate, inputs = _deconv_network((1, 4, 5, 7), 6, (4, 4), seed=11, stride_nd=(2, 2), padding_nd=(1, 1))
    expected = _reference(populate, inputs)["y"]
    assert relative_error(_run(populate, inputs, fp16=True)["y"], expected) <= 1e-2


def _pool_network(x_shape, kind, window, **attributes):
    def populate(network: mlprt.INetworkDefinition) -> None:
        x = network.add_input("x", mlprt.DataType.FLOAT, tuple(x_shape))
        pool = network.add_pooling_nd(x, kind, window)
        for name, value in attributes.items():
            setattr(pool, name, value)
        pool.get_output(0).name = "y"
        network.mark_output(pool.get_output(0))

    x = np.random.default_rng(sum(x_shape)).standard_normal(x_shape).astype(np.float32)
    return populate, {"x": x}


POOL_CASES = [
    pytest.param((1, 3, 8, 8), PT.MAX, (2, 2), {"stride_nd": (2, 2)}, id="max-2x2"),
    pytest.param((2, 5, 11, 9), PT.MAX, (3, 3), {"stride_nd": (2, 2), "padding_nd": (1, 1)}, id="max-3x3-pad"),
    pytest.param((1, 2, 10, 7), PT.MAX, (3, 2), {"stride_nd": (2, 2), "padding_mode": PM.EXPLICIT_ROUND_UP},
                 id="max-ceil"),
    pytest.param((1, 2, 9, 9), PT.MAX, (2, 2), {"dilation_nd": (2, 2)}, id="max-dilated"),
    pytest.param((3, 4, 7, 7), PT.AVERAGE, (3, 3), {"padding_nd": (1, 1)}, id="avg-excludes-padding"),
    pytest.param((3, 4, 7, 7), PT.AVERAGE, (3, 3), {"padding_nd": (1, 1), "average_count_excludes_padding": False},
                 id="avg-counts-padding"),
    pytest.param((1, 3, 10, 7), PT.AVERAGE, (3, 3),
                 {"stride_nd": (2, 2), "padding_nd": (1, 1), "padding_mode": PM.EXPLICIT_ROUND_UP,
                  "average_count_excludes_padding": False}, id="avg-ceil-counts-padding"),
    pytest.param((1, 2, 9, 8), PT.AVERAGE, (3, 3), {"stride_nd": (2, 2), "padding_mode": PM.SAME_UPPER},
                 id="avg-same-upper"),
    pytest.param((2, 3, 13), PT.MAX, (4,), {"stride_nd": (3,), "pre_padding": (1,), "post_padding": (2,)}, id="max-1d"),
]


@pytest.mark.parametrize("x_shape,kind,window,attributes", POOL_CASES)
def test_pooling_matches_reference(x_shape, kind, window, attributes) -> None:
    populate, inputs = _pool_network(x_shape, kind, window, **attributes)
    expected = _reference(populate, inputs)["y"]
    got = _run(populate, inputs)["y"]
    assert got.shape == expected.shape
    assert relative_error(got, expected) <= 1e-6


def test_pooling_in_fp16() -> None:
    populate, inputs = _pool_network((2, 3, 9, 9), PT.AVERAGE, (3, 3), stride_nd=(2, 2), padding_nd=(1, 1))
    expected = _reference(populate, inputs)["y"]
    assert relative_error(_run(populate, inputs, fp16=True)["y"], expected) <= 1e-2


def test_layer_properties_read_back_as_tensorrt_names_them() -> None:
    network = mlprt.Builder(RecordingLogger()).create_network(0)
    x = network.add_input("x", mlprt.DataType.FLOAT, (1, 4, 8, 8))
    kernel = np.ones((6, 2, 3, 3), np.float32)
    conv = network.add_convolution_nd(x, 6, (3, 3), kernel, np.zeros(6, np.float32))
    conv.num_groups = 2
    conv.padding_nd = (1, 1)
    conv.stride_nd = (2, 2)
    assert conv.type == mlprt.LayerType.CONVOLUTION
    assert isinstance(conv, mlprt.IConvolutionLayer)
    assert (conv.num_output_maps, conv.kernel_size_nd, conv.stride_nd) == (6, (3, 3), (2, 2))
    assert (conv.pre_padding, conv.post_padding, conv.padding_nd) == ((1, 1), (1, 1), (1, 1))
    assert conv.padding_mode == PM.EXPLICIT_ROUND_DOWN and conv.num_groups == 2
    assert conv.kernel.shape == (6, 2, 3, 3) and conv.bias.shape == (6,)
    assert conv.get_output(0).shape == (1, 6, 4, 4)
    pool = network.add_pooling_nd(conv.get_output(0), PT.AVERAGE, (2, 2))
    # As in TensorRT, IPoolingLayer.type is the pooling type (IActivationLayer.type likewise).
    assert pool.type == PT.AVERAGE and pool.average_count_excludes_padding
    pool.stride_nd = (2, 2)
    assert pool.get_output(0).shape == (1, 6, 2, 2)


@pytest.mark.parametrize("change,message", [
    (lambda conv: setattr(conv, "num_groups", 3), "not divisible by num_groups"),
    (lambda conv: setattr(conv, "stride_nd", (0, 1)), "stride 0 must be at least 1"),
    (lambda conv: setattr(conv, "dilation_nd", (9, 9)), "is larger than the padded input"),
    (lambda conv: setattr(conv, "pre_padding", (-1, 0)), "pre_padding -1 must be at least 0"),
    (lambda conv: setattr(conv, "stride_nd", (1, 1, 1)), "stride has 3 entries for 2 spatial axes"),
])
def test_bad_convolution_attributes_name_the_layer(change, message) -> None:
    network = mlprt.Builder(RecordingLogger()).create_network(0)
    x = network.add_input("x", mlprt.DataType.FLOAT, (1, 4, 8, 8))
    conv = network.add_convolution_nd(x, 4, (3, 3), np.ones((4, 4, 3, 3), np.float32))
    conv.name = "conv7"
    with pytest.raises(ValueError, match=message) as error:
        change(conv)
    assert "conv7" in str(error.value)
    assert conv.get_output(0).shape == (1, 4, 6, 6)  # the layer kept its last good parameters


def test_kernel_that_disagrees_with_the_input_is_refused() -> None:
    network = mlprt.Builder(RecordingLogger()).create_network(0)
    x = network.add_input("x", mlprt.DataType.FLOAT, (1, 4, 8, 8))
    with pytest.raises(ValueError, match=r"kernel weights have shape \(2, 8, 3, 3\) but the attributes need "
                                         r"\(2, 4, 3, 3\)"):
        network.add_convolution_nd(x, 2, (3, 3), np.ones((2, 8, 3, 3), np.float32))
    with pytest.raises(ValueError, match="are not 5 output maps"):
        network.add_convolution_nd(x, 5, (3, 3), np.ones(7, np.float32))
    # Extents whose product overflows 64 bits (to 0: a division by zero, a fuzzed ConvTranspose
    # found it) are refused by name, the process usable after.
    for add in (network.add_convolution_nd, network.add_deconvolution_nd):
        with pytest.raises(ValueError, match=r"the kernel's 8 values are not \d+ (output maps|input channels)"):
            add(x, 2, (1 << 32, 1 << 32), np.ones(8, np.float32))
    with pytest.raises(ValueError, match="needs an input of rank 3 or 4"):
        y = network.add_input("y", mlprt.DataType.FLOAT, (1, 4, 4, 4, 4))
        network.add_pooling_nd(y, PT.MAX, (2, 2, 2))


def test_scale_shift_and_activation_fold_into_the_convolution() -> None:
    """BatchNormalization after a convolution (a per-map scale and shift) and the activation after
    it leave one convolution step, with the same results."""
    rng = np.random.default_rng(21)
    kernel = rng.standard_normal((6, 3, 3, 3)).astype(np.float32)
    bias = rng.standard_normal(6).astype(np.float32)
    scale = rng.uniform(0.5, 2.0, (1, 6, 1, 1)).astype(np.float32)
    shift = rng.standard_normal((6, 1, 1)).astype(np.float32)

    def populate(network: mlprt.INetworkDefinition) -> None:
        x = network.add_input("x", mlprt.DataType.FLOAT, (2, 3, 9, 8))
        conv = network.add_convolution_nd(x, 6, (3, 3), kernel, bias, padding_nd=(1, 1))
        scaled = network.add_elementwise(conv.get_output(0), network.add_constant(scale.shape, scale).get_output(0),
                                         mlprt.ElementWiseOperation.PROD)
        shifted = network.add_elementwise(network.add_constant(shift.shape, shift).get_output(0),
                                          scaled.get_output(0), mlprt.ElementWiseOperation.SUM)
        relu = network.add_activation(shifted.get_output(0), mlprt.ActivationType.RELU)
        relu.get_output(0).name = "y"
        network.mark_output(relu.get_output(0))

    x = rng.standard_normal((2, 3, 9, 8)).astype(np.float32)
    expected = _reference(populate, {"x": x})["y"]
    engine = load(build(populate))
    assert engine.num_layers == 1, engine.create_engine_inspector().get_engine_information(
        mlprt.LayerInformationFormat.ONELINE)
    got = infer(engine.create_execution_context(), {"x": x})["y"]
    assert relative_error(got, expected) <= 1e-5
    layer = json.loads(engine.create_engine_inspector().get_layer_information(0, mlprt.LayerInformationFormat.JSON))
    assert layer["LayerType"] == "Convolution" and layer["Epilogue"] == "RELU"
    assert layer["TacticName"].startswith(("direct_m", "igemm_t"))
    assert "num_output_maps=6 kernel_size_nd=(3, 3)" in layer["Parameters"]


@pytest.mark.parametrize("data_type", [mlprt.DataType.FLOAT, mlprt.DataType.HALF])
def test_residual_add_and_activation_fuse_into_a_convolution(data_type) -> None:
    """A ResNet block's relu(conv(x) + x) is one step; and in relu(conv1(x) + conv2(x)) the Add
    goes into conv2, the convolution that runs when both operands exist."""
    rng = np.random.default_rng(33)
    dtype = mlprt.nptype(data_type)
    k1, k2 = ((rng.standard_normal((5, 5, 3, 3)) / 6).astype(dtype) for _ in range(2))
    b1 = rng.standard_normal(5).astype(dtype)

    def identity_block(network: mlprt.INetworkDefinition) -> None:
        x = network.add_input("x", data_type, (3, 5, 7, 6))
        conv = network.add_convolution_nd(x, 5, (3, 3), k1, b1, padding_nd=(1, 1))
        total = network.add_elementwise(x, conv.get_output(0), mlprt.ElementWiseOperation.SUM)
        relu = network.add_activation(total.get_output(0), mlprt.ActivationType.RELU)
        relu.get_output(0).name = "y"
        network.mark_output(relu.get_output(0))

    def two_branches(network: mlprt.INetworkDefinition) -> None:
        x = network.add_input("x", data_type, (3, 5, 7, 6))
        first = network.add_convolution_nd(x, 5, (3, 3), k1, b1, padding_nd=(1, 1))
        second = network.add_convolution_nd(x, 5, (3, 3), k2, padding_nd=(1, 1))
        total = network.add_elementwise(first.get_output(0), second.get_output(0), mlprt.ElementWiseOperation.SUM)
        relu = network.add_activation(total.get_output(0), mlprt.ActivationType.RELU)
        relu.get_output(0).name = "y"
        network.mark_output(relu.get_output(0))

    x = rng.standard_normal((3, 5, 7, 6)).astype(dtype)
    for populate, steps in ((identity_block, 1), (two_branches, 2)):
        expected = _reference(populate, {"x": x})["y"]
        engine = load(build(populate))
        inspector = engine.create_engine_inspector()
        names = [json.loads(inspector.get_layer_information(i, mlprt.LayerInformationFormat.JSON))["Name"]
                 for i in range(engine.num_layers)]
        assert len(names) == steps and "ElementWise" in names[-1] and "Activation" in names[-1], names
        last = json.loads(inspector.get_layer_information(steps - 1, mlprt.LayerInformationFormat.JSON))
        assert last["Epilogue"] == "residual + RELU", last
        got = infer(engine.create_execution_context(), {"x": x})["y"]
        assert relative_error(got.astype(np.float32), expected) <= (1e-5 if data_type == mlprt.DataType.FLOAT else 1e-2)


@pytest.mark.parametrize("data_type", [mlprt.DataType.FLOAT, mlprt.DataType.HALF])
def test_residual_add_after_an_activation_fuses_into_the_convolution(data_type) -> None:
    """YOLO's bottleneck, x + silu(conv2(silu(conv1(x)))), is two steps: the Add goes into conv2,
    after its activation; where the activated output has another reader, the Add stays a step."""
    rng = np.random.default_rng(34)
    dtype = mlprt.nptype(data_type)
    k1, k2 = ((rng.standard_normal((6, 6, 3, 3)) / 6).astype(dtype) for _ in range(2))
    b1, b2 = (rng.standard_normal(6).astype(dtype) for _ in range(2))

    def bottleneck(second_reader: bool):
        def populate(network: mlprt.INetworkDefinition) -> None:
            x = network.add_input("x", data_type, (2, 6, 9, 5))
            h = x
            for kernel, bias in ((k1, b1), (k2, b2)):
                conv = network.add_convolution_nd(h, 6, (3, 3), kernel, bias, padding_nd=(1, 1)).get_output(0)
                gate = network.add_activation(conv, mlprt.ActivationType.SIGMOID).get_output(0)
                h = network.add_elementwise(conv, gate, mlprt.ElementWiseOperation.PROD).get_output(0)
            y = network.add_elementwise(x, h, mlprt.ElementWiseOperation.SUM).get_output(0)
            y.name = "y"
            network.mark_output(y)
            if second_reader:
                h.name = "h"
                network.mark_output(h)
        return populate

    x = rng.standard_normal((2, 6, 9, 5)).astype(dtype)
    for second_reader, steps in ((False, 2), (True, 3)):
        populate = bottleneck(second_reader)
        expected = _reference(populate, {"x": x})
        engine = load(build(populate))
        inspector = engine.create_engine_inspector()
        info = [json.loads(inspector.get_layer_information(i, mlprt.LayerInformationFormat.JSON))
                for i in range(engine.num_layers)]
        assert len(info) == steps, [layer["Name"] for layer in info]
        if not second_reader:
            assert info[-1]["LayerType"] == "Convolution" and info[-1]["Epilogue"] == "SILU + residual", info[-1]
        got = infer(engine.create_execution_context(), {"x": x})
        for name, value in expected.items():
            assert relative_error(got[name].astype(np.float32), value) <= (1e-5 if data_type == mlprt.DataType.FLOAT
                                                                           else 1e-2), name


@pytest.mark.parametrize("data_type", [mlprt.DataType.FLOAT, mlprt.DataType.HALF])
def test_sigmoid_times_input_becomes_a_silu_in_the_convolution(data_type) -> None:
    """YOLO's Conv + SiLU as exported (x * Sigmoid(x), in either operand order) is one step whose
    epilogue is SILU; a sigmoid that is also read elsewhere stays a layer of its own; the matrix
    multiplication takes the SiLU too. Results match the layer-by-layer reference."""
    rng = np.random.default_rng(41)
    dtype = mlprt.nptype(data_type)
    kernel = (rng.standard_normal((7, 3, 3, 3)) / 4).astype(dtype)
    bias = rng.standard_normal(7).astype(dtype)
    weights = (rng.standard_normal((11, 5)) / 3).astype(dtype)

    def conv_silu(gate_first: bool, sigmoid_is_output: bool):
        def populate(network: mlprt.INetworkDefinition) -> None:
            x = network.add_input("x", data_type, (2, 3, 9, 7))
            conv = network.add_convolution_nd(x, 7, (3, 3), kernel, bias, padding_nd=(1, 1)).get_output(0)
            gate = network.add_activation(conv, mlprt.ActivationType.SIGMOID).get_output(0)
            operands = (gate, conv) if gate_first else (conv, gate)
            y = network.add_elementwise(*operands, mlprt.ElementWiseOperation.PROD).get_output(0)
            y.name = "y"
            network.mark_output(y)
            if sigmoid_is_output:
                gate.name = "gate"
                network.mark_output(gate)
        return populate

    def matmul_silu(network: mlprt.INetworkDefinition) -> None:
        x = network.add_input("x", data_type, (4, 11))
        w = network.add_constant(weights.shape, weights).get_output(0)
        h = network.add_matrix_multiply(x, mlprt.MatrixOperation.NONE, w, mlprt.MatrixOperation.NONE).get_output(0)
        gate = network.add_activation(h, mlprt.ActivationType.SIGMOID).get_output(0)
        y = network.add_elementwise(h, gate, mlprt.ElementWiseOperation.PROD).get_output(0)
        y.name = "y"
        network.mark_output(y)

    tolerance = 1e-5 if data_type == mlprt.DataType.FLOAT else 1e-2
    x = rng.standard_normal((2, 3, 9, 7)).astype(dtype)
    for populate, layers in ((conv_silu(True, False), 1), (conv_silu(False, False), 1), (conv_silu(False, True), 3)):
        expected = _reference(populate, {"x": x})
        engine = load(build(populate))
        inspector = engine.create_engine_inspector()
        info = [json.loads(inspector.get_layer_information(i, mlprt.LayerInformationFormat.JSON))
                for i in range(engine.num_layers)]
        assert len(info) == layers, [layer["Name"] for layer in info]
        if layers == 1:
            assert info[0]["LayerType"] == "Convolution" and info[0]["Epilogue"] == "SILU", info[0]
        got = infer(engine.create_execution_context(), {"x": x})
        for name, value in expected.items():
            assert relative_error(got[name].astype(np.float32), value) <= tolerance, name
    x2 = rng.standard_normal((4, 11)).astype(dtype)
    engine = load(build(matmul_silu))
    assert engine.num_layers == 1
    layer = json.loads(engine.create_engine_inspector().get_layer_information(0, mlprt.LayerInformationFormat.JSON))
    assert "SILU" in layer["Epilogue"], layer
    got = infer(engine.create_execution_context(), {"x": x2})["y"]
    assert relative_error(got.astype(np.float32), _reference(matmul_silu, {"x": x2})["y"]) <= tolerance


@pytest.mark.parametrize("window", [1, 3, 4])
def test_lrn_matches_reference(window: int) -> None:
    def populate(network: mlprt.INetworkDefinition) -> None:
        x = network.add_input("x", mlprt.DataType.FLOAT, (2, 7, 3, 5))
        layer = network.add_lrn(x, window, 2e-2, 0.75, 1.5)
        assert (layer.window_size, layer.beta) == (window, 0.75)
        layer.get_output(0).name = "y"
        network.mark_output(layer.get_output(0))

    x = np.random.default_rng(window).standard_normal((2, 7, 3, 5)).astype(np.float32) * 3
    expected = _reference(populate, {"x": x})["y"]
    assert relative_error(_run(populate, {"x": x})["y"], expected) <= 1e-5


@pytest.mark.parametrize("p", [1, 2, 3])
def test_lp_pool_matches_onnxruntime(p: int, tmp_path) -> None:
    """LpPool, composed as an average pool of |x|^p (padding counted) times the window's size."""
    import onnxruntime
    from onnx import TensorProto, helper
    from mlprt.engine_tools import build_engine
    node = helper.make_node("LpPool", ["x"], ["y"], p=p, kernel_shape=[3, 2], strides=[2, 1], pads=[1, 0, 1, 1])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 7, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    x = np.random.default_rng(p).standard_normal((2, 3, 7, 5)).astype(np.float32)
    expected = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"x": x})[0]
    path = tmp_path / "lppool.onnx"
    path.write_bytes(model.SerializeToString())
    got = infer(load(build_engine(str(path), logger=RecordingLogger())).create_execution_context(), {"x": x})["y"]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
