"""The builder's own tactic timings for one FP16 product with bias, without and with each of a few
activations in its epilogue (BERT-base's FFN-in: 4096 x 768 by 768 x 3072), with the weights
stored K x N (as ONNX MatMul keeps them) and N x K (as Gemm with transB, PyTorch's Linear): which
tile wins and what the epilogue and the layout cost. Prints the builder's verbose "chose ...
(timed ...)" line per case, or its "before tactic choice" line where the product (with the input's
cast) ran faster as a fused MLP kernel than its steps' launches can be (at tiny sizes).

    python3 bench/epilogue_probe.py [--m 4096 --k 768 --n 3072] [--layouts kxn,nxk]
"""
from __future__ import annotations

import argparse

import numpy as np

import mlprt


class _TacticLines(mlprt.ILogger):
    """Prints the builder's tactic choices, the fused-MLP ones included."""

    def __init__(self) -> None:
        super().__init__()

    def log(self, severity: "mlprt.Logger.Severity", msg: str) -> None:
        if "chose" in msg or "cannot run" in msg or "before tactic choice" in msg:
            print(msg, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=4096)
    parser.add_argument("--k", type=int, default=768)
    parser.add_argument("--n", type=int, default=3072)
    parser.add_argument("--layouts", default="kxn", help="comma-separated: kxn, nxk (the weights' storage)")
    args = parser.parse_args()
    for layout in args.layouts.split(","):
        if layout not in ("kxn", "nxk"):
            raise SystemExit(f"--layouts: '{layout}' is neither kxn nor nxk")
        probe(args.m, args.k, args.n, layout == "nxk")


def probe(m: int, k: int, n: int, nxk: bool) -> None:
    """Builds the product with bias and each activation, weights N x K when `nxk`."""
    rng = np.random.default_rng(0)
    act = mlprt.ActivationType
    for activation in (None, act.GELU_ERF, act.GELU_TANH, act.RELU):
        builder = mlprt.Builder(_TacticLines())
        network = builder.create_network(0)
        x = network.add_input("x", mlprt.DataType.FLOAT, (m, k))
        shape = (n, k) if nxk else (k, n)
        w = network.add_constant(shape, (rng.standard_normal(shape) * 0.03).astype(np.float32))
        bias = network.add_constant((1, n), rng.standard_normal((1, n)).astype(np.float32))
        b_operation = mlprt.MatrixOperation.TRANSPOSE if nxk else mlprt.MatrixOperation.NONE
        y = network.add_matrix_multiply(x, mlprt.MatrixOperation.NONE, w.get_output(0), b_operation).get_output(0)
        y = network.add_elementwise(y, bias.get_output(0), mlprt.ElementWiseOperation.SUM).get_output(0)
        if activation is not None:
            y = network.add_activation(y, activation).get_output(0)
        y.name = "y"
        network.mark_output(y)
        config = builder.create_builder_config()
        config.set_flag(mlprt.BuilderFlag.FP16)
        print(f"== weights {'N x K' if nxk else 'K x N'}, {activation}", flush=True)
        if builder.build_serialized_network(network, config) is None:
            raise SystemExit("the build failed")


if __name__ == "__main__":
    main()
