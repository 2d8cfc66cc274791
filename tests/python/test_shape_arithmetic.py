"""The run-time shape arithmetic of transformer exports (Hugging Face BERT and GPT-2 at opset 17):
dynamic axes that share a dim_param, Range and Slice windows of a run-time sequence length,
ConstantOfShape and Expand to run-time shapes, shape values used as tensors, the exporters'
Equal(shape, -1) guards, reshapes through a flatten and back, Gemm on flattened rows. Each
pattern is a small graph run through one engine at two sequence lengths and compared with ONNX
Runtime; what stays out of reach is refused by node."""
from __future__ import annotations

from typing import Dict, List

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import mlprt
from mlprt.onnx_parser import ErrorCode
from test_onnx_parser_helpers import check_against_onnxruntime, parse_errors

N = helper.make_node
I64 = TensorProto.INT64


def _const(name: str, value: np.ndarray) -> onnx.NodeProto:
    return N("Constant", [], [name], value=numpy_helper.from_array(np.asarray(value), name))


def _model(nodes: List[onnx.NodeProto], outputs: List[str], initializers: Dict[str, np.ndarray]) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes, "shape_arithmetic",
        [helper.make_tensor_value_info("ids", I64, ["batch", "seq"]),
         helper.make_tensor_value_info("mask", I64, ["batch", "seq"])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
        [numpy_helper.from_array(v, k) for k, v in initializers.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model


def _transformer_patterns(rng: np.random.Generator) -> onnx.ModelProto:
    """One output per pattern, each as the exporters write it."""
    inits = {"words": rng.standard_normal((100, 6)).astype(np.float32),
             "places": rng.standard_normal((64, 6)).astype(np.float32),
             "buffer": np.arange(64, dtype=np.int64).reshape(1, 64),
             "w": rng.standard_normal((6, 5)).astype(np.float32),
             "bias": rng.standard_normal((5,)).astype(np.float32)}
    nodes = [
        _const("zero", np.array(0, np.int64)), _const("one", np.array(1, np.int64)),
        _const("axis0", np.array([0], np.int64)), _const("minus1", np.array([-1], np.int64)),
        _const("first", np.array([0], np.int64)), _const("axes1", np.array([1], np.int64)),
        N("Shape", ["ids"], ["shape"]),
        N("Gather", ["shape", "zero"], ["batch"], axis=0), N("Gather", ["shape", "one"], ["seq"], axis=0),
        # GPT-2's positions: Range(0, seq) over the embedding table.
        N("Range", ["zero", "seq", "one"], ["positions"]),
        N("Unsqueeze", ["positions", "axis0"], ["positions2"]),
        N("Gather", ["places", "positions2"], ["place_vectors"], axis=0),
        N("Gather", ["words", "ids"], ["word_vectors"], axis=0),
        N("Add", ["word_vectors", "place_vectors"], ["embedded"]),
        # BERT's positions: a buffer sliced to seq (Slice ends from the shape).
        N("Unsqueeze", ["seq", "axis0"], ["seq1"]),
        N("Slice", ["buffer", "first", "seq1", "axes1"], ["sliced"]),
        N("Gather", ["places", "sliced"], ["sliced_vectors"], axis=0),
        N("Add", ["embedded", "sliced_vectors"], ["out_embedded"]),
        # The mask reshaped to [batch, -1] with batch read from ids (one dim_param), expanded to
        # [batch, 1, seq, seq] through the Equal(shape, -1) guard.
        N("Unsqueeze", ["batch", "axis0"], ["batch1"]),
        N("Concat", ["batch1", "minus1"], ["flat_shape"], axis=0),
        N("Reshape", ["mask", "flat_shape"], ["mask2"]),
        N("Unsqueeze", ["mask2", "axes12"], ["mask4"]),
        N("Concat", ["batch1", "minus1", "seq1", "seq1"], ["wanted"], axis=0),
        N("ConstantOfShape", ["four"], ["ones4"], value=numpy_helper.from_array(np.array([1], np.int64))),
        N("Mul", ["ones4", "minus1"], ["minus_ones"]),
        N("Equal", ["wanted", "minus_ones"], ["guard"]),
        N("Where", ["guard", "ones4", "wanted"], ["target"]),
        N("Expand", ["mask4", "target"], ["mask_expanded"]),
        N("Cast", ["mask_expanded"], ["out_mask"], to=TensorProto.FLOAT),
        # ConstantOfShape of a run-time shape, and a shape value used as a run-time tensor.
        N("ConstantOfShape", ["shape"], ["fill"], value=numpy_helper.from_array(np.array([0.5], np.float32))),
        N("Cast", ["seq", ], ["seq_float"], to=TensorProto.FLOAT),
        N("Mul", ["fill", "seq_float"], ["out_fill"]),
        N("Cast", ["mask"], ["mask_float"], to=TensorProto.FLOAT),
        N("Mul", ["mask", "seq"], ["mask_times_seq"]),
        N("Cast", ["mask_times_seq"], ["out_times_seq"], to=TensorProto.FLOAT),
        # GPT-2's Conv1D: rows flattened, a Gemm, the rows reshaped back to [batch, seq, n].
        N("Reshape", ["out_embedded", "rows_shape"], ["rows"]),
        N("Gemm", ["rows", "w", "bias"], ["projected"]),
        _const("n", np.array([5], np.int64)),
        N("Concat", ["batch1", "seq1", "n"], ["back_shape"], axis=0),
        N("Reshape", ["projected", "back_shape"], ["out_projected"]),
        # A flatten to (-1,) and back to the run-time shape.
        N("Reshape", ["out_embedded", "minus1"], ["flat"]),
        N("Shape", ["out_embedded"], ["embedded_shape"]),
        N("Reshape", ["flat", "embedded_shape"], ["out_round_trip"]),
    ]
    inits.update({"axes12": np.array([1, 2], np.int64), "four": np.array([4], np.int64),
                  "rows_shape": np.array([-1, 6], np.int64)})
    outputs = ["out_embedded", "out_mask", "out_fill", "out_times_seq", "out_projected", "out_round_trip"]
    return _model(nodes, outputs, inits)


def _feeds(rng: np.random.Generator, batch: int, seq: int) -> Dict[str, np.ndarray]:
    mask = np.ones((batch, seq), np.int64)
    mask[-1, seq // 2:] = 0
    return {"ids": rng.integers(0, 100, (batch, seq)).astype(np.int64), "mask": mask}


def test_transformer_shape_patterns_at_two_sequence_lengths_from_one_engine(rng):
    model = _transformer_patterns(rng)
    check_against_onnxruntime(model, _feeds(rng, 2, 7))
    profile = {name: ((1, 1), (2, 8), (4, 16)) for name in ("ids", "mask")}
    session = mlprt.Session(model.SerializeToString(), profiles=profile, use_cache=False)
    reference = ort.InferenceSession(model.SerializeToString())
    for batch, seq in ((3, 5), (2, 13), (1, 1)):
        feeds = _feeds(rng, batch, seq)
        names = [o.name for o in model.graph.output]
        for name, got, expected in zip(names, session.run(names, feeds), reference.run(names, feeds)):
            assert got.shape == expected.shape, (name, batch, seq)
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=f"{name} at {batch}x{seq}")


def test_gather_elements_of_constants_folds_past_the_reference_limit(rng):
    """ONNX's reference GatherElements uses np.choose (32 choices at most); the fold is NumPy's."""
    data = rng.standard_normal((2, 64)).astype(np.float32)
    index = rng.integers(-64, 64, (2, 9)).astype(np.int64)
    graph = helper.make_graph([N("GatherElements", ["data", "index"], ["picked"], axis=1),
                               N("Add", ["x", "picked"], ["y"])], "fold",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 9])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 9])],
                              [numpy_helper.from_array(data, "data"), numpy_helper.from_array(index, "index")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    network = check_against_onnxruntime(model, {"x": rng.standard_normal((2, 9)).astype(np.float32)})
    assert mlprt.LayerType.GATHER not in [network.get_layer(i).type for i in range(network.num_layers)]


@pytest.mark.parametrize("case", ["range_step", "slice_step", "two_extents"])
def test_run_time_windows_out_of_reach_are_refused_by_node(case):
    nodes = [N("Shape", ["ids"], ["shape"]), _const("zero", np.array(0, np.int64)),
             _const("one", np.array(1, np.int64)), _const("two", np.array(2, np.int64)),
             N("Gather", ["shape", "one"], ["seq"], axis=0), _const("axis0", np.array([0], np.int64)),
             N("Unsqueeze", ["seq", "axis0"], ["seq1"])]
    if case == "range_step":
        nodes += [N("Range", ["zero", "seq", "two"], ["r"], name="bad"), N("Cast", ["r"], ["y"], to=1)]
        expected = "delta other than 1"
    elif case == "slice_step":
        nodes += [N("Slice", ["buffer", "axis0", "seq1", "one1", "two1"], ["s"], name="bad"),
                  N("Cast", ["s"], ["y"], to=1)]
        expected = "step 1"
    else:  # [batch * seq] to [seq, batch]: two run-time extents that no axis of the input has
        nodes += [N("Gather", ["shape", "zero"], ["batch"], axis=0), N("Unsqueeze", ["batch", "axis0"], ["b1"]),
                  N("Reshape", ["ids", "minus1"], ["flat"]), N("Concat", ["seq1", "b1"], ["swapped"], axis=0),
                  N("Mul", ["flat", "flat"], ["squared"]), N("Reshape", ["squared", "swapped"], ["r"], name="bad"),
                  N("Cast", ["r"], ["y"], to=1)]
        expected = "more than one output extent depends on run-time shapes"
    model = _model(nodes, ["y"], {"buffer": np.arange(64, dtype=np.int64), "one1": np.array([0], np.int64),
                                  "two1": np.array([2], np.int64), "minus1": np.array([-1], np.int64)})
    errors = parse_errors(model)
    assert errors and errors[0].node_name() == "bad", [str(e) for e in errors]
    assert errors[0].code() == ErrorCode.UNSUPPORTED_NODE_DYNAMIC and expected in errors[0].desc(), errors[0].desc()


@pytest.mark.parametrize("elem", [TensorProto.FLOAT, TensorProto.BOOL])
def test_pad_with_a_run_time_constant_value(rng, elem):
    """ONNX's Attention function pads its masks with a value it computes; negative pads crop."""
    dtype = helper.tensor_dtype_to_np_dtype(elem)
    graph = helper.make_graph(
        [N("Pad", ["x", "pads", "value"], ["y"], mode="constant")], "pad",
        [helper.make_tensor_value_info("x", elem, ["batch", 5]), helper.make_tensor_value_info("value", elem, [])],
        [helper.make_tensor_value_info("y", elem, None)],
        [numpy_helper.from_array(np.array([0, 2, 0, -1], np.int64), "pads")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    x = (rng.standard_normal((3, 5)) > 0).astype(dtype) if elem == TensorProto.BOOL else \
        rng.standard_normal((3, 5)).astype(dtype)
    value = np.array(True if elem == TensorProto.BOOL else 2.5, dtype)
    check_against_onnxruntime(model, {"x": x, "value": value})
    session = mlprt.Session(model.SerializeToString(), profiles={"x": ((1, 5), (3, 5), (4, 5))}, use_cache=False)
    expected = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x, "value": value})[0]
    np.testing.assert_array_equal(session.run(None, {"x": x, "value": value})[0], expected)


def test_shape_and_size_as_run_time_outputs():
    """Shape's run-time extents and Size's product of them, computed by the engine (values of NaN
    or any other float do not matter)."""
    graph = helper.make_graph([N("Shape", ["x"], ["s"]), N("Size", ["x"], ["n"]),
                               N("Shape", ["x"], ["tail"], start=-1)], "shapes",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 3, "c"])],
                              [helper.make_tensor_value_info(o, I64, None) for o in ("s", "n", "tail")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    session = mlprt.Session(model.SerializeToString(), profiles={"x": ((1, 3, 1), (2, 3, 4), (5, 3, 7))},
                            use_cache=False)
    for shape in ((4, 3, 6), (1, 3, 1)):
        x = np.full(shape, np.nan, np.float32)
        s, n, tail = session.run(None, {"x": x})
        assert s.tolist() == list(shape) and int(n) == x.size and tail.tolist() == [shape[-1]]


def test_inputs_that_disagree_on_a_shared_dim_param_are_refused_by_name(rng):
    """The parser treats axes named alike as one extent; an engine refuses inputs where they differ
    instead of computing with one of them (ONNX Runtime refuses them too)."""
    model = _transformer_patterns(rng)
    profile = {name: ((1, 1), (2, 8), (4, 16)) for name in ("ids", "mask")}
    session = mlprt.Session(model.SerializeToString(), profiles=profile, use_cache=False)
    feeds = _feeds(rng, 2, 7)
    for name, shape, axis, label in (("mask", (3, 7), 0, "batch"), ("mask", (2, 5), 1, "seq")):
        wrong = dict(feeds, **{name: np.ones(shape, np.int64)})
        with pytest.raises(ValueError, match=f"input 'ids' axis {axis} is .* but input 'mask' axis {axis} is .*"
                                             f"the model calls both '{label}'"):
            session.run(None, wrong)
    assert session.run(None, feeds)[0].shape == (2, 7, 6)  # the context stays usable


def test_share_extent_refuses_what_is_not_an_input_axis():
    network = mlprt.INetworkDefinition()
    x = network.add_input("x", mlprt.DataType.FLOAT, (-1, 3))
    y = network.add_activation(x, mlprt.ActivationType.RELU).get_output(0)
    with pytest.raises(ValueError, match="is not a network input"):
        network.share_extent(x, 0, y, 0, "batch")
    with pytest.raises(ValueError, match="axis 2 is outside input 'x'"):
        network.share_extent(x, 2, x, 0, "batch")


def _padding_mask_model(variant: str) -> onnx.ModelProto:
    """Transformers' sdpa padding mask as their exports compute it: key positions 0..seq-1 from a
    Range compared with 0 (true everywhere) and ANDed with true, the (batch, seq) mask flattened and
    gathered at b x seq + j, the two ANDed, cast to FLOAT. Variants that must not simplify:
    `strict` compares positions > 0 (false at 0), `transposed` gathers at b + j x batch."""
    nodes = [
        _const("zero", np.array(0, np.int64)), _const("one", np.array(1, np.int64)),
        _const("axes012", np.array([0, 1, 2], np.int64)), _const("axes123", np.array([1, 2, 3], np.int64)),
        _const("shape4", np.array([1, 1, 1, 1], np.int64)),
        N("Cast", ["mask"], ["mask_bool"], to=TensorProto.BOOL),
        N("Shape", ["mask_bool"], ["shape"]),
        N("Gather", ["shape", "zero"], ["batch"], axis=0), N("Gather", ["shape", "one"], ["seq"], axis=0),
        N("Range", ["zero", "seq", "one"], ["keys"]), N("Range", ["zero", "batch", "one"], ["rows"]),
        N("Unsqueeze", ["keys", "axes012"], ["keys4"]), N("Unsqueeze", ["rows", "axes123"], ["rows4"]),
        N("Greater" if variant == "strict" else "GreaterOrEqual", ["keys4", "zero"], ["key_ok"]),
        N("ConstantOfShape", ["shape4"], ["all"], value=numpy_helper.from_array(np.array([True]))),
        N("And", ["all", "key_ok"], ["allowed"]),
        N("Flatten", ["mask_bool"], ["flat"], axis=2),
    ]
    if variant == "transposed":
        nodes += [N("Mul", ["keys4", "batch"], ["scaled"]), N("Add", ["scaled", "rows4"], ["index"])]
    else:
        nodes += [N("Mul", ["rows4", "seq"], ["scaled"]), N("Add", ["keys4", "scaled"], ["index"])]
    nodes += [N("Gather", ["flat", "index"], ["picked"], axis=0),
              N("Squeeze", ["picked", "minus_one"], ["picked4"]),
              N("And", ["allowed", "picked4"], ["keep"]),
              N("Cast", ["keep"], ["out"], to=TensorProto.FLOAT)]
    return _model(nodes, ["out"], {"minus_one": np.array([-1], np.int64)})


@pytest.mark.parametrize("variant", ["bert", "strict", "transposed"])
def test_padding_mask_arithmetic_is_known_at_parse_time(rng, variant):
    """Key positions compared with 0 are known true, so the And with them is the other operand; a
    gather at the flat index of every position in order is a reshape. BERT's form needs neither a
    logic step nor a gather; the variants that differ keep theirs (the strict comparison its And,
    the transposed index its gather). All match ONNX Runtime at three
    shapes of one engine."""
    model = _padding_mask_model(variant)
    network = check_against_onnxruntime(model, _feeds(rng, 3, 7))
    kinds = [network.get_layer(i).type for i in range(network.num_layers)]
    logic = [i for i in range(network.num_layers) if kinds[i] == mlprt.LayerType.ELEMENTWISE
             and network.get_layer(i).op == mlprt.ElementWiseOperation.AND]
    assert (mlprt.LayerType.GATHER in kinds) == (variant == "transposed"), kinds
    assert bool(logic) == (variant == "strict"), kinds
    profile = {name: ((1, 1), (2, 8), (4, 16)) for name in ("ids", "mask")}
    session = mlprt.Session(model.SerializeToString(), profiles=profile, use_cache=False)
    reference = ort.InferenceSession(model.SerializeToString())
    for batch, seq in ((3, 5), (2, 13), (1, 1)):
        feeds = _feeds(rng, batch, seq)
        feeds["mask"][0, 0] = 0  # a hidden first key, where the strict comparison would differ
        got, = session.run(["out"], feeds)
        expected, = reference.run(["out"], feeds)
        np.testing.assert_array_equal(got, expected, err_msg=f"{variant} at {batch}x{seq}")
