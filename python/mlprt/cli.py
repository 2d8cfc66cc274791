"""The ``mlprt`` command line.

``mlprt devices`` lists the OpenCL devices and marks the default one; ``mlprt exec`` (trtexec),
``mlprt inspect`` and ``mlprt compare`` (Polygraphy's engine-versus-ONNX-Runtime check) live in
:mod:`mlprt.tools`, one module each.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

import mlprt


def _format_bytes(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"


def _devices_command(args: argparse.Namespace) -> int:
    devices = mlprt.devices()
    try:
        default_index: Optional[int] = mlprt.default_device().index
        default_error = ""
    except (ValueError, mlprt.Error) as error:
        default_index, default_error = None, str(error)

    if args.json:
        rows = [{
            "index": d.index, "coordinates": d.coordinates, "platform": d.platform,
            "name": d.name, "vendor": d.vendor, "type": d.type,
            "global_memory": d.global_memory, "max_allocation": d.max_allocation,
            "compute_units": d.compute_units, "fp16": d.fp16,
            "driver_version": d.driver_version, "opencl_version": d.opencl_version,
            "default": d.index == default_index,
        } for d in devices]
        json.dump(rows, sys.stdout, indent=2)
        print()
        return 0 if devices else 1

    if not devices:
        print("No OpenCL device found. Install a driver (on CPUs: apt-get install "
              "pocl-opencl-icd) and check /etc/OpenCL/vendors.", file=sys.stderr)
        return 1
    header = ("", "index", "p:d", "type", "name", "platform", "memory", "CUs", "fp16", "driver")
    rows_text: List[tuple] = [header]
    for d in devices:
        rows_text.append(("*" if d.index == default_index else "", str(d.index), d.coordinates,
                          d.type, d.name, d.platform, _format_bytes(d.global_memory),
                          str(d.compute_units), "yes" if d.fp16 else "no", d.driver_version))
    widths = [max(len(row[i]) for row in rows_text) for i in range(len(header))]
    for row in rows_text:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    if default_index is None:
        print(f"\nNo default device: {default_error}", file=sys.stderr)
        return 1
    print("\n* default device (choose another with MLPRT_DEVICE=<index | p:d | name part>)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlprt", description="mlprt: TensorRT's workflow on OpenCL devices")
    parser.add_argument("--version", action="version", version=f"mlprt {mlprt.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    devices = commands.add_parser("devices", help="list OpenCL devices and the default one")
    devices.add_argument("--json", action="store_true", help="print JSON instead of a table")
    devices.set_defaults(handler=_devices_command)
    from mlprt.tools import exec_tool, inspect_tool
    exec_tool.register(commands)
    inspect_tool.register(commands)
    from mlprt.tools import compare_tool
    compare_tool.register(commands)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``mlprt`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args))
    except (mlprt.Error, ValueError) as error:
        print(f"mlprt {args.command}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
