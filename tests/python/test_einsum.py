"""Einsum as transposes, sums and batched matrix products, compared with ONNX Runtime: the
contractions of attention and projections, outer and inner products, transposes, sums, three
operands, a dynamic batch through an engine; ellipses and diagonals refused by node."""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np
import pytest
from onnx import helper

from mlprt.onnx_parser import ErrorCode
from mlprt.testing import compare_with_onnxruntime
from test_onnx_parser_helpers import F, check_against_onnxruntime, make_model, parse_errors

N = helper.make_node
#: equation -> operand shapes (primes and 1s, so that no two letters share an extent by accident)
CASES: Dict[str, Tuple[Tuple[int, ...], ...]] = {
    "bhqd,bhkd->bhqk": ((2, 3, 5, 7), (2, 3, 11, 7)),    # attention scores
    "bhqk,bhkd->bhqd": ((2, 3, 5, 11), (2, 3, 11, 7)),   # attention times values
    "bsd,dh->bsh": ((2, 5, 7), (7, 13)),                 # a projection
    "bsnd,ndh->bsh": ((2, 5, 3, 7), (3, 7, 13)),         # a multi-head output projection: two summed letters
    "ij,jk->ik": ((5, 7), (7, 3)),
    "ij,jk": ((5, 7), (7, 3)),                           # implicit output
    "bij,bjk->bik": ((3, 5, 7), (3, 7, 2)),
    "i,i->": ((7,), (7,)),                               # inner product
    "i,j->ij": ((5,), (7,)),                             # outer product
    "ij,kl->ijkl": ((2, 3), (5, 7)),
    "ij->ji": ((5, 7),),
    "ij->": ((5, 7),),
    "ijk->ki": ((2, 3, 5),),
    "ab,bc,cd->ad": ((3, 5), (5, 7), (7, 2)),
    "ij,ij->i": ((5, 7), (5, 7)),                        # a row-wise dot: i is kept in both
    "bij,jk->bk": ((2, 5, 7), (7, 3)),                   # i summed away before the product
    ",->": ((), ()),
}


@pytest.mark.parametrize("equation", sorted(CASES))
def test_einsum_matches_onnxruntime(equation: str) -> None:
    shapes = CASES[equation]
    names = [f"x{i}" for i in range(len(shapes))]
    model = make_model([N("Einsum", names, ["y"], equation=equation)],
                       [(n, F, s) for n, s in zip(names, shapes)], ["y"], opset=12)
    rng = np.random.default_rng(len(equation))
    check_against_onnxruntime(model, {n: rng.standard_normal(s).astype(np.float32) for n, s in zip(names, shapes)})


def test_attention_einsum_engine_with_a_dynamic_batch() -> None:
    model = make_model([N("Einsum", ["q", "k"], ["y"], equation="bhqd,bhkd->bhqk")],
                       [("q", F, ("b", 2, 5, 8)), ("k", F, ("b", 2, 7, 8))], ["y"], opset=12)
    rng = np.random.default_rng(2)
    inputs = {"q": rng.standard_normal((3, 2, 5, 8)).astype(np.float32),
              "k": rng.standard_normal((3, 2, 7, 8)).astype(np.float32)}
    profiles = {"q": ((1, 2, 5, 8), (3, 2, 5, 8), (4, 2, 5, 8)), "k": ((1, 2, 7, 8), (3, 2, 7, 8), (4, 2, 7, 8))}
    compare_with_onnxruntime(model.SerializeToString(), inputs=inputs, profiles=profiles).assert_passed()


@pytest.mark.parametrize("equation, shapes, message", [
    ("...ii->...i", ((2, 3, 3),), "ellipses ('...') are not supported"),
    ("ii->i", ((3, 3),), "a letter twice in 'ii' (a diagonal) is not supported"),
])
def test_einsum_refusals_name_the_node(equation: str, shapes: tuple, message: str) -> None:
    names = [f"x{i}" for i in range(len(shapes))]
    model = make_model([N("Einsum", names, ["y"], equation=equation, name="ein")],
                       [(n, F, s) for n, s in zip(names, shapes)], ["y"], opset=12)
    (error,) = parse_errors(model)
    assert error.code() == ErrorCode.UNSUPPORTED_NODE_ATTR and error.node_name() == "ein"
    assert message in error.desc(), error.desc()


def test_an_operand_of_the_wrong_rank_is_invalid() -> None:
    model = make_model([N("Einsum", ["a", "b"], ["y"], equation="ij,jk->ik", name="ein")],
                       [("a", F, (2, 3, 4)), ("b", F, (3, 4))], ["y"], opset=12)
    (error,) = parse_errors(model)
    assert error.code() == ErrorCode.INVALID_NODE and "operand 'ij' has rank 3" in error.desc()
