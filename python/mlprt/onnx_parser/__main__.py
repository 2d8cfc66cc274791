"""``python -m mlprt.onnx_parser --markdown``: prints the operator support matrix;
``--list``: the supported operator names, one a line."""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from mlprt.onnx_parser import supported_operators
from mlprt.onnx_parser.markdown import support_matrix_markdown


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m mlprt.onnx_parser", description=__doc__)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--markdown", action="store_true", help="print docs/operators.md")
    group.add_argument("--list", action="store_true", help="print the supported operators")
    args = parser.parse_args(argv)
    if args.markdown:
        sys.stdout.write(support_matrix_markdown())
    else:
        sys.stdout.write("".join(op + "\n" for op in supported_operators()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
