"""Where an engine's run goes, layer by layer (IExecutionContext.profiler): shared by the bench
scripts that time whole models (cnn_bench.py, transformer_bench.py), imported from beside them."""
from __future__ import annotations

import json
from typing import Callable, Dict, List

import mlprt
from mlprt.profiler import LayerTimes


def layer_profile(plan: bytes, make_runner: Callable[[LayerTimes], Callable[[], object]], wall_ms: float,
                  iterations: int = 10, top: int = 10) -> str:
    """Each layer's device time, median over `iterations` runs of the runner that
    `make_runner(profiler)` returns, summed by layer kind and tactic, set against the engine's wall
    time (numpy in and out): the gap is launch overhead, copies and idle device time."""
    engine = mlprt.Runtime(mlprt.Logger(mlprt.Logger.WARNING)).deserialize_cuda_engine(plan)
    inspector = engine.create_engine_inspector()
    layers = [json.loads(inspector.get_layer_information(i, mlprt.LayerInformationFormat.JSON))
              for i in range(engine.num_layers)]
    kind_of = {layer["Name"]: f"{layer['LayerType']}/{layer['TacticName'] or '-'}" for layer in layers}
    profiler = LayerTimes()
    run = make_runner(profiler)
    for _ in range(iterations):
        run()
    medians = {row["name"]: row["medianMs"] for row in profiler.rows()}
    total = sum(medians.values())
    by_kind: Dict[str, List[float]] = {}
    for name, ms in medians.items():
        by_kind.setdefault(kind_of.get(name, "?"), []).append(ms)
    kinds = sorted(by_kind.items(), key=lambda kv: -sum(kv[1]))
    slowest = sorted(medians.items(), key=lambda kv: -kv[1])[:top]
    return (f"profile: {len(medians)} layers, device time {total:.3f} ms of {wall_ms:.3f} ms wall "
            f"({100 * total / wall_ms:.0f}%); by kind: " +
            "; ".join(f"{kind} x{len(v)} {sum(v):.3f}" for kind, v in kinds) +
            "\nslowest layers: " + "; ".join(f"{name} ({kind_of.get(name, '?')}) {ms:.4f}" for name, ms in slowest))
