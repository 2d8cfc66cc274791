"""What a network benchmark keeps of an engine's build (bench/cnn_bench.py,
bench/transformer_bench.py): the builder's timing of each step's chosen tactic and the driver's
compiles, read from the core's verbose log, and how many layers run each tactic, from the engine
inspector. Imported from beside them (a script's own folder is on sys.path)."""
from __future__ import annotations

import sys
from typing import Dict, List, Tuple

import mlprt
from timing import compiled_program


class StepTimes(mlprt.ILogger):
    """Keeps the builder's timing of each step's chosen tactic ("step 'name': chose T (timed ...
    T=0.123ms ...)" at VERBOSE): the device time of every step alone, to set against the
    engine's whole run; and the driver's compiles ("program compiled in ..." at VERBOSE)."""

    def __init__(self) -> None:
        mlprt.ILogger.__init__(self)
        self.steps: List[tuple] = []
        self.compiles: List[Tuple[float, str, str]] = []

    def log(self, severity: "mlprt.Logger.Severity", msg: str) -> None:
        compiled = compiled_program(msg)
        if compiled:
            self.compiles.append(compiled)
        elif ": chose " in msg and "(timed" in msg:
            name = msg.split("'")[1]
            tactic = msg.split(": chose ")[1].split()[0]
            for part in msg.split("(timed")[1].rstrip(")").split():
                if part.startswith(tactic + "="):
                    self.steps.append((float(part.split("=")[1].rstrip("ms")), tactic, name))
        elif int(severity) <= int(mlprt.Logger.WARNING):
            print(msg, file=sys.stderr)

    def summary(self, top: int = 8) -> str:
        total = sum(t for t, _, _ in self.steps)
        slowest = sorted(self.steps, reverse=True)[:top]
        return (f"timed steps: {len(self.steps)}, sum of chosen tactics {total:.3f} ms; slowest: " +
                "; ".join(f"{n} {tac} {t:.3f}" for t, tac, n in slowest))


def tactic_tally(plan: bytes) -> Dict[str, int]:
    """How many of the engine's layers run each tactic (from the engine inspector)."""
    engine = mlprt.Runtime(mlprt.Logger(mlprt.Logger.WARNING)).deserialize_cuda_engine(plan)
    tally: Dict[str, int] = {}
    text = engine.create_engine_inspector().get_engine_information(mlprt.LayerInformationFormat.ONELINE)
    for line in text.splitlines():
        if " tactic=" in line:
            tactic = line.split(" tactic=")[1].split()[0]
            tally[tactic] = tally.get(tactic, 0) + 1
    return tally
