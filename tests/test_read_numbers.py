"""scripts/read_numbers.py: single digits through /api/read's reading, and the sheet of those
it misreads."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PIL import Image

import nn
from conftest import FOUR, ONE, SEVEN, dense
from scripts.read_numbers import misread_sheet, score_single
from web.judge import Judge

REPO = Path(__file__).resolve().parent.parent


def test_single_digits_misread_are_kept_for_a_sheet(tmp_path):
    judge = Judge(nn.load(REPO / "weights" / "mnist_cnn.npz"),
                  nn.load(REPO / "weights" / "not_a_digit.npz"))
    digits = [SimpleNamespace(strokes=[np.array(dense(s, 0.01)) * 100 for s in shape],
                              label=label, writer=f"w{label}")
              for label, shape in [(7, SEVEN), (4, FOUR), (1, ONE)]]
    digits.append(SimpleNamespace(strokes=digits[0].strokes, label=3, writer="wrong"))
    report = score_single(digits, judge)
    assert report["n"] == 4 and report["read_accuracy"] == 0.75
    [(number, read, png)] = report["misread"]  # the 7 said to be a 3
    assert (number.text, read, png, number.writer) == ("3", "7", None, "wrong")
    misread_sheet(tmp_path / "single.png", report["misread"], "single digits")
    assert Image.open(tmp_path / "single.png").size[1] > 40
