"""``mlprt compare MODEL.onnx``: run an mlprt engine and ONNX Runtime (CPU) on the same random
inputs and compare every output.

The pass rule is :mod:`mlprt.testing`'s (numpy.allclose's with ONNX Runtime as the reference):
every element must satisfy ``|mlprt - onnxruntime| <= atol + rtol * |onnxruntime|``. Exit status:
0 when every output passed, 1 when one failed or the engine could not be built or loaded, 2 for
wrong arguments.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Dict, List, Optional

from mlprt.engine_tools import BuildFailed, profile_from_shapes
from mlprt.tools.shapes import parse_shape_flag

__all__ = ["register", "run"]

_EPILOG = """\
pass rule: every element of every output satisfies
  |mlprt - onnxruntime| <= atol + rtol * |onnxruntime|     (numpy.allclose, ONNX Runtime as reference)
defaults: atol = rtol = 1e-5; with --fp16 1e-2 each.
inputs: uniform in [-1, 1) (integers in [0, 10)), drawn with --seed; static inputs use their own
shape, dynamic dimensions not given in --input-shapes the profile's opt.
shapes: trtexec's name:7x784[,name2:...] or Polygraphy's name:[7,784] [name2:[...]] (several
inputs separated by spaces or commas) in --input-shapes/--shapes and the profile flags
(--minShapes/--optShapes/--maxShapes, or Polygraphy's --trt-min-shapes/--trt-opt-shapes/
--trt-max-shapes).
"""


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> argparse.ArgumentParser:
    """Adds the ``compare`` subcommand to the ``mlprt`` command line's subparsers."""
    parser = subparsers.add_parser(
        "compare", help="compare an engine's outputs with ONNX Runtime's",
        description="Build (or load) an engine for an ONNX model, run it and ONNX Runtime (CPU) "
                    "on the same random inputs, and compare every output.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    # nargs="?": a model written after a shape flag's values is taken back from them in run().
    parser.add_argument("model", nargs="?", help="the ONNX model (.onnx)")
    parser.add_argument("--fp16", action="store_true",
                        help="build with FP16 and use its looser default tolerances "
                             "(with --loadEngine: only the tolerances)")
    shapes = dict(nargs="+", action="extend", default=[], metavar="SHAPE")
    parser.add_argument("--minShapes", "--trt-min-shapes", dest="minShapes", **shapes,
                        help="profile minimum, e.g. input:1x784 or input:[1,784]")
    parser.add_argument("--optShapes", "--trt-opt-shapes", dest="optShapes", **shapes,
                        help="profile opt, e.g. input:32x784 or input:[32,784]")
    parser.add_argument("--maxShapes", "--trt-max-shapes", dest="maxShapes", **shapes,
                        help="profile maximum, e.g. input:64x784 or input:[64,784]")
    parser.add_argument("--loadEngine", metavar="FILE", help="compare this engine instead of building one")
    parser.add_argument("--saveEngine", metavar="FILE", help="write the engine that was built")
    parser.add_argument("--input-shapes", "--shapes", dest="input_shapes", **shapes,
                        help="inference shapes, e.g. input:4x784 or input:[4,784]; several inputs "
                             "separated by commas or spaces")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    parser.add_argument("--atol", type=float, default=None, help="absolute tolerance (default 1e-5, 1e-2 with --fp16)")
    parser.add_argument("--rtol", type=float, default=None, help="relative tolerance (default 1e-5, 1e-2 with --fp16)")
    parser.set_defaults(handler=run)
    return parser


def _fail(message: str) -> int:
    print(f"mlprt compare: {message}", file=sys.stderr)
    return 1


def run(args: argparse.Namespace) -> int:
    """Runs ``mlprt compare`` with parsed arguments; returns the exit status."""
    from mlprt import testing
    from mlprt.engine_tools import build_engine, default_profile, model_inputs

    if args.model is None:
        args.model = _model_after_shapes(args)
    if args.model is None:
        return _fail("the ONNX model is missing (mlprt compare MODEL.onnx [options])")
    if not os.path.isfile(args.model):
        return _fail(f"no such model file: {args.model}")
    try:
        input_shapes = parse_shape_flag(args.input_shapes, "--input-shapes")
        profile_parts = [parse_shape_flag(args.minShapes, "--minShapes"),
                         parse_shape_flag(args.optShapes, "--optShapes"),
                         parse_shape_flag(args.maxShapes, "--maxShapes")]
    except ValueError as error:
        return _fail(str(error))

    engine: Any
    if args.loadEngine:
        if any(profile_parts):
            return _fail("--minShapes/--optShapes/--maxShapes apply to building; drop them with --loadEngine")
        try:
            with open(args.loadEngine, "rb") as f:
                engine = f.read()
        except OSError as error:
            return _fail(f"cannot read the engine: {error}")
        origin = f"engine loaded from {args.loadEngine}"
    else:
        if any(profile_parts):
            profiles: List[Dict[str, Any]] = [profile_from_shapes(*profile_parts)]
        else:
            try:
                profile = default_profile(model_inputs(args.model), input_shapes)
            except (BuildFailed, ValueError) as error:
                return _fail(str(error))
            profiles = [profile] if profile else []
        try:
            engine = build_engine(args.model, fp16=args.fp16, profiles=profiles)
        except BuildFailed as error:
            return _fail(str(error))
        except ValueError as error:
            return _fail(f"bad profile: {error}")
        if args.saveEngine:
            with open(args.saveEngine, "wb") as f:
                f.write(engine)
        ranges = "; ".join(f"{name} {_dims(lo)}..{_dims(hi)} opt {_dims(opt)}"
                           for profile in profiles for name, (lo, opt, hi) in profile.items())
        origin = f"engine built ({'fp16' if args.fp16 else 'fp32'}" + (f", profile {ranges})" if ranges else ")")

    try:
        report = testing.compare_with_onnxruntime(
            args.model, engine=engine, rtol=args.rtol, atol=args.atol, fp16=args.fp16,
            seed=args.seed, input_shapes=input_shapes)
    except (ValueError, BuildFailed) as error:
        return _fail(str(error))
    except Exception as error:  # noqa: BLE001  (mlprt.Error, onnxruntime's exception types)
        return _fail(f"{type(error).__name__}: {error}")
    print(f"mlprt compare {args.model}: {origin}; onnxruntime CPUExecutionProvider; seed {args.seed}")
    print(report)
    return 0 if report.passed else 1


def _model_after_shapes(args: argparse.Namespace) -> Optional[str]:
    """A shape flag takes every argument up to the next flag (Polygraphy's space-separated
    inputs), so a model written after one (``--input-shapes x:[1,2] model.onnx``) lands among
    its values: the last value without a colon is taken back as the model."""
    for attribute in ("input_shapes", "minShapes", "optShapes", "maxShapes"):
        values: List[str] = getattr(args, attribute)
        if values and ":" not in values[-1]:
            return values.pop()
    return None


def _dims(shape: Any) -> str:
    return "x".join(str(d) for d in shape) or "scalar"


def main(argv: Optional[List[str]] = None) -> int:
    """Runs ``compare`` alone (``python -m mlprt.tools.compare_tool MODEL``)."""
    parser = argparse.ArgumentParser(prog="mlprt")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["compare", *(sys.argv[1:] if argv is None else argv)])
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
