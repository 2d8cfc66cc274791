"""The type stubs of mlprt._core name everything the module exports (regenerate with
`pybind11-stubgen mlprt._core -o <dir>` after changing a binding)."""
from __future__ import annotations

import ast
from pathlib import Path

import mlprt
from mlprt import _core


def test_stub_declares_every_public_name() -> None:
    stub = Path(mlprt.__file__).with_name("_core.pyi")
    assert stub.exists(), "python/mlprt/_core.pyi is missing from the package"
    tree = ast.parse(stub.read_text())
    declared = {node.name for node in tree.body if isinstance(node, (ast.ClassDef, ast.FunctionDef))}
    declared |= {target.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
                 for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
                 if isinstance(target, ast.Name)}
    exported = {name for name in dir(_core) if not name.startswith("_")}
    assert exported - declared == set()
