"""notebooks/mnist_from_scratch.ipynb runs top to bottom, and its text says what it prints, so
the walkthrough can never rot.

The slow test executes it with nbclient in a fresh IPython kernel (both installed by the `test`
extra), from notebooks/ as Jupyter would, on the test machine's MNIST files; it leaves the file
and its saved outputs alone. The quick test holds the saved copy readable on a repository page:
every code cell run, in order, and the pictures small. Both hold the text to the outputs: a
figure in bold in a markdown cell (**10,000**) is printed by the next code cell, and a bound
(**over 95%**) holds for the first percentage that cell prints.
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


def cell_text(cell) -> str:
    return "".join(output.get("text", "") for output in cell.outputs
                   if output.output_type == "stream")


def bold_claims_hold(notebook) -> list[str]:
    """Every bold figure of the markdown checked against the next code cell's printed text;
    returns what does not hold (empty: the text says what the notebook prints)."""
    wrong = []
    for i, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        after = next((c for c in notebook.cells[i + 1:] if c.cell_type == "code"), None)
        printed = cell_text(after) if after else ""
        for claim in re.findall(r"\*\*([^*]+)\*\*", cell.source):
            if bound := re.fullmatch(r"over ([\d.]+)%", claim):
                shown = re.search(r"([\d.]+)%", printed)
                if not shown or float(shown.group(1)) <= float(bound.group(1)):
                    wrong.append(f"{claim!r} but the next cell prints {shown and shown.group(0)}")
            elif re.fullmatch(r"[\d,.]+", claim):
                if not re.search(rf"(?<![\d,.]){re.escape(claim)}(?![\d,]|\.\d)", printed):
                    wrong.append(f"{claim!r} is not printed by the next cell: {printed[-200:]!r}")
    return wrong


def test_bold_claims_are_checked_the_way_the_notebook_words_them():
    cells = [nbformat.v4.new_markdown_cell("on **10,000** images, **over 95%** right"),
             nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output(
                 "stream", name="stdout", text="trained on 10,000 images: 97.10%\n")])]
    assert bold_claims_hold(nbformat.v4.new_notebook(cells=cells)) == []
    cells[0].source = "on **1,000** images, **over 98%** right"
    assert len(bold_claims_hold(nbformat.v4.new_notebook(cells=cells))) == 2


def test_saved_notebook_has_every_output_in_order_and_stays_small():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    assert not any(output.output_type == "error" for cell in code for output in cell.outputs)
    assert sum("image/png" in output.get("data", {}) for cell in code
               for output in cell.outputs) >= 6  # digits, filters, curves, confusion, steps, inside
    assert NOTEBOOK.stat().st_size < MAX_SAVED_BYTES
    assert bold_claims_hold(notebook) == []


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
    assert bold_claims_hold(notebook) == []
    accuracy = re.search(r"after one pass: ([\d.]+)%", text)
    assert accuracy and float(accuracy.group(1)) > 95
    assert "fewer mistakes: True" in text  # the committed model, against ours
    assert "same gradients: True, same answers: True" in text  # nn.fast, against plain nn
    read = re.findall(r"a (\d): .*preprocessed, read as (\d)", text)
    assert len(read) == 4 and all(drawn == answer for drawn, answer in read)
