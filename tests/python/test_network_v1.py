"""TensorRT 7/8's network-definition calls (mlprt.network_v1): a network-API tutorial's model built
with them runs and matches PyTorch; each call's bad input is refused by name."""
from __future__ import annotations

from typing import Dict

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import mlprt
from engine_helpers import RecordingLogger, infer, load

EXPLICIT_BATCH = 1 << int(mlprt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)


def mnist_weights(seed: int) -> Dict[str, torch.Tensor]:
    """The sample's model (conv 20@5x5, max pool, conv 50@5x5, max pool, fc 500, relu, fc 10) with
    random weights, as its state_dict."""
    g = torch.Generator().manual_seed(seed)
    shapes = {"conv1.weight": (20, 1, 5, 5), "conv1.bias": (20,), "conv2.weight": (50, 20, 5, 5),
              "conv2.bias": (50,), "fc1.weight": (500, 800), "fc1.bias": (500,), "fc2.weight": (10, 500),
              "fc2.bias": (10,)}
    return {name: torch.randn(shape, generator=g) * 0.1 for name, shape in shapes.items()}


def populate_network(network: mlprt.INetworkDefinition, weights: Dict[str, torch.Tensor]) -> None:
    """TensorRT 8's network_api_pytorch_mnist, as its sample writes it (trt -> mlprt only)."""
    input_tensor = network.add_input(name="data", dtype=mlprt.float32, shape=(1, 1, 28, 28))
    conv1_w = weights["conv1.weight"].numpy()
    conv1_b = weights["conv1.bias"].numpy()
    conv1 = network.add_convolution(input=input_tensor, num_output_maps=20, kernel_shape=(5, 5), kernel=conv1_w,
                                    bias=conv1_b)
    conv1.stride = (1, 1)
    pool1 = network.add_pooling(input=conv1.get_output(0), type=mlprt.PoolingType.MAX, window_size=(2, 2))
    pool1.stride = (2, 2)
    conv2_w = weights["conv2.weight"].numpy()
    conv2_b = weights["conv2.bias"].numpy()
    conv2 = network.add_convolution(pool1.get_output(0), 50, (5, 5), conv2_w, conv2_b)
    conv2.stride = (1, 1)
    pool2 = network.add_pooling(conv2.get_output(0), mlprt.PoolingType.MAX, (2, 2))
    pool2.stride = (2, 2)
    fc1_w = weights["fc1.weight"].numpy()
    fc1_b = weights["fc1.bias"].numpy()
    fc1 = network.add_fully_connected(input=pool2.get_output(0), num_outputs=500, kernel=fc1_w, bias=fc1_b)
    relu1 = network.add_activation(input=fc1.get_output(0), type=mlprt.ActivationType.RELU)
    fc2_w = weights["fc2.weight"].numpy()
    fc2_b = weights["fc2.bias"].numpy()
    fc2 = network.add_fully_connected(relu1.get_output(0), 10, fc2_w, fc2_b)
    fc2.get_output(0).name = "prob"
    network.mark_output(tensor=fc2.get_output(0))


def reference(weights: Dict[str, torch.Tensor], x: np.ndarray) -> np.ndarray:
    y = F.max_pool2d(F.conv2d(torch.from_numpy(x), weights["conv1.weight"], weights["conv1.bias"]), 2)
    y = F.max_pool2d(F.conv2d(y, weights["conv2.weight"], weights["conv2.bias"]), 2)
    y = F.relu(F.linear(y.reshape(1, -1), weights["fc1.weight"], weights["fc1.bias"]))
    return F.linear(y, weights["fc2.weight"], weights["fc2.bias"]).numpy()


def test_network_api_mnist_sample_matches_pytorch() -> None:
    weights = mnist_weights(7)
    logger = RecordingLogger()
    builder = mlprt.Builder(logger)
    network = builder.create_network(EXPLICIT_BATCH)
    populate_network(network, weights)
    config = builder.create_builder_config()
    plan = builder.build_serialized_network(network, config)
    assert plan is not None, logger.errors()
    engine = load(plan)
    assert engine.get_tensor_shape("prob") == (1, 10, 1, 1)  # TensorRT's fully connected output
    x = np.random.default_rng(8).standard_normal((1, 1, 28, 28)).astype(np.float32)
    got = infer(engine.create_execution_context(), {"data": x})["prob"].reshape(1, 10)
    np.testing.assert_allclose(got, reference(weights, x), rtol=1e-4, atol=1e-4)
    said = [m for _, m in logger.messages]
    for name, replacement in (("add_convolution", "add_convolution_nd"), ("add_pooling", "add_pooling_nd"),
                              ("add_fully_connected", "add_matrix_multiply")):
        lines = [m for m in said if f"INetworkDefinition.{name} was removed in TensorRT 10" in m]
        assert len(lines) == 1 and replacement in lines[0], said  # once per logger


def test_two_dimensional_fields_and_weights() -> None:
    network = mlprt.Builder(RecordingLogger()).create_network(EXPLICIT_BATCH)
    x = network.add_input("x", mlprt.float32, (2, 3, 9, 9))
    kernel = mlprt.Weights(np.ones((4, 3, 3, 3), np.float32))
    assert (kernel.dtype, kernel.size, kernel.nbytes, len(kernel)) == (mlprt.DataType.FLOAT, 108, 432, 108)
    assert mlprt.Weights().size == 0 and mlprt.Weights(mlprt.DataType.HALF).dtype == mlprt.DataType.HALF
    conv = network.add_convolution(x, 4, (3, 3), kernel, mlprt.Weights())  # empty Weights: no bias
    assert (tuple(conv.stride), tuple(conv.padding), tuple(conv.dilation)) == ((1, 1), (0, 0), (1, 1))  # defaults
    conv.stride, conv.padding, conv.dilation = (2, 2), (1, 1), (1, 1)
    assert tuple(conv.stride_nd) == (2, 2) and tuple(conv.padding) == (1, 1) and tuple(conv.kernel_size) == (3, 3)
    assert tuple(conv.get_output(0).shape) == (2, 4, 5, 5)
    pool = network.add_pooling(conv.get_output(0), mlprt.PoolingType.AVERAGE, (3, 3))
    pool.stride = (2, 2)
    assert tuple(pool.window_size) == (3, 3) and tuple(pool.get_output(0).shape) == (2, 4, 2, 2)
    deconv = network.add_deconvolution(pool.get_output(0), 2, (2, 2), np.ones((4, 2, 2, 2), np.float32))
    deconv.stride = (2, 2)
    assert tuple(deconv.get_output(0).shape) == (2, 2, 4, 4)
    with pytest.raises(ValueError, match=r"IConvolutionLayer.stride: takes two extents \(H, W\), got \(1, 1, 1\)"):
        conv.stride = (1, 1, 1)
    with pytest.raises(ValueError, match="add_pooling: window_size: takes two extents"):
        network.add_pooling(x, mlprt.PoolingType.MAX, (2, 2, 2))
    with pytest.raises(TypeError, match="complex128 have no TensorRT type"):
        mlprt.Weights(np.zeros(2, np.complex128))
    signal = network.add_input("signal", mlprt.float32, (1, 2, 9))
    conv1d = network.add_convolution_nd(signal, 2, (3,), np.ones((2, 2, 3), np.float32))
    with pytest.raises(ValueError, match="has 1 spatial axes; read stride_nd"):
        conv1d.stride


def test_fully_connected_and_scale_match_numpy() -> None:
    rng = np.random.default_rng(3)
    kernel = rng.standard_normal((6, 2 * 3 * 4)).astype(np.float32)
    bias = rng.standard_normal(6).astype(np.float32)
    scale = rng.uniform(0.5, 1.5, 2).astype(np.float32)
    shift = rng.standard_normal(2).astype(np.float32)
    power = np.array([2.0], np.float32)
    elementwise = rng.standard_normal(2 * 3 * 4).astype(np.float32)
    layers = {}

    def populate(network: mlprt.INetworkDefinition) -> None:
        x = network.add_input("x", mlprt.float32, (5, 2, 3, 4))
        fc = network.add_fully_connected(x, 6, kernel, bias)
        fc.name = "fc"
        no_bias = network.add_fully_connected(x, 6, mlprt.Weights(kernel))
        sample = network.add_input("sample", mlprt.float32, (2, 3, 4))  # (C, H, W): TensorRT 7's implicit batch
        one = network.add_fully_connected(sample, 6, kernel, bias)
        one.get_output(0).name = "fc_chw"
        network.mark_output(one.get_output(0))
        channel = network.add_scale(x, mlprt.ScaleMode.CHANNEL, shift, scale)
        uniform = network.add_scale_nd(x, mlprt.ScaleMode.UNIFORM, None, None, power, 1)
        per_element = network.add_scale_nd(x, mlprt.ScaleMode.ELEMENTWISE, elementwise, None, None, 1)
        layers.update(fc=fc, channel=channel)
        for name, layer in (("fc", fc), ("fc_no_bias", no_bias), ("channel", channel), ("uniform", uniform),
                            ("elementwise", per_element)):
            layer.get_output(0).name = name
            network.mark_output(layer.get_output(0))

    plan = mlprt_build(populate)
    assert layers["fc"].name == "fc" and layers["fc"].num_output_channels == 6
    assert layers["fc"].get_input(0).name == "x" and layers["channel"].mode == mlprt.ScaleMode.CHANNEL
    x = rng.standard_normal((5, 2, 3, 4)).astype(np.float32)
    out = infer(load(plan).create_execution_context(), {"x": x, "sample": x[1]})
    np.testing.assert_allclose(out["fc_chw"], (kernel @ x[1].reshape(-1) + bias).reshape(6, 1, 1), rtol=1e-5, atol=1e-5)
    flat = x.reshape(5, -1)
    np.testing.assert_allclose(out["fc"], (flat @ kernel.T + bias).reshape(5, 6, 1, 1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["fc_no_bias"], (flat @ kernel.T).reshape(5, 6, 1, 1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["channel"], x * scale.reshape(1, 2, 1, 1) + shift.reshape(1, 2, 1, 1),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["uniform"], x ** 2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["elementwise"], x + elementwise.reshape(1, 2, 3, 4), rtol=1e-5, atol=1e-6)


def mlprt_build(populate) -> mlprt.IHostMemory:
    logger = RecordingLogger()
    builder = mlprt.Builder(logger)
    network = builder.create_network(EXPLICIT_BATCH)
    populate(network)
    plan = builder.build_serialized_network(network, builder.create_builder_config())
    assert plan is not None, logger.errors()
    return plan


def test_bad_fully_connected_and_scale_are_refused_by_name() -> None:
    network = mlprt.Builder(RecordingLogger()).create_network(EXPLICIT_BATCH)
    x = network.add_input("x", mlprt.float32, (5, 2, 3, 4))
    flat = network.add_input("flat", mlprt.float32, (5, 24))
    dynamic = network.add_input("dynamic", mlprt.float32, (5, -1, 3, 4))
    cases = [
        (lambda: network.add_fully_connected(flat, 6, np.ones(144, np.float32)), "input 'flat' has shape \\(5, 24\\)"),
        (lambda: network.add_fully_connected(dynamic, 6, np.ones(144, np.float32)), "last three axes must be known"),
        (lambda: network.add_fully_connected(x, 6, np.ones(143, np.float32)), "kernel holds 143 values.*6 x 24"),
        (lambda: network.add_fully_connected(x, 6, np.ones(144, np.float32), np.ones(5, np.float32)),
         "bias holds 5 values; it takes 6"),
        (lambda: network.add_fully_connected(x, 0, np.ones(144, np.float32)), "num_outputs must be positive"),
        (lambda: network.add_scale(x, mlprt.ScaleMode.CHANNEL, np.ones(3, np.float32)),
         "shift holds 3 values; ScaleMode.CHANNEL over shape \\(5, 2, 3, 4\\) \\(channel axis 1\\) takes 2"),
        (lambda: network.add_scale_nd(x, mlprt.ScaleMode.UNIFORM, None, np.ones(2, np.float32), None, 1),
         "scale holds 2 values; ScaleMode.UNIFORM"),
        (lambda: network.add_scale_nd(x, mlprt.ScaleMode.CHANNEL, None, None, np.ones(2, np.float32), 4),
         "channel axis 4 is outside input 'x'"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
    # The network stays usable: a good call after the refusals builds.
    network.mark_output(network.add_fully_connected(x, 2, np.ones(48, np.float32)).get_output(0))
