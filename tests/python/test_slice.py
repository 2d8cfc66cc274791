"""The slice layer (TensorRT's add_slice / ISliceLayer) with every sample mode, through engines,
against the NumPy reference of network_reference.py: strided, reversed, wrapped, clamped, filled
and reflected windows of FLOAT, HALF, INT32, INT64 and BOOL tensors, and the errors that name
the layer."""
from __future__ import annotations

import numpy as np
import pytest

import mlprt
from engine_helpers import RecordingLogger, build, infer, load
import network_reference

SM = mlprt.SampleMode


def _populate(shape, dtype, start, out_shape, stride, **attributes):
    def populate(network: mlprt.INetworkDefinition) -> None:
        x = network.add_input("x", dtype, shape)
        layer = network.add_slice(x, start, out_shape, stride, **attributes)
        layer.get_output(0).name = "y"
        network.mark_output(layer.get_output(0))
    return populate


def _check(populate, x, profiles=()) -> None:
    network = mlprt.Builder(RecordingLogger()).create_network(0)
    populate(network)
    expected = network_reference.evaluate(network, {"x": x})["y"]
    plan = build(populate, profiles=profiles)
    assert plan is not None
    got = infer(load(plan).create_execution_context(), {"x": x})["y"]
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected.astype(got.dtype))


CASES = [
    pytest.param((5, 7), (1, 2), (3, 2), (1, 2), {}, id="strided"),
    pytest.param((5, 7), (4, 6), (5, 4), (-1, -2), {}, id="reversed"),
    pytest.param((3, 4, 5), (-2, 1, 3), (7, 2, 6), (1, 1, 1), {"mode": SM.WRAP}, id="wrap"),
    pytest.param((4, 5), (-3, -2), (9, 11), (1, 1), {"mode": SM.CLAMP}, id="clamp-edge-pad"),
    pytest.param((4, 5), (-2, -3), (8, 11), (1, 1), {"mode": SM.FILL, "fill_value": -1.5}, id="fill-constant-pad"),
    pytest.param((4, 5), (-3, -4), (10, 13), (1, 1), {"mode": SM.REFLECT}, id="reflect-pad"),
    pytest.param((2, 3, 1), (0, 1, -2), (2, 2, 5), (1, 1, 1), {"mode": SM.REFLECT}, id="reflect-extent-1"),
]


@pytest.mark.parametrize("dtype", [mlprt.DataType.FLOAT, mlprt.DataType.HALF, mlprt.DataType.INT32,
                                   mlprt.DataType.INT64, mlprt.DataType.BOOL])
@pytest.mark.parametrize("shape,start,out_shape,stride,attributes", CASES)
def test_slice_matches_reference(dtype, shape, start, out_shape, stride, attributes) -> None:
    rng = np.random.default_rng(len(shape) * 10 + len(attributes))
    x = rng.standard_normal(shape) * 10
    x = x > 0 if dtype == mlprt.DataType.BOOL else x.astype(mlprt.nptype(dtype))
    _check(_populate(shape, dtype, start, out_shape, stride, **attributes), x)


def test_whole_extent_on_a_dynamic_axis() -> None:
    populate = _populate((-1, 6), mlprt.DataType.FLOAT, (0, 1), (-1, 2), (1, 3))
    profile = {"x": ((1, 6), (3, 6), (5, 6))}
    plan = build(populate, profiles=[profile])
    context = load(plan).create_execution_context()
    for batch in (1, 5):
        x = np.arange(batch * 6, dtype=np.float32).reshape(batch, 6)
        np.testing.assert_array_equal(infer(context, {"x": x})["y"], x[:, 1::3])


@pytest.mark.parametrize("arguments,message", [
    (((0, 0), (3, 2), (1, 1), {}), r"reads coordinates 0 to 2 on axis 0, outside the input's 2"),
    (((0, 0), (1, 1), (0, 1), {}), "stride 0 on axis 0"),
    (((0,), (1,), (1,), {}), "start, shape and stride need 2 entries"),
    (((1, 0), (-1, 2), (1, 1), {}), r"a whole-extent \(-1\) shape needs start 0 and stride 1 on axis 0"),
])
def test_bad_slices_name_the_layer(arguments, message) -> None:
    network = mlprt.Builder(RecordingLogger()).create_network(0)
    x = network.add_input("x", mlprt.DataType.FLOAT, (2, 3))
    start, shape, stride, attributes = arguments
    with pytest.raises(ValueError, match=message) as error:
        network.add_slice(x, start, shape, stride, **attributes)
    assert "(Slice)" in str(error.value)
