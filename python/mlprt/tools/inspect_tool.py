"""``mlprt inspect``: what an engine or an ONNX model holds.

For an engine (read through ``ICudaEngine.create_engine_inspector()``): its format and mlprt
version, the device it was built for, the I/O tensors with their profiles, and every layer (an
engine step: fused network layers joined by " + ") with its kind, tactic and weight bytes, plus
the activation arena. For an ONNX model: inputs and outputs with dynamic dimensions, opsets, the
operator histogram and the operators mlprt cannot import.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys
from typing import Any, Dict, List, Sequence

import mlprt
from mlprt._core import LayerInformationFormat

__all__ = ["engine_report", "onnx_report", "register", "run"]

_ONNX_MAGIC_FIELDS = (b"\x08", b"\x12", b"\x1a", b"\x22", b"\x3a")  # first fields of a ModelProto


class InspectError(Exception):
    """A problem with the file to inspect; the message is printed as is."""


def engine_report(data: bytes) -> Dict[str, Any]:
    """The engine inspector's JSON for serialized engine ``data``, as a dict."""
    runtime = mlprt.Runtime(mlprt.Logger(mlprt.Logger.ERROR))
    engine = runtime.deserialize_cuda_engine(data)
    if engine is None:
        raise InspectError("not an engine this mlprt can load (see the message above)")
    inspector = engine.create_engine_inspector()
    return dict(json.loads(inspector.get_engine_information(LayerInformationFormat.JSON)))


def _dims_text(dims: Sequence[int]) -> str:
    return "(" + ", ".join(str(d) for d in dims) + ")"


def _print_engine(path: str, report: Dict[str, Any]) -> None:
    device = report["Device"]
    print(f"{path}: {report['Format']} built by mlprt {report['MlprtVersion']}"
          + (", FP16" if report["FP16"] else ""))
    print(f"device: {device['Name']} ({device['Platform']}, driver {device['Driver']}, "
          f"{device['OpenCLVersion']})")
    print(f"weights: {report['WeightBytes']} B, activation arena: {report['ActivationBytes']} B, "
          f"programs: {report['NumPrograms']}, profiles: {report['NumProfiles']}")
    print("I/O tensors:")
    for binding in report["Bindings"]:
        line = (f"  {binding['Mode'].lower():6} {binding['Name']}: {binding['DataType']} "
                f"{_dims_text(binding['Dimensions'])}")
        for index, profile in enumerate(binding.get("Profiles", [])):
            line += (f"  profile {index}: min {_dims_text(profile['Min'])} opt "
                     f"{_dims_text(profile['Opt'])} max {_dims_text(profile['Max'])}")
        print(line)
    layers = report["Layers"]
    print(f"layers ({len(layers)}):")
    for index, layer in enumerate(layers):
        extras = []
        if layer["TacticName"]:
            extras.append(f"tactic {layer['TacticName']}")
        if layer.get("TacticRanges"):
            ranges = ", ".join(f"{r['Tactic']} up to {r['UpToOutputElements']}" if r["UpToOutputElements"] is not None
                               else f"{r['Tactic']} beyond" for r in layer["TacticRanges"])
            extras.append(f"by output elements: {ranges}")
        if layer["Epilogue"]:
            extras.append(f"epilogue {layer['Epilogue']}")
        extras.append(f"weights {layer['WeightBytes']} B")
        if layer.get("RunsOncePerShapes"):
            extras.append("runs once per set of input shapes")
        outputs = ", ".join(f"{o['Name']} {o['DataType']} {_dims_text(o['Dimensions'])}"
                            for o in layer["Outputs"])
        print(f"  [{index}] {layer['LayerType']}: {layer['Name']}")
        print(f"      {'; '.join(extras)} -> {outputs}")


def _dims_of(value_info: Any) -> List[Any]:
    tensor_type = value_info.type.tensor_type
    if not tensor_type.HasField("shape"):
        return []
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
            for d in tensor_type.shape.dim]


def onnx_report(path: str) -> Dict[str, Any]:
    """Inputs, outputs, opsets, operator histogram and unsupported operators of an ONNX file."""
    import onnx
    from mlprt.onnx_parser import supported_operators
    from mlprt.onnx_parser.context import onnx_dtype_name

    try:
        model = onnx.load(path, load_external_data=False)
    except Exception as error:  # onnx raises DecodeError and others for a bad file
        raise InspectError(f"'{path}' is not a readable ONNX model: {error}") from None
    graph = model.graph
    initializers = {t.name for t in graph.initializer}

    def tensor(value_info: Any) -> Dict[str, Any]:
        elem = value_info.type.tensor_type.elem_type
        dtype = onnx_dtype_name(elem) if elem else "UNDEFINED"
        return {"name": value_info.name, "dtype": dtype, "shape": _dims_of(value_info)}

    histogram = collections.Counter(
        (node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}")
        for node in graph.node)
    supported = set(supported_operators())
    unsupported = sorted(op for op in histogram if op not in supported)
    return {
        "path": path,
        "ir_version": int(model.ir_version),
        "producer": f"{model.producer_name} {model.producer_version}".strip(),
        "opsets": {(o.domain or "ai.onnx"): int(o.version) for o in model.opset_import},
        "inputs": [tensor(v) for v in graph.input if v.name not in initializers],
        "outputs": [tensor(v) for v in graph.output],
        "initializers": len(initializers),
        "nodes": len(graph.node),
        "operators": dict(sorted(histogram.items())),
        "unsupported_operators": unsupported,
    }


def _print_onnx(report: Dict[str, Any]) -> None:
    print(f"{report['path']}: ONNX model, IR version {report['ir_version']}"
          + (f", produced by {report['producer']}" if report["producer"] else ""))
    print("opsets: " + ", ".join(f"{d} {v}" for d, v in report["opsets"].items()))
    for title in ("inputs", "outputs"):
        print(f"{title}:")
        for t in report[title]:
            print(f"  {t['name']}: {t['dtype']} ({', '.join(str(d) for d in t['shape'])})")
    print(f"{report['nodes']} nodes, {report['initializers']} initializers; operators:")
    for op, count in report["operators"].items():
        mark = "  (unsupported by mlprt)" if op in report["unsupported_operators"] else ""
        print(f"  {op:24} {count}{mark}")
    if report["unsupported_operators"]:
        print("unsupported operators: " + ", ".join(report["unsupported_operators"]))
    else:
        print("every operator is supported by mlprt")


def _is_onnx(path: str, head: bytes) -> bool:
    if path.lower().endswith(".onnx"):
        return True
    return not head.startswith(b"MLPRT") and head[:1] in _ONNX_MAGIC_FIELDS


def run(args: argparse.Namespace) -> int:
    """The ``mlprt inspect`` command: returns the exit status."""
    path = args.file
    if not os.path.isfile(path):
        raise InspectError(f"file '{path}' does not exist")
    with open(path, "rb") as f:
        data = f.read()
    if args.device is not None:
        mlprt.set_device(args.device)
    if _is_onnx(path, data[:8]):
        report = onnx_report(path)
        if args.json:
            json.dump(report, sys.stdout, indent=2)
            print()
        else:
            _print_onnx(report)
        return 0
    engine = engine_report(data)
    if args.json:
        json.dump(engine, sys.stdout, indent=2)
        print()
    else:
        _print_engine(path, engine)
    return 0


def _handler(args: argparse.Namespace) -> int:
    try:
        return run(args)
    except (InspectError, ValueError, OSError, mlprt.Error) as error:
        print(f"mlprt inspect: {str(error).strip() or type(error).__name__}", file=sys.stderr)
        return 1


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Adds ``mlprt inspect`` to the command line's subparsers."""
    p = subparsers.add_parser(
        "inspect", help="show what an engine or an ONNX model holds",
        description="Inspect a serialized engine (layers, tactics, memory, I/O, device) or an ONNX "
                    "model (I/O, opsets, operators, unsupported operators).")
    p.add_argument("file", metavar="ENGINE_OR_MODEL", help="a serialized engine or an .onnx file")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--device", metavar="SELECTOR",
                   help="device to load the engine on (an engine only loads on its own device)")
    p.set_defaults(handler=_handler)
