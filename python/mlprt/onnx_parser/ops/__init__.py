"""Importers, grouped by operator family; importing this package registers them all."""
from mlprt.onnx_parser.ops import (activation, data_dependent, einsum, generator, loss, math, nn,  # noqa: F401
                                   normalization, shape, vision)
