"""ONNX's Attention (opsets 23 to 25) as shuffles, gathers, matrix products, a softmax and masks,
compared with ONNX Runtime on random Q, K, V: 4-D and 3-D inputs, grouped-query attention,
causal and sliding-window masks, BOOL and additive masks of ranks 1 to 4 (a short one padded),
past/present caches, softcap, scale, the four qk_matmul_output modes, softmax_precision, fully
masked rows, nonpad_kv_seqlen, FP16; a dynamic batch through an engine; the builder's fusion of
the composition into one attention step; refusals named by node."""
from __future__ import annotations

import json
from typing import Dict, List, Sequence, Tuple

import numpy as np
import pytest
from onnx import TensorProto, helper

from onnx.reference import ReferenceEvaluator

import mlprt
from mlprt.engine_tools import build_engine
from mlprt.onnx_parser import ErrorCode
from mlprt.testing import compare_with_onnxruntime
from network_reference import evaluate
from test_onnx_parser_helpers import (F, check_against_onnxruntime, layers, make_model, parse, parse_errors,
                                      relative_error)

N = helper.make_node
H = TensorProto.FLOAT16
B = TensorProto.BOOL
I64 = TensorProto.INT64
INPUTS = ("Q", "K", "V", "attn_mask", "past_key", "past_value", "nonpad_kv_seqlen")


def _model(shapes: Dict[str, Tuple[int, ...]], attrs: Dict[str, object], outputs: Sequence[str] = ("Y",),
           opset: int = 23, elem: int = F, mask_elem: int = F) -> Tuple[object, List[str]]:
    """An Attention model whose inputs are those of ``shapes`` (by ONNX name), and its output names
    in the node's order ("" for those not asked for)."""
    names = [n if n in shapes else "" for n in INPUTS]
    while names[-1] == "":
        names.pop()
    slots = ["Y", "present_key", "present_value", "qk_matmul_output"]
    node_outputs = [n if n in outputs else "" for n in slots]
    while node_outputs[-1] == "":
        node_outputs.pop()
    types = {"attn_mask": mask_elem, "nonpad_kv_seqlen": I64}
    model = make_model([N("Attention", names, node_outputs, name="attention", **attrs)],
                       [(n, types.get(n, elem), s) for n, s in shapes.items()], list(outputs), opset=opset,
                       output_type=elem)
    return model, node_outputs


def _feeds(shapes: Dict[str, Tuple[int, ...]], rng: np.random.Generator, dtype: type = np.float32,
           mask_dtype: type = np.float32) -> Dict[str, np.ndarray]:
    feeds = {}
    for name, shape in shapes.items():
        if name == "attn_mask" and mask_dtype == np.bool_:
            feeds[name] = rng.random(shape) < 0.7
        elif name == "nonpad_kv_seqlen":
            feeds[name] = rng.integers(1, 8, size=shape).astype(np.int64)
        else:
            feeds[name] = rng.standard_normal(shape).astype(mask_dtype if name == "attn_mask" else dtype)
    return feeds


# name -> (input shapes, attributes, outputs, opset); sizes are primes and 1s, head sizes not multiples of 4.
CASES = {
    "4d": ({"Q": (2, 3, 5, 7), "K": (2, 3, 11, 7), "V": (2, 3, 11, 5)}, {}, ("Y",), 23),
    "4d_seq1_head1": ({"Q": (1, 2, 1, 1), "K": (1, 2, 3, 1), "V": (1, 2, 3, 2)}, {}, ("Y",), 23),
    "3d": ({"Q": (2, 5, 21), "K": (2, 7, 21), "V": (2, 7, 15)}, {"q_num_heads": 3, "kv_num_heads": 3}, ("Y",), 23),
    "3d_gqa_causal": ({"Q": (2, 5, 30), "K": (2, 5, 10), "V": (2, 5, 6)},
                      {"q_num_heads": 6, "kv_num_heads": 2, "is_causal": 1}, ("Y",), 23),
    "4d_mqa_causal_cross": ({"Q": (1, 3, 5, 7), "K": (1, 1, 7, 7), "V": (1, 1, 7, 3)}, {"is_causal": 1}, ("Y",), 23),
    "4d_scale_softcap": ({"Q": (2, 2, 3, 5), "K": (2, 2, 7, 5), "V": (2, 2, 7, 5)},
                         {"scale": 0.7, "softcap": 1.5}, ("Y",), 23),
    "4d_past_present_causal": ({"Q": (2, 3, 3, 5), "K": (2, 3, 3, 5), "V": (2, 3, 3, 7), "past_key": (2, 3, 5, 5),
                                "past_value": (2, 3, 5, 7)}, {"is_causal": 1},
                               ("Y", "present_key", "present_value"), 23),
    "3d_gqa_past_mask_2d": ({"Q": (2, 3, 12), "K": (2, 3, 6), "V": (2, 3, 4), "attn_mask": (3, 8),
                             "past_key": (2, 2, 5, 3), "past_value": (2, 2, 5, 2)},
                            {"q_num_heads": 4, "kv_num_heads": 2}, ("Y", "present_key", "present_value"), 23),
    "4d_mask_3d_causal": ({"Q": (2, 3, 5, 3), "K": (2, 3, 7, 3), "V": (2, 3, 7, 3), "attn_mask": (3, 5, 7)},
                          {"is_causal": 1}, ("Y",), 23),
    "4d_mask_4d": ({"Q": (2, 3, 5, 3), "K": (2, 3, 7, 3), "V": (2, 3, 7, 3), "attn_mask": (2, 1, 5, 7)},
                   {}, ("Y",), 23),
    "4d_nonpad_causal": ({"Q": (3, 2, 2, 5), "K": (3, 2, 7, 5), "V": (3, 2, 7, 5), "nonpad_kv_seqlen": (3,)},
                         {"is_causal": 1}, ("Y",), 24),
    "4d_window_past": ({"Q": (2, 2, 3, 5), "K": (2, 2, 3, 5), "V": (2, 2, 3, 5), "past_key": (2, 2, 4, 5),
                        "past_value": (2, 2, 4, 5)}, {"is_causal": 1, "left_window_size": 2}, ("Y",), 25),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_attention_matches_onnxruntime(name: str, rng: np.random.Generator) -> None:
    shapes, attrs, outputs, opset = CASES[name]
    model, _ = _model(shapes, attrs, outputs, opset)
    check_against_onnxruntime(model, _feeds(shapes, rng))


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_builder_makes_the_operator_one_attention_step(name: str, rng: np.random.Generator) -> None:
    """The builder's attention fusion takes the operator's composition whole: the scale, the
    softcap (cap x tanh(scores / cap)), the additive or BOOL mask with the guard for rows it hides
    whole, the heads' reshapes, and the repeats of grouped-query heads (the kernel maps query heads
    to key heads itself)."""
    shapes, attrs, outputs, opset = CASES[name]
    model, _ = _model(shapes, attrs, outputs, opset)
    plan = build_engine(model.SerializeToString())
    engine = mlprt.Runtime(mlprt.Logger()).deserialize_cuda_engine(plan)
    inspector = engine.create_engine_inspector()
    types = [json.loads(inspector.get_layer_information(i, mlprt.LayerInformationFormat.JSON))["LayerType"]
             for i in range(engine.num_layers)]
    assert types.count("Attention") == 1, types
    assert not {"Softmax", "MatrixMultiply", "Gather"} & set(types), types
    report = compare_with_onnxruntime(model.SerializeToString(), engine=plan, inputs=_feeds(shapes, rng),
                                      rtol=1e-4, atol=1e-5)
    report.assert_passed()


@pytest.mark.parametrize("causal", [0, 1])
def test_the_fused_step_gives_zero_rows_where_the_mask_hides_every_key(causal: int, rng: np.random.Generator) -> None:
    shapes = {"Q": (2, 2, 3, 5), "K": (2, 2, 3, 5), "V": (2, 2, 3, 5), "attn_mask": (2, 1, 3, 3)}
    model, _ = _model(shapes, {"is_causal": causal}, mask_elem=B)
    feeds = _feeds(shapes, rng, mask_dtype=np.bool_)
    feeds["attn_mask"][0, 0, 1] = False     # a row without any key
    feeds["attn_mask"][1, 0, 0] = [False, True, True]  # causal leaves query 0 without any key
    plan = build_engine(model.SerializeToString())
    engine = mlprt.Runtime(mlprt.Logger()).deserialize_cuda_engine(plan)
    inspector = engine.create_engine_inspector()
    types = [json.loads(inspector.get_layer_information(i, mlprt.LayerInformationFormat.JSON))["LayerType"]
             for i in range(engine.num_layers)]
    assert "Attention" in types and "Softmax" not in types, types
    report = compare_with_onnxruntime(model.SerializeToString(), engine=plan, inputs=feeds, rtol=1e-4, atol=1e-5)
    report.assert_passed()
    assert np.all(report.results["Y"][0, :, 1] == 0)


@pytest.mark.parametrize("mode", [0, 1, 2, 3])
def test_qk_matmul_output_modes(mode: int, rng: np.random.Generator) -> None:
    shapes = {"Q": (2, 3, 5, 3), "K": (2, 3, 7, 3), "V": (2, 3, 7, 3), "attn_mask": (5, 7)}
    model, _ = _model(shapes, {"qk_matmul_output_mode": mode, "softcap": 2.0}, ("Y", "qk_matmul_output"))
    check_against_onnxruntime(model, _feeds(shapes, rng))


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # the NumPy softmax of a row of -inf
@pytest.mark.parametrize("causal", [0, 1])
def test_bool_masks_with_fully_masked_rows_give_zero_rows(causal: int, rng: np.random.Generator) -> None:
    shapes = {"Q": (2, 2, 3, 5), "K": (2, 2, 3, 5), "V": (2, 2, 3, 5), "attn_mask": (2, 1, 3, 3)}
    model, _ = _model(shapes, {"is_causal": causal, "qk_matmul_output_mode": 3}, ("Y", "qk_matmul_output"),
                      mask_elem=B)
    feeds = _feeds(shapes, rng, mask_dtype=np.bool_)
    feeds["attn_mask"][0, 0, 1] = False     # a row without any key
    feeds["attn_mask"][1, 0, 0] = [False, True, True]  # causal leaves query 0 without any key
    check_against_onnxruntime(model, feeds)


@pytest.mark.parametrize("mask_shape, mask_type, causal", [((2, 1, 5, 4), np.float32, 1), ((6,), np.bool_, 0)])
def test_short_and_rank_1_masks_match_the_onnx_reference(mask_shape: Tuple[int, ...], mask_type: type, causal: int,
                                                         rng: np.random.Generator) -> None:
    # ONNX Runtime refuses masks of rank 1 and masks shorter than past + present keys, which the ONNX
    # reference pads with -inf (False). (The reference fails on a rank-1 mask with is_causal.)
    shapes = {"Q": (2, 3, 5, 3), "K": (2, 3, 4, 3), "V": (2, 3, 4, 3), "attn_mask": mask_shape,
              "past_key": (2, 3, 3, 3), "past_value": (2, 3, 3, 3)}
    model, _ = _model(shapes, {"is_causal": causal}, mask_elem=B if mask_type == np.bool_ else F)
    feeds = _feeds(shapes, rng, mask_dtype=mask_type)
    (want,) = ReferenceEvaluator(model).run(None, feeds)
    got = evaluate(parse(model)[0], feeds)["Y"]
    assert relative_error(got, want) < 1e-5


def test_fp16_with_a_bool_mask_and_the_softmax_in_float(rng: np.random.Generator) -> None:
    shapes = {"Q": (1, 2, 3, 5), "K": (1, 2, 7, 5), "V": (1, 2, 7, 3), "attn_mask": (3, 7)}
    model, _ = _model(shapes, {"softmax_precision": TensorProto.FLOAT}, elem=H, mask_elem=B)
    check_against_onnxruntime(model, _feeds(shapes, rng, np.float16, np.bool_), tolerance=3e-3)


def test_the_layers_are_a_readable_chain(rng: np.random.Generator) -> None:
    shapes = {"Q": (2, 5, 12), "K": (2, 5, 6), "V": (2, 5, 6)}
    model, _ = _model(shapes, {"q_num_heads": 4, "kv_num_heads": 2, "is_causal": 1})
    network = check_against_onnxruntime(model, _feeds(shapes, rng))
    roles = [layer.name.partition("/")[2] for layer in layers(network)]
    chain = ["q_scaled", "scores", "biased_scores", "softmax", "values"]
    assert [r for r in roles if r in chain] == chain, roles
    assert {"q_heads", "k_heads", "v_heads", "k_repeated", "v_repeated"} <= set(roles), roles
    assert "probs" not in roles  # the causal mask leaves every query a key: no zero-row guard


def test_engine_with_a_dynamic_batch() -> None:
    model, _ = _model({"Q": ("b", 3, 10), "K": ("b", 3, 5), "V": ("b", 3, 5), "attn_mask": ("b", 1, 3, 5),
                       "past_key": ("b", 1, 2, 5), "past_value": ("b", 1, 2, 5)},
                      {"q_num_heads": 2, "kv_num_heads": 1, "is_causal": 1}, ("Y", "present_key", "present_value"),
                      mask_elem=B)
    profiles = {"Q": ((1, 3, 10), (3, 3, 10), (4, 3, 10)), "K": ((1, 3, 5), (3, 3, 5), (4, 3, 5)),
                "V": ((1, 3, 5), (3, 3, 5), (4, 3, 5)), "attn_mask": ((1, 1, 3, 5), (3, 1, 3, 5), (4, 1, 3, 5)),
                "past_key": ((1, 1, 2, 5), (3, 1, 2, 5), (4, 1, 2, 5)),
                "past_value": ((1, 1, 2, 5), (3, 1, 2, 5), (4, 1, 2, 5))}
    compare_with_onnxruntime(model.SerializeToString(), profiles=profiles,
                             input_shapes={"Q": (3, 3, 10), "K": (3, 3, 5), "V": (3, 3, 5),
                                           "attn_mask": (3, 1, 3, 5), "past_key": (3, 1, 2, 5),
                                           "past_value": (3, 1, 2, 5)}).assert_passed()


# Causal and sliding-window masks whose sequence lengths are known only at run time, built from the
# sequence axes (axis ranges): one engine, run at two (or three) lengths against ONNX Runtime.
# name -> (input shapes with symbolic axes, attributes, outputs, opset, profile, run shapes).
RUNTIME_LENGTHS = {
    "causal_4d": ({"Q": ("b", 2, "s", 8), "K": ("b", 2, "s", 8), "V": ("b", 2, "s", 5)}, {"is_causal": 1}, ("Y",),
                  23, {"Q": ((1, 2, 1, 8), (2, 2, 8, 8), (3, 2, 16, 8)), "K": ((1, 2, 1, 8), (2, 2, 8, 8), (3, 2, 16, 8)),
                       "V": ((1, 2, 1, 5), (2, 2, 8, 5), (3, 2, 16, 5))},
                  [{"Q": (2, 2, 5, 8), "K": (2, 2, 5, 8), "V": (2, 2, 5, 5)},
                   {"Q": (1, 2, 13, 8), "K": (1, 2, 13, 8), "V": (1, 2, 13, 5)}]),
    "causal_past": ({"Q": (1, 2, "s", 4), "K": (1, 2, "s", 4), "V": (1, 2, "s", 4), "past_key": (1, 2, "p", 4),
                     "past_value": (1, 2, "p", 4)}, {"is_causal": 1}, ("Y", "present_key", "present_value"), 23,
                    {"Q": ((1, 2, 1, 4), (1, 2, 4, 4), (1, 2, 8, 4)), "K": ((1, 2, 1, 4), (1, 2, 4, 4), (1, 2, 8, 4)),
                     "V": ((1, 2, 1, 4), (1, 2, 4, 4), (1, 2, 8, 4)),
                     "past_key": ((1, 2, 1, 4), (1, 2, 5, 4), (1, 2, 9, 4)),
                     "past_value": ((1, 2, 1, 4), (1, 2, 5, 4), (1, 2, 9, 4))},
                    [{"Q": (1, 2, 3, 4), "K": (1, 2, 3, 4), "V": (1, 2, 3, 4), "past_key": (1, 2, 5, 4),
                      "past_value": (1, 2, 5, 4)},
                     {"Q": (1, 2, 7, 4), "K": (1, 2, 7, 4), "V": (1, 2, 7, 4), "past_key": (1, 2, 2, 4),
                      "past_value": (1, 2, 2, 4)},
                     {"Q": (1, 2, 1, 4), "K": (1, 2, 1, 4), "V": (1, 2, 1, 4), "past_key": (1, 2, 9, 4),
                      "past_value": (1, 2, 9, 4)}]),
    "window_3d_gqa": ({"Q": (2, "s", 12), "K": (2, "s", 6), "V": (2, "s", 6)},
                      {"q_num_heads": 4, "kv_num_heads": 2, "is_causal": 1, "left_window_size": 2}, ("Y",), 25,
                      {"Q": ((2, 1, 12), (2, 6, 12), (2, 11, 12)), "K": ((2, 1, 6), (2, 6, 6), (2, 11, 6)),
                       "V": ((2, 1, 6), (2, 6, 6), (2, 11, 6))},
                      [{"Q": (2, 4, 12), "K": (2, 4, 6), "V": (2, 4, 6)}, {"Q": (2, 11, 12), "K": (2, 11, 6), "V": (2, 11, 6)}]),
}


@pytest.mark.parametrize("name", sorted(RUNTIME_LENGTHS))
def test_causal_and_window_masks_with_run_time_lengths(name: str) -> None:
    shapes, attrs, outputs, opset, profile, runs = RUNTIME_LENGTHS[name]
    model, _ = _model(shapes, attrs, outputs, opset)
    data = model.SerializeToString()
    engine = build_engine(data, profiles=[profile])
    for seed, run in enumerate(runs):
        compare_with_onnxruntime(data, engine=engine, input_shapes=run, seed=seed).assert_passed()


def test_a_run_time_causal_mask_is_computed_once_per_set_of_shapes() -> None:
    """The mask of a causal attention with run-time lengths depends only on the shapes: its steps
    run once per set of input shapes, and the attention is still one fused step."""
    shapes, attrs, outputs, opset, profile, _ = RUNTIME_LENGTHS["causal_4d"]
    model, _ = _model(shapes, attrs, outputs, opset)
    engine = mlprt.Runtime(mlprt.Logger()).deserialize_cuda_engine(build_engine(model.SerializeToString(),
                                                                                profiles=[profile]))
    inspector = engine.create_engine_inspector()
    layers = [json.loads(inspector.get_layer_information(i, mlprt.LayerInformationFormat.JSON))
              for i in range(engine.num_layers)]
    assert [layer["LayerType"] for layer in layers].count("Attention") == 1, [l["LayerType"] for l in layers]
    once = [layer for layer in layers if layer["RunsOncePerShapes"]]
    assert any(layer["LayerType"] == "AxisRange" for layer in once), [l["LayerType"] for l in layers]
    assert all(layer["RunsOncePerShapes"] for layer in layers if layer["LayerType"] in ("AxisRange", "Select")), layers


@pytest.mark.parametrize("shapes, attrs, code, message", [
    ({"Q": ("b", 2, "s", 3), "K": ("b", 2, "s", 3), "V": ("b", 2, "s", 3), "nonpad_kv_seqlen": ("b",)},
     {"is_causal": 1}, ErrorCode.UNSUPPORTED_NODE_DYNAMIC,
     "is_causal and nonpad_kv_seqlen need the query, key and past sequence lengths known at parse"),
    ({"Q": (1, 2, 3, 4), "K": (1, 2, "s", 4), "V": (1, 2, "s", 4), "attn_mask": (3, 5)}, {},
     ErrorCode.UNSUPPORTED_NODE_DYNAMIC, "attn_mask covers 5 keys, but the count of keys is known only at run time"),
    ({"Q": (1, 2, 3, 4), "K": (1, 2, 3, 4), "V": (1, 2, 3, 4)}, {"softmax_precision": TensorProto.BFLOAT16},
     ErrorCode.UNSUPPORTED_NODE_ATTR, "softmax_precision BFLOAT16 is not supported"),
    ({"Q": (1, 2, 8), "K": (1, 2, 8), "V": (1, 2, 8)}, {}, ErrorCode.INVALID_NODE,
     "3-D inputs needs the attributes q_num_heads and kv_num_heads"),
    ({"Q": (1, 2, 8), "K": (1, 2, 8), "V": (1, 2, 8)}, {"q_num_heads": 3, "kv_num_heads": 2}, ErrorCode.INVALID_NODE,
     "Q has a hidden size of 8, not a multiple of q_num_heads = 3"),
    ({"Q": (1, 3, 2, 4), "K": (1, 2, 2, 4), "V": (1, 2, 2, 4)}, {}, ErrorCode.INVALID_NODE,
     "query heads (3) are not a multiple of the key/value heads (2)"),
    ({"Q": (1, 2, 3, 4), "K": (1, 2, 3, 4), "V": (1, 2, 3, 4)}, {"qk_matmul_output_mode": 4}, ErrorCode.INVALID_NODE,
     "qk_matmul_output_mode is 4"),
])
def test_refusals_name_the_node(shapes: dict, attrs: dict, code: ErrorCode, message: str) -> None:
    model, _ = _model(shapes, attrs)
    (error,) = parse_errors(model)
    assert error.code() == code and error.node_name() == "attention", str(error)
    assert message in error.desc(), error.desc()
