"""Importers, grouped by operator family; importing this package registers them all."""
from mlprt.onnx_parser.ops import data_dependent, einsum, loss, math, nn, shape, vision  # noqa: F401
