"""INetworkDefinition from Python: TensorRT's layer API, shape inference, named errors."""
from __future__ import annotations

import numpy as np
import pytest

import mlprt


def tutorial_mlp(rng: np.random.Generator) -> tuple:
    network = mlprt.INetworkDefinition()
    x = network.add_input("input", mlprt.DataType.FLOAT, (-1, 784))
    w1 = network.add_constant((784, 32), rng.standard_normal((784, 32)).astype(np.float32))
    fc1 = network.add_matrix_multiply(x, mlprt.MatrixOperation.NONE, w1.get_output(0),
                                      mlprt.MatrixOperation.NONE)
    b1 = network.add_constant((1, 32), rng.standard_normal((1, 32)).astype(np.float32))
    add = network.add_elementwise(fc1.get_output(0), b1.get_output(0), mlprt.ElementWiseOperation.SUM)
    relu = network.add_activation(add.get_output(0), mlprt.ActivationType.RELU)
    w2 = network.add_constant((10, 32), rng.standard_normal((10, 32)).astype(np.float32))
    fc2 = network.add_matrix_multiply(relu.get_output(0), mlprt.MatrixOperation.NONE,
                                      w2.get_output(0), mlprt.MatrixOperation.TRANSPOSE)
    softmax = network.add_softmax(fc2.get_output(0))
    softmax.get_output(0).name = "output"
    network.mark_output(softmax.get_output(0))
    return network, x, fc1, relu, fc2, softmax


def test_the_tutorial_mlp_by_hand(rng) -> None:
    network, x, fc1, relu, fc2, softmax = tutorial_mlp(rng)
    assert network.num_inputs == 1 and network.num_outputs == 1 and network.num_layers == 8
    assert network.get_input(0) == x and x.is_network_input and x.shape == (-1, 784)
    assert fc1.get_output(0).shape == (-1, 32)
    assert fc2.get_output(0).shape == (-1, 10)
    output = network.get_output(0)
    assert output.name == "output" and output.is_network_output and output.dtype == mlprt.DataType.FLOAT
    assert isinstance(network.get_layer(1), mlprt.IMatrixMultiplyLayer)
    assert isinstance(network[4], mlprt.IActivationLayer)
    assert network[1].type == mlprt.LayerType.MATRIX_MULTIPLY
    assert network[7].type == mlprt.LayerType.SOFTMAX
    assert fc2.get_operation(1) == mlprt.MatrixOperation.TRANSPOSE
    assert softmax.axes == 1 << 1
    assert len(network) == 8 and [layer.name for layer in network][0] == "Constant_0"


def test_changing_a_layer_reinfers_shapes(rng) -> None:
    network = mlprt.INetworkDefinition()
    x = network.add_input("images", mlprt.DataType.FLOAT, (-1, 1, 28, 28))
    flatten = network.add_shuffle(x)
    assert flatten.reshape_dims is None and flatten.get_output(0).shape == (-1, 1, 28, 28)
    flatten.reshape_dims = (0, -1)
    assert flatten.get_output(0).shape == (-1, -1)
    tanh = network.add_activation(flatten.get_output(0), mlprt.ActivationType.LEAKY_RELU)
    tanh.alpha = 0.125
    assert tanh.alpha == 0.125 and tanh.type == mlprt.ActivationType.LEAKY_RELU
    tanh.type = mlprt.ActivationType.TANH
    assert tanh.type == mlprt.ActivationType.TANH

    static = mlprt.INetworkDefinition()
    y = static.add_input("y", mlprt.DataType.FLOAT, (4, 6))
    shuffle = static.add_shuffle(y)
    shuffle.first_transpose = [1, 0]
    assert shuffle.get_output(0).shape == (6, 4)
    shuffle.reshape_dims = (3, -1)
    assert shuffle.get_output(0).shape == (3, 8)
    with pytest.raises(ValueError, match=r"layer 0 'Shuffle_0' \(Shuffle\): cannot reshape \(6, 4\)"):
        shuffle.reshape_dims = (5, -1)
    assert shuffle.get_output(0).shape == (3, 8) and shuffle.reshape_dims == [3, -1]


def test_other_layers(rng) -> None:
    network = mlprt.INetworkDefinition()
    x = network.add_input("x", mlprt.DataType.FLOAT, (-1, 16))
    scale = network.add_constant((1, 16), rng.standard_normal((1, 16)).astype(np.float32))
    bias = network.add_constant((16,), rng.standard_normal(16).astype(np.float32))
    norm = network.add_normalization(x, scale.get_output(0), bias.get_output(0), 1 << 1)
    norm.epsilon = 1e-6
    assert norm.get_output(0).shape == (-1, 16) and norm.epsilon == pytest.approx(1e-6)
    mean = network.add_reduce(norm.get_output(0), mlprt.ReduceOperation.AVG, 1 << 1, True)
    assert mean.get_output(0).shape == (-1, 1)
    mean.keep_dims = False
    assert mean.get_output(0).shape == (-1,)
    concat = network.add_concatenation([x, norm.get_output(0), x])
    concat.axis = 1
    assert concat.get_output(0).shape == (-1, 48)
    exp = network.add_unary(x, mlprt.UnaryOperation.EXP)
    assert exp.op == mlprt.UnaryOperation.EXP
    cast = network.add_cast(x, mlprt.DataType.HALF)
    assert cast.get_output(0).dtype == mlprt.DataType.HALF and cast.to_type == mlprt.DataType.HALF
    assert network.add_identity(x).get_output(0).dtype == mlprt.DataType.FLOAT
    half = network.add_constant((2, 3), rng.standard_normal((2, 3)).astype(np.float16))
    assert half.get_output(0).dtype == mlprt.DataType.HALF and half.shape == (2, 3)


def test_errors_name_the_culprit(rng) -> None:
    network = mlprt.INetworkDefinition()
    x = network.add_input("input", mlprt.DataType.FLOAT, (-1, 784))
    w = network.add_constant((780, 32), rng.standard_normal((780, 32)).astype(np.float32))
    with pytest.raises(ValueError, match=r"layer 1 'MatrixMultiply_1' \(MatrixMultiply\): inner "
                                         r"dimensions differ \(\(-1, 784\) x \(780, 32\)\)"):
        network.add_matrix_multiply(x, mlprt.MatrixOperation.NONE, w.get_output(0),
                                    mlprt.MatrixOperation.NONE)
    assert network.num_layers == 1
    with pytest.raises(ValueError, match="a tensor named 'input' already exists"):
        network.add_input("input", mlprt.DataType.FLOAT, (1,))
    with pytest.raises(ValueError, match="weights hold 12 bytes but shape \\(2, 2\\)"):
        network.add_constant((2, 2), np.ones(3, np.float32))
    with pytest.raises(TypeError, match="dtype complex64"):
        network.add_constant((1,), np.ones(1, np.complex64))
    with pytest.raises(ValueError, match="negative dimension"):
        network.add_input("bad", mlprt.DataType.FLOAT, (2, -5))
    other = mlprt.INetworkDefinition()
    y = other.add_input("y", mlprt.DataType.FLOAT, (1, 784))
    with pytest.raises(ValueError, match="tensor 'y' belongs to another network"):
        network.add_activation(y, mlprt.ActivationType.RELU)
    with pytest.raises(IndexError):
        network.get_layer(5)
    with pytest.raises(IndexError):
        network.get_output(0)
    softmax = network.add_softmax(x)
    with pytest.raises(ValueError, match="exactly one axis"):
        softmax.axes = 0b11
