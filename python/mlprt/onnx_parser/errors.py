"""Error reporting of the ONNX parser: TensorRT's ``ErrorCode`` names and ``ParserError``."""
from __future__ import annotations

import enum
from typing import Optional

__all__ = ["ErrorCode", "ParserError", "ImportFailure"]


class ErrorCode(enum.IntEnum):
    """Kinds of parser errors, with TensorRT's names and values."""

    SUCCESS = 0
    INTERNAL_ERROR = 1
    MEM_ALLOC_FAILED = 2
    MODEL_DESERIALIZE_FAILED = 3
    INVALID_VALUE = 4
    INVALID_GRAPH = 5
    INVALID_NODE = 6
    UNSUPPORTED_GRAPH = 7
    UNSUPPORTED_NODE = 8
    UNSUPPORTED_NODE_ATTR = 9
    UNSUPPORTED_NODE_INPUT = 10
    UNSUPPORTED_NODE_DATATYPE = 11
    UNSUPPORTED_NODE_DYNAMIC = 12
    UNSUPPORTED_NODE_SHAPE = 13
    REFIT_FAILED = 14


class ParserError:
    """One problem found while parsing, as TensorRT's ``IParserError``.

    ``node()`` is the index of the ONNX node concerned in the graph (-1 when the error is about
    the model or graph as a whole); ``node_name()`` and ``node_operator()`` are that node's name
    and op type ("" when there is no node).
    """

    def __init__(self, code: ErrorCode, desc: str, node: int = -1, node_name: str = "",
                 node_operator: str = "") -> None:
        self._code = ErrorCode(code)
        self._desc = desc
        self._node = node
        self._node_name = node_name
        self._node_operator = node_operator

    def code(self) -> ErrorCode:
        """The kind of error."""
        return self._code

    def desc(self) -> str:
        """What went wrong, in words."""
        return self._desc

    def node(self) -> int:
        """Index of the node in the graph, or -1."""
        return self._node

    def node_name(self) -> str:
        """The node's name ("" when it has none or there is no node)."""
        return self._node_name

    def node_operator(self) -> str:
        """The node's op type ("" when there is no node)."""
        return self._node_operator

    def file(self) -> str:
        """Source file of the error (TensorRT API; always "mlprt.onnx_parser")."""
        return "mlprt.onnx_parser"

    def line(self) -> int:
        """Source line (TensorRT API; always 0)."""
        return 0

    def func(self) -> str:
        """Function that raised the error (TensorRT API; the op type or "parse")."""
        return self._node_operator or "parse"

    def where(self) -> str:
        """``node 3 'fc2' (Gemm)``, or ``model`` when the error concerns no node."""
        if self._node < 0:
            return "model"
        return f"node {self._node} '{self._node_name}' ({self._node_operator})"

    def __str__(self) -> str:
        return f"{self.where()}: {self._desc} [{self._code.name}]"

    def __repr__(self) -> str:
        return f"<ParserError {self}>"


class ImportFailure(Exception):
    """Raised by importers and helpers; the parser turns it into a ParserError for the node."""

    def __init__(self, code: ErrorCode, desc: str, node_index: Optional[int] = None) -> None:
        super().__init__(desc)
        self.code = code
        self.desc = desc
        self.node_index = node_index


def unsupported(desc: str, code: ErrorCode = ErrorCode.UNSUPPORTED_NODE) -> ImportFailure:
    """An ImportFailure saying that something valid cannot be expressed (raise it)."""
    return ImportFailure(code, desc)


def invalid(desc: str, code: ErrorCode = ErrorCode.INVALID_NODE) -> ImportFailure:
    """An ImportFailure saying that the model itself is wrong (raise it)."""
    return ImportFailure(code, desc)
