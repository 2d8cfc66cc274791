"""Importers, grouped by operator family; importing this package registers them all."""
from mlprt.onnx_parser.ops import (activation, attention, data_dependent, einsum, generator, loss, math,  # noqa: F401
                                   nn, normalization, shape, vision)
