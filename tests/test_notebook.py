"""notebooks/mnist_from_scratch.ipynb runs top to bottom, so the walkthrough can never rot.

The slow test executes it with nbclient in a fresh IPython kernel (both installed by the `test`
extra), from notebooks/ as Jupyter would, on the test machine's MNIST files; it leaves the file
and its saved outputs alone. The quick test holds the saved copy readable on a repository page:
every code cell run, in order, and the pictures small.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "mnist_from_scratch.ipynb"
MAX_SAVED_BYTES = 400_000  # it is about 210 KB: pictures at 72 dpi


def stream_text(notebook) -> str:
    return "".join(output.get("text", "") for cell in notebook.cells
                   if cell.cell_type == "code" for output in cell.outputs
                   if output.output_type == "stream")


def test_saved_notebook_has_every_output_in_order_and_stays_small():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    assert not any(output.output_type == "error" for cell in code for output in cell.outputs)
    assert sum("image/png" in output.get("data", {}) for cell in code
               for output in cell.outputs) >= 6  # digits, filters, curves, confusion, steps, inside
    assert NOTEBOOK.stat().st_size < MAX_SAVED_BYTES


@pytest.mark.slow
def test_notebook_runs_top_to_bottom_and_its_claims_hold(mnist_dir, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    # One BLAS thread for the kernel: on a machine busy with other jobs, OpenBLAS's two threads
    # wait for each other on every multiply (the whole notebook took 360 s instead of 75 s).
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    text = stream_text(notebook)
    assert "magic 0x00000803, 60,000 images of 28 x 28" in text  # the header read by hand
    assert "same answer: True" in text and "the same as the layer: True" in text  # im2col
    accuracy = re.search(r"after a minute of training: ([\d.]+)%", text)
    assert accuracy and float(accuracy.group(1)) > 95
    read = re.findall(r"a (\d): .*preprocessed, read as (\d)", text)
    assert len(read) == 4 and all(drawn == answer for drawn, answer in read)
