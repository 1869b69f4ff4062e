"""training.pendigits: the folder is found as the README says, a missing file is named with what
to do, the digits come with their writers, and smoothing turns a coarse polyline into a curve
through the same points without loops or overshoot."""

import gzip
import json

import numpy as np
import pytest

from training.pendigits import load_pendigits, resolve_pendigits_dir, smooth_strokes

ROW = {"source": "pendigits-orig", "split": "train", "writer": "tra-12", "label": 8,
       "strokes": [[[200, 40], [120, 120], [260, 300], [180, 380], [110, 300], [260, 110],
                    [190, 60]]], "id": "pendigits-orig/tra/00000"}


def test_a_digit_comes_with_its_writer_and_split_as_lab(tmp_path):
    with gzip.open(tmp_path / "train.jsonl.gz", "wt") as f:
        f.write(json.dumps(ROW) + "\n")
    (digit,) = load_pendigits(tmp_path, "train")
    assert (digit.label, digit.writer, digit.lab) == (8, "tra-12", "tra")
    assert digit.strokes[0].shape == (7, 2)


def test_a_missing_file_or_split_is_named_with_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="--pendigits-dir or PENDIGITS_DIR"):
        load_pendigits(tmp_path, "test")
    with pytest.raises(ValueError, match="unknown pendigits split 'dev'"):
        load_pendigits(tmp_path, "dev")


def test_the_folder_is_the_flag_else_the_environment_else_a_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PENDIGITS_DIR", raising=False)
    assert resolve_pendigits_dir(None) is None
    (tmp_path / "data" / "pendigits").mkdir(parents=True)
    (tmp_path / "data" / "pendigits" / "train.jsonl.gz").write_bytes(b"")
    assert str(resolve_pendigits_dir(None)) == "data/pendigits"
    monkeypatch.setenv("PENDIGITS_DIR", "/somewhere")
    assert str(resolve_pendigits_dir(None)) == "/somewhere"
    assert str(resolve_pendigits_dir("/given")) == "/given"


def test_smoothing_passes_through_every_point_and_samples_densely():
    strokes = (np.array(ROW["strokes"][0], float), np.array([[0.0, 0.0], [50.0, 0.0]]))
    smooth = smooth_strokes(strokes, step=0.02)
    curve = smooth[0]
    # every recorded point is on the curve, in order, and the ends stay the ends
    nearest = [int(np.argmin(np.linalg.norm(curve - p, axis=1))) for p in strokes[0]]
    assert np.allclose(curve[nearest], strokes[0]) and nearest == sorted(nearest)
    assert nearest[0] == 0 and nearest[-1] == len(curve) - 1
    steps = np.linalg.norm(np.diff(curve, axis=0), axis=1)
    assert steps.max() <= 0.02 * 340 * 1.5  # the drawing's longer side is 340 units
    # a two-point stroke is a straight line already: kept as it is
    assert np.array_equal(smooth[1], strokes[1])


def test_smoothing_neither_loops_nor_overshoots_at_a_sharp_turn():
    zigzag = np.array([[0.0, 0.0], [100.0, 0.0], [0.0, 10.0], [100.0, 10.0]])
    (curve,) = smooth_strokes([zigzag], step=0.01)
    lo, hi = curve.min(axis=0), curve.max(axis=0)
    assert lo[0] > -10 and hi[0] < 110 and lo[1] > -5 and hi[1] < 15
    # a pen at rest (repeated points) makes no degenerate piece
    (rest,) = smooth_strokes([np.repeat(zigzag, 2, axis=0)])
    assert np.isfinite(rest).all()
