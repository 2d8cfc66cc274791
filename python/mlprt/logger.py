"""TensorRT's logging interface: ``ILogger`` to subclass, ``Logger`` to print.

Messages from mlprt's C++ core (build warnings, cache problems, ...) reach the logger that was
last handed to a Builder or a Runtime, as in TensorRT, whose library keeps one logger for the
process.
"""
from __future__ import annotations

import sys

from mlprt import _core

__all__ = ["ILogger", "Logger"]

Severity = _core.Severity
_LETTERS = {Severity.INTERNAL_ERROR: "F", Severity.ERROR: "E", Severity.WARNING: "W",
            Severity.INFO: "I", Severity.VERBOSE: "V"}


class ILogger:
    """Base class of loggers: subclass it and implement ``log(severity, msg)``."""

    Severity = _core.Severity
    INTERNAL_ERROR = Severity.INTERNAL_ERROR
    ERROR = Severity.ERROR
    WARNING = Severity.WARNING
    INFO = Severity.INFO
    VERBOSE = Severity.VERBOSE

    def log(self, severity: "_core.Severity", msg: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError("ILogger subclasses implement log(severity, msg)")


class Logger(ILogger):
    """Prints messages at or above ``min_severity`` to stderr, as ``[mlprt] [W] message``."""

    def __init__(self, min_severity: "_core.Severity" = Severity.WARNING) -> None:
        self.min_severity = min_severity

    def log(self, severity: "_core.Severity", msg: str) -> None:
        if int(severity) <= int(self.min_severity):
            print(f"[mlprt] [{_LETTERS.get(severity, '?')}] {msg}", file=sys.stderr, flush=True)


def _route_core_messages(logger: ILogger) -> None:
    """Sends the core's messages to ``logger`` (called by Builder and Runtime). A ``Logger``
    filters in C++ by its minimum severity; other ILoggers receive every message."""
    if not isinstance(logger, ILogger) and not callable(getattr(logger, "log", None)):
        raise TypeError(f"a logger needs a log(severity, msg) method; got {type(logger).__name__}")
    threshold = logger.min_severity if isinstance(logger, Logger) else Severity.VERBOSE
    _core.set_log_sink(logger.log, threshold)
