"""CenterCropPad (opset 18) through engines on random data, compared with ONNX Runtime and with the
NumPy reference of the parsed network: crops and pads of odd and even differences, negative axes,
an integer input, FP16; refusals named by node."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from mlprt.testing import compare_with_onnxruntime
from test_onnx_parser_helpers import check_against_onnxruntime, parse_errors


def _model(shape: Sequence[int], target: Sequence[int], out_shape: Sequence[int], axes: Optional[List[int]] = None,
           elem: int = TensorProto.FLOAT, name: str = "ccp", run_time_shape: bool = False) -> onnx.ModelProto:
    attributes = {} if axes is None else {"axes": axes}
    node = helper.make_node("CenterCropPad", ["x", "shape"], ["y"], name=name, **attributes)
    inputs = [helper.make_tensor_value_info("x", elem, list(shape))]
    initializers = []
    if run_time_shape:
        inputs.append(helper.make_tensor_value_info("shape", TensorProto.INT64, [len(target)]))
    else:
        initializers.append(numpy_helper.from_array(np.array(target, np.int64), "shape"))
    graph = helper.make_graph([node], "center_crop_pad", inputs,
                              [helper.make_tensor_value_info("y", elem, list(out_shape))], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    return model


CASES = [
    # (input shape, target, axes, output shape)
    ((7, 10, 3), (4, 13, 3), None, (4, 13, 3)),        # crop by 3 (odd), pad by 3 (odd), keep
    ((8, 5, 6), (2, 11, 6), None, (2, 11, 6)),         # crop by 6 (even), pad by 6 (even)
    ((3, 9, 12), (5, 4), [1, 2], (3, 5, 4)),           # channels first: crop height and width
    ((9, 12, 3), (11, 5), [-3, -2], (11, 5, 3)),       # channels last, negative axes: pad height, crop width
    ((1, 1), (1, 1), None, (1, 1)),                    # nothing to do
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "x".join(map(str, c[0])) + "_to_" + "x".join(map(str, c[3])))
def test_center_crop_pad_matches_onnxruntime(rng, case):
    shape, target, axes, out_shape = case
    model = _model(shape, target, out_shape, axes)
    feeds = {"x": rng.standard_normal(shape).astype(np.float32)}
    check_against_onnxruntime(model, feeds)
    report = compare_with_onnxruntime(model.SerializeToString(), inputs=feeds)
    np.testing.assert_array_equal(report.results["y"], report.reference["y"])


def test_center_crop_pad_of_integers_and_in_fp16(rng):
    model = _model((6, 7), (3, 10), (3, 10), elem=TensorProto.INT32)
    feeds = {"x": rng.integers(-1000, 1000, (6, 7)).astype(np.int32)}
    report = compare_with_onnxruntime(model.SerializeToString(), inputs=feeds)
    np.testing.assert_array_equal(report.results["y"], report.reference["y"])
    model = _model((5, 8, 2), (8, 3, 2), (8, 3, 2))
    feeds = {"x": rng.standard_normal((5, 8, 2)).astype(np.float32)}
    report = compare_with_onnxruntime(model.SerializeToString(), inputs=feeds, fp16=True)
    np.testing.assert_allclose(report.results["y"], report.reference["y"], rtol=1e-2, atol=1e-2)


def test_center_crop_pad_refusals_name_the_node():
    def errors(model: onnx.ModelProto) -> str:
        return " | ".join(str(e) for e in parse_errors(model))

    text = errors(_model((4, 4), (2, 2), (2, 2), name="run_time_target", run_time_shape=True))
    assert "run_time_target" in text and "input 1 (shape) of CenterCropPad must be a constant known at parse time" in text
    text = errors(_model((4, 4), (2,), (2, 4), name="short_target"))
    assert "short_target" in text and "1 extents for 2 axes" in text
    text = errors(_model((4, 4), (2, 2), (2, 4), axes=[0, -2], name="twice"))
    assert "twice" in text and "name an axis twice" in text
    text = errors(_model((4, 4), (-1, 2), (2, 4), name="negative"))
    assert "negative" in text and "is negative" in text
