"""The importer registry: one function per ONNX operator, registered with ``@importer``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from mlprt.onnx_parser.context import ImporterContext, Node, Value

ImporterFn = Callable[["ImporterContext", "Node"], Sequence["Value"]]

#: The lowest opset the importers handle; models of older opsets are converted to it.
MIN_OPSET = 11

#: The lowest opset the parser accepts: opsets OLDEST_OPSET to MIN_OPSET - 1 are converted to
#: MIN_OPSET with onnx.version_converter before import. Its adapters reach back to opset 1 (the
#: old exporters' opset-6 models, Gemm's broadcast attribute included, convert), so every opset is
#: accepted; what the converter cannot convert is reported by node.
OLDEST_OPSET = 1


@dataclass(frozen=True)
class ImporterInfo:
    """An operator's importer and what the support matrix says about it."""

    op_type: str
    function: ImporterFn
    since: int = MIN_OPSET
    notes: str = ""
    family: str = ""


_REGISTRY: Dict[str, ImporterInfo] = {}


def importer(*op_types: str, since: int = MIN_OPSET, notes: str = "") -> Callable[[ImporterFn], ImporterFn]:
    """Registers the decorated function as the importer of ``op_types`` (ONNX default domain).

    ``since`` is the first opset where the operator exists (or is supported); ``notes`` goes to
    the support matrix (docs/operators.md).
    """

    def register(function: ImporterFn) -> ImporterFn:
        family = function.__module__.rsplit(".", 1)[-1]
        for op_type in op_types:
            if op_type in _REGISTRY:
                raise RuntimeError(f"two importers for ONNX operator {op_type}")
            _REGISTRY[op_type] = ImporterInfo(op_type, function, since, notes, family)
        return function

    return register


def _load() -> None:
    # Importing the op modules fills the registry.
    from mlprt.onnx_parser import ops  # noqa: F401


def lookup(op_type: str) -> Optional[ImporterInfo]:
    """The importer of ``op_type``, or None."""
    _load()
    return _REGISTRY.get(op_type)


def all_importers() -> List[ImporterInfo]:
    """Every registered importer, sorted by operator name."""
    _load()
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]
