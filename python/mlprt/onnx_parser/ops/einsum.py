"""Einsum as the layers it stands for: transposes, sums over letters that leave, and one batched
matrix product per pair of operands (operands taken left to right). Covers the contractions that
attention and projections are written with ("bhqd,bhkd->bhqk", "bsd,dh->bsh", "bsnd,ndh->bsh"),
outer and inner products, transposes and sums; refuses ellipses and diagonals (a letter twice in
one operand)."""
from __future__ import annotations

from typing import Any, List, Sequence, Tuple

import numpy as np

from mlprt import _core
from mlprt.onnx_parser.context import ImporterContext, Node, ShapeValue, Value
from mlprt.onnx_parser.errors import ErrorCode, invalid, unsupported
from mlprt.onnx_parser.ops.nn import _expand_batch
from mlprt.onnx_parser.registry import importer

MO = _core.MatrixOperation
RO = _core.ReduceOperation


def _parse(equation: str, count: int) -> Tuple[List[str], str]:
    """The operands' letters and the output's (implicit: the letters seen once, sorted)."""
    equation = equation.replace(" ", "")
    if "." in equation:
        raise unsupported(f"Einsum '{equation}': ellipses ('...') are not supported", ErrorCode.UNSUPPORTED_NODE_ATTR)
    lhs, arrow, out = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != count:
        raise invalid(f"Einsum '{equation}' names {len(terms)} operands, the node has {count} inputs")
    for term in terms + ([out] if arrow else []):
        if not all(c.isalpha() for c in term):
            raise invalid(f"Einsum '{equation}': '{term}' holds characters other than letters")
        if len(set(term)) != len(term):
            raise unsupported(f"Einsum '{equation}': a letter twice in '{term}' (a diagonal) is not supported",
                              ErrorCode.UNSUPPORTED_NODE_ATTR)
    if not arrow:
        seen = "".join(terms)
        out = "".join(sorted(c for c in set(seen) if seen.count(c) == 1))
    missing = set(out) - set("".join(terms))
    if missing:
        raise invalid(f"Einsum '{equation}': output letters {sorted(missing)} appear in no operand")
    return terms, out


def _sum_out(ctx: ImporterContext, x: Any, letters: str, keep: str) -> Tuple[Any, str]:
    """x with the axes of letters not in `keep` summed away."""
    gone = [i for i, c in enumerate(letters) if c not in keep]
    if not gone:
        return x, letters
    mask = sum(1 << i for i in gone)
    x = ctx.track(ctx.network.add_reduce(ctx.tensor(x), RO.SUM, mask, False)).get_output(0)
    return x, "".join(c for c in letters if c in keep)


def _arrange(ctx: ImporterContext, x: Any, letters: str, order: Sequence[str]) -> Any:
    """x with its axes in `order` (letters; '1' inserts an extent-1 axis)."""
    present = [c for c in order if c != "1"]
    x = ctx.transpose(ctx.tensor(x), [letters.index(c) for c in present]) if ctx.rank(x) else x
    units = [i for i, c in enumerate(order) if c == "1"]
    return ctx.unsqueeze(x, units) if units else x


def _merge_last(ctx: ImporterContext, x: Any, count: int, equation: str, contracted: str) -> Any:
    """x with its last `count` axes (the summed letters) merged into one."""
    dims = ctx.shape_of(x)
    extents = dims[len(dims) - count:]
    if not all(isinstance(e, int) and e >= 0 for e in extents):
        raise unsupported(f"Einsum '{equation}': summing over several letters ({contracted}) whose extents are "
                          "known only at run time is not supported", ErrorCode.UNSUPPORTED_NODE_SHAPE)
    return ctx.reshape(x, list(dims[:len(dims) - count]) + [int(np.prod(extents))])


def _contract(ctx: ImporterContext, a: Any, la: str, b: Any, lb: str, keep: str, equation: str) -> Tuple[Any, str]:
    """a x b keeping the letters in `keep`, as one batched matrix product."""
    a, la = _sum_out(ctx, a, la, keep + lb)
    b, lb = _sum_out(ctx, b, lb, keep + la)
    batch = "".join(c for c in la if c in lb and c in keep)
    contracted = "".join(c for c in la if c in lb and c not in keep)
    left = "".join(c for c in la if c not in lb)
    right = "".join(c for c in lb if c not in la)
    left_extra, m = left[:-1], left[-1:] or "1"
    right_extra, n = right[:-1], right[-1:] or "1"
    k = contracted or "1"
    ta = _arrange(ctx, a, la, list(batch + left_extra) + ["1"] * len(right_extra) + [m] + list(k))
    b_lead = list(batch) + ["1"] * len(left_extra) + list(right_extra)
    if len(contracted) > 1:  # merged while they are B's last axes, then swapped with n
        ta = _merge_last(ctx, ta, len(contracted), equation, contracted)
        tb = _merge_last(ctx, _arrange(ctx, b, lb, b_lead + [n] + list(k)), len(contracted), equation, contracted)
        tb = ctx.transpose(tb, list(range(ctx.rank(tb) - 2)) + [ctx.rank(tb) - 1, ctx.rank(tb) - 2])
    else:
        tb = _arrange(ctx, b, lb, b_lead + list(k) + [n])
    dtype = ctx.common_dtype(ta, tb)
    ta, tb = ctx.tensor(ta, dtype), ctx.tensor(tb, dtype)
    ta, tb = _expand_batch(ctx, ta, tb), _expand_batch(ctx, tb, ta)
    out = ctx.track(ctx.network.add_matrix_multiply(ta, MO.NONE, tb, MO.NONE)).get_output(0)
    letters = batch + left_extra + right_extra + m + n
    units = [i for i, c in enumerate(letters) if c == "1"]
    if units:
        out = ctx.squeeze(out, units)
    return out, letters.replace("1", "")


@importer("Einsum", since=12, notes="Operands without ellipses or repeated letters: transposes, sums over letters "
          "that leave, and a batched matrix product per pair of operands (left to right; several summed letters "
          "need extents known at parse time). Refused: '...' and diagonals.")
def einsum(ctx: ImporterContext, node: Node) -> List[Value]:
    equation = node.attr("equation", "")
    if isinstance(equation, bytes):
        equation = equation.decode()
    values = [ctx.require(node, i) for i in range(node.num_inputs)]
    if any(isinstance(v, ShapeValue) for v in values):
        raise unsupported("Einsum of shape values is not supported", ErrorCode.UNSUPPORTED_NODE_DYNAMIC)
    terms, out = _parse(equation, len(values))
    for value, term in zip(values, terms):
        if ctx.rank(value) != len(term):
            raise invalid(f"Einsum '{equation}': operand '{term}' has rank {ctx.rank(value)}")
    result, letters = values[0], terms[0]
    for i in range(1, len(values)):
        later = out + "".join(terms[i + 1:])
        result, letters = _contract(ctx, result, letters, values[i], terms[i], later, equation)
    result, letters = _sum_out(ctx, result, letters, out)
    if letters != out:
        result = ctx.transpose(ctx.tensor(result), [letters.index(c) for c in out])
    return [result]
