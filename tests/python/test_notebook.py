"""examples/tutorial.ipynb runs from top to bottom, and is stored without outputs.

The notebook runs in a Jupyter kernel started from this interpreter (sys.executable), with this
process's environment (PYTHONPATH, MLPRT_CACHE_DIR, MLPRT_DEVICE). The kernel spec is written to
a temporary directory put first on JUPYTER_PATH, so nothing needs installing and nothing outside
the test's temporary directory is written.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "tutorial.ipynb"
KERNEL_NAME = "mlprt-notebook-test"


def test_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code_cells
    dirty = [i for i, cell in enumerate(code_cells) if cell.outputs or cell.execution_count is not None]
    assert not dirty, f"code cells {dirty} carry outputs; clear them before committing"


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """A kernel spec running this interpreter, found through JUPYTER_PATH; matplotlib on Agg."""
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"mlprt test ({sys.executable})",
        "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "matplotlib"))
    # The kernel imports the same mlprt as this process (an installed or a staged copy).
    import mlprt
    search_path = [str(Path(mlprt.__file__).parent.parent)] + [p for p in [os.environ.get("PYTHONPATH")] if p]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(search_path))
    return tmp_path


def test_tutorial_notebook_runs(kernel_env):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # The kernel starts in examples/, as when a user opens the notebook there (it imports
    # yolo_detector.py from beside it); every file it writes goes to a temporary directory.
    client = NotebookClient(nb, kernel_name=KERNEL_NAME, timeout=300, allow_errors=False,
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    try:
        client.execute()
    except CellExecutionError as error:  # the message holds the failing cell and its traceback
        pytest.fail(f"a notebook cell failed:\n{error}")

    def text(cell) -> str:
        return "".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream")

    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    errors = [out for cell in code_cells for out in cell.outputs if out.output_type == "error"]
    assert not errors
    everything = "\n".join(text(cell) for cell in code_cells)
    assert "all engines agree with PyTorch and ONNX Runtime" in everything, everything
    for name in ("static_fp32", "static_fp16", "dynamic_fp32", "dynamic_fp16"):
        assert f"{name}" in everything
    # The latency table covers batches 1..64 and the plot was rendered as an image.
    assert any(line.split()[:1] == ["64"] for line in everything.splitlines())
    images = [out for cell in code_cells for out in cell.outputs
              if out.output_type == "display_data" and "image/png" in out.get("data", {})]
    assert len(images) == 2  # the latency plot and the picture with its boxes
    assert "YOLOv8n output (1, 84, 525); drawing the 5 best boxes" in everything, everything
    assert "removed" in text(code_cells[-1])
