"""The builder's own tactic timings for one FP16 product with bias, without and with each of a few
activations in its epilogue (BERT-base's FFN-in: 4096 x 768 by 768 x 3072): which tile wins and
what the epilogue costs. Prints the builder's verbose "chose ... (timed ...)" line per case.

    python3 bench/epilogue_probe.py [--m 4096 --k 768 --n 3072]
"""
from __future__ import annotations

import argparse

import numpy as np

import mlprt


class _TacticLines(mlprt.ILogger):
    """Prints the builder's tactic choices."""

    def __init__(self) -> None:
        super().__init__()

    def log(self, severity: "mlprt.Logger.Severity", msg: str) -> None:
        if "chose" in msg or "cannot run" in msg:
            print(msg, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=4096)
    parser.add_argument("--k", type=int, default=768)
    parser.add_argument("--n", type=int, default=3072)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    act = mlprt.ActivationType
    for activation in (None, act.GELU_ERF, act.GELU_TANH, act.RELU):
        builder = mlprt.Builder(_TacticLines())
        network = builder.create_network(0)
        x = network.add_input("x", mlprt.DataType.FLOAT, (args.m, args.k))
        w = network.add_constant((args.k, args.n), (rng.standard_normal((args.k, args.n)) * 0.03).astype(np.float32))
        bias = network.add_constant((1, args.n), rng.standard_normal((1, args.n)).astype(np.float32))
        y = network.add_matrix_multiply(x, mlprt.MatrixOperation.NONE, w.get_output(0),
                                        mlprt.MatrixOperation.NONE).get_output(0)
        y = network.add_elementwise(y, bias.get_output(0), mlprt.ElementWiseOperation.SUM).get_output(0)
        if activation is not None:
            y = network.add_activation(y, activation).get_output(0)
        y.name = "y"
        network.mark_output(y)
        config = builder.create_builder_config()
        config.set_flag(mlprt.BuilderFlag.FP16)
        print(f"== {activation}", flush=True)
        if builder.build_serialized_network(network, config) is None:
            raise SystemExit("the build failed")


if __name__ == "__main__":
    main()
