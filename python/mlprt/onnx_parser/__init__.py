"""mlprt's ONNX parser: TensorRT's ``OnnxParser`` on top of the ``onnx`` package.

>>> network = mlprt.INetworkDefinition()
>>> parser = OnnxParser(network, mlprt.Logger())
>>> if not parser.parse_from_file("model.onnx"):
...     for i in range(parser.num_errors): print(parser.get_error(i))

``python -m mlprt.onnx_parser --markdown`` prints the operator support matrix.
"""
from __future__ import annotations

from typing import List

from mlprt.onnx_parser.errors import ErrorCode, ParserError
from mlprt.onnx_parser.parser import OnnxParser
from mlprt.onnx_parser.registry import all_importers

__all__ = ["OnnxParser", "ErrorCode", "ParserError", "supported_operators"]


def supported_operators() -> List[str]:
    """The ONNX operators (default domain) the parser imports, sorted."""
    return [info.op_type for info in all_importers()]
