"""evaluate_drawings.py: simulated drawings cover every condition, repeat per seed, and are read.

The fast tests draw digits typeset with Pillow's own font, so they need no data; a nearest-template
model built here from those digits checks the whole chain draw -> PNG -> preprocess -> predict.
The slow test runs the script itself on real MNIST with the committed weights. (How a drawing is
put on a canvas is digits.canvas's, tested in test_canvas.py.)
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

import evaluate_drawings as ev
import nn
from digits.preprocess import to_mnist
from training.synthetic import DIGITS as STYLES

REPO = Path(__file__).resolve().parents[1]


def typeset_digits() -> np.ndarray:
    """uint8 (10, 28, 28): the digits 0..9 in Pillow's default font, white on black."""
    font = ImageFont.load_default(size=24)
    out = []
    for k in range(10):
        img = Image.new("L", (28, 28), 0)
        ImageDraw.Draw(img).text((14, 14), str(k), fill=255, font=font, anchor="mm")
        out.append(np.asarray(img))
    return np.stack(out)


DIGITS = typeset_digits()


# ------------------------------------------------------------------------------------------------
# conditions and determinism


def test_sampled_conditions_stay_in_range_and_cover_every_bucket():
    rng = np.random.default_rng(0)
    conds = [ev.sample_conditions(rng) for _ in range(400)]
    for c in conds:
        assert ev.SIZE_RANGE[0] <= c["size"] <= ev.SIZE_RANGE[1]
        assert ev.PEN_RANGE[0] <= c["pen"] <= min(ev.PEN_RANGE[1],
                                                  ev.MAX_PEN_FRACTION * c["size"] * c["canvas"])
        assert abs(c["slant"]) <= ev.SLANT_DEGREES
    assert {ev.bucket_of(c["pen"], ev.PEN_BUCKETS) for c in conds} == {
        b[2] for b in ev.PEN_BUCKETS}
    assert {ev.bucket_of(c["size"], ev.SIZE_BUCKETS) for c in conds} == {
        b[2] for b in ev.SIZE_BUCKETS}
    assert {c["background"] for c in conds} == set(ev.BACKGROUNDS)
    assert {c["canvas"] for c in conds} == {side for side, _ in ev.CANVASES}


def test_the_same_seed_draws_the_same_pngs_and_another_seed_does_not():
    first = list(ev.draw_dataset(DIGITS, 6, seed=3))
    again = list(ev.draw_dataset(DIGITS, 6, seed=3))
    other = list(ev.draw_dataset(DIGITS, 6, seed=4))
    assert [png for *_, png in first] == [png for *_, png in again]
    assert [png for *_, png in first] != [png for *_, png in other]


# ------------------------------------------------------------------------------------------------
# the whole chain, with a model made here


def template_model() -> nn.Sequential:
    """Nearest template: scores are dot products with the unit-length preprocessed digits."""
    templates = np.stack([to_mnist(np.kron(d / 255.0, np.ones((10, 10)))) for d in DIGITS])
    dense = nn.Dense(784, 10)
    w = templates.reshape(10, 784).T  # (784, 10)
    dense.params["w"] = (30.0 * w / np.linalg.norm(w, axis=0)).astype(np.float32)
    dense.params["b"] = np.zeros(10, np.float32)
    return nn.Sequential([nn.Flatten(), dense])


def test_evaluate_reads_drawn_digits_and_reports_every_condition(tmp_path):
    images = np.tile(DIGITS, (6, 1, 1))  # 60 digits, each drawn under its own conditions
    labels = np.tile(np.arange(10, dtype=np.uint8), 6)
    model = template_model()
    report = ev.evaluate(model, images, labels, n=60, seed=0, save_dir=tmp_path, n_examples=5,
                         baselines=True)
    assert report["n"] == 60 and report["blank"] == 0
    assert report["accuracy"] > 0.85  # chance is 0.1
    assert report["baselines"]["resize_only"] < report["accuracy"] - 0.3  # cropping matters
    raw = model.predict(DIGITS[:, None] / np.float32(255.0)).argmax(axis=1) == np.arange(10)
    assert report["mnist_accuracy"] == raw.mean()  # the undrawn digits, as they are
    for key, names in [("by_background", ev.BACKGROUNDS),
                       ("by_pen", [b[2] for b in ev.PEN_BUCKETS])]:
        assert list(report[key]) == list(names)
        assert sum(v["n"] for v in report[key].values()) == 60
    files = sorted(tmp_path.iterdir())
    assert len(files) == 10  # 5 canvases, 5 side-by-side sheets
    assert all(Image.open(f).format == "PNG" for f in files)


# ------------------------------------------------------------------------------------------------
# the script, on real MNIST with the committed weights


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "evaluate_drawings.py", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_missing_weights_exit_1_with_one_clear_line(tmp_path):
    result = run("--weights", str(tmp_path / "nothing.npz"), "--n", "5")
    assert result.returncode == 1
    assert "nothing.npz" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_committed_model_reads_drawn_mnist_digits_well_above_chance(tmp_path, mnist_dir):
    weights = REPO / "weights" / "mnist_cnn.npz"
    assert weights.is_file(), f"{weights} is missing: train with `python train.py` first"
    result = run("--n", "60", "--seed", "1", "--json", "--data-dir", str(mnist_dir),
                 "--save-examples", str(tmp_path))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["n"] == 60 and report["weights"].endswith("mnist_cnn.npz")
    assert report["accuracy"] > 0.8  # chance is 0.1
    assert report["mnist_accuracy"] > 0.9
    assert set(report["by_background"]) == set(ev.BACKGROUNDS)
    assert len(list(tmp_path.glob("*_canvas.png"))) == 32


def write_unipen_test_split(folder: Path, per_digit: int = 3) -> None:
    """A small test.jsonl.gz in UNIPEN's format: digits of training/synthetic.py's style programs,
    in tablet units (y down), by two writers of two labs."""
    rng = np.random.default_rng(0)
    lines = []
    for k in range(per_digit * 10):
        label, lab, writer = k % 10, ("apb", "ced")[k % 2], f"writer{k % 2}"
        strokes = [(np.asarray(s, dtype=np.float64) * 900 + 50).round().tolist()
                   for s in STYLES[label](rng)]
        lines.append(json.dumps({"label": label, "writer": f"{lab}-{writer}", "strokes": strokes,
                                 "id": f"unipen-1a/{lab}/{writer}/{k:04d}"}))
    with gzip.open(folder / "test.jsonl.gz", "wt") as f:
        f.write("\n".join(lines) + "\n")


def test_the_unipen_evaluation_scores_strokes_and_pngs_with_its_breakdowns(tmp_path):
    write_unipen_test_split(tmp_path)
    weights = REPO / "weights" / "mnist_cnn.npz"
    result = run("--unipen", str(tmp_path), "--weights", str(weights), "--json",
                 "--mistakes", str(tmp_path / "sheet.png"))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["n"] == 30
    for form in ("strokes", "png"):
        r = report[form]
        assert r["accuracy"] > 0.8  # chance is 0.1
        assert list(r["by_digit"]) == list("0123456789")
        assert all(v["n"] == 3 for v in r["by_digit"].values())
        assert list(r["by_lab"]) == ["apb", "ced"]
        assert np.array(r["confusion"]).sum() + r["blank"] == 30
        assert Image.open(tmp_path / f"sheet_{form}.png").format == "PNG"
        assert f"as {form}" in result.stdout
    for key, buckets in [("by_pen", ev.UNIPEN_PEN_BUCKETS), ("by_size", ev.UNIPEN_SIZE_BUCKETS),
                         ("by_pen_share", ev.UNIPEN_SHARE_BUCKETS)]:
        assert list(report["png"][key]) == [b[2] for b in buckets]
        assert sum(v["n"] for v in report["png"][key].values()) == 30


def write_pendigits_split(folder: Path, split: str, writers: list[str], per_writer: int = 10):
    """A small pendigits file (UNIPEN's format, ids "pendigits-orig/tes/..."): digits of
    training/synthetic.py's style programs, every other point kept, coarse like the tablet's."""
    rng = np.random.default_rng(1)
    lines = []
    for writer in writers:
        for k in range(per_writer):
            strokes = [(np.asarray(s, dtype=np.float64)[::2] * 500 + 30).round().tolist()
                       for s in STYLES[k % 10](rng)]
            lines.append(json.dumps({"label": k % 10, "writer": writer, "strokes": strokes,
                                     "id": f"pendigits-orig/{split[:3]}/{k:05d}"}))
    with gzip.open(folder / f"{split}.jsonl.gz", "wt") as f:
        f.write("\n".join(lines) + "\n")


def test_pendigits_test_writers_are_scored_as_unipen_s_with_each_writer_apart(tmp_path):
    write_pendigits_split(tmp_path, "test", ["tes-01", "tes-02"])
    weights = REPO / "weights" / "mnist_cnn.npz"
    result = run("--pendigits", str(tmp_path), "--weights", str(weights), "--json",
                 "--mistakes", str(tmp_path / "sheet.png"))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["n"] == 20 and report["name"] == "pendigits test"
    for form in ("strokes", "png"):
        r = report[form]
        assert r["accuracy"] > 0.5  # chance is 0.1
        assert list(r["by_writer"]) == ["tes-01", "tes-02"]
        assert [v["n"] for v in r["by_writer"].values()] == [10, 10]
        assert np.array(r["confusion"]).sum() + r["blank"] == 20
        assert Image.open(tmp_path / f"sheet_{form}.png").format == "PNG"
    assert "the five read worst: tes-0" in result.stdout


def test_pendigits_held_out_training_writers_are_exactly_the_fold_s(tmp_path):
    from training.unipen import is_held_out

    writers = [f"tra-{n:02d}" for n in range(1, 7)]
    write_pendigits_split(tmp_path, "train", writers, per_writer=5)
    held = [w for w in writers if is_held_out(w, "1/2")]
    result = run("--pendigits", str(tmp_path), "--holdout", "1/2", "--weights",
                 str(REPO / "weights" / "mnist_cnn.npz"), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["name"] == "pendigits training writers held out (1/2)"
    assert list(report["strokes"]["by_writer"]) == held and report["n"] == 5 * len(held)
    # 0/1: every training writer; --smooth sends the strokes smoothed
    smoothed = run("--pendigits", str(tmp_path), "--holdout", "0/1", "--smooth", "--weights",
                   str(REPO / "weights" / "mnist_cnn.npz"), "--json")
    assert smoothed.returncode == 0, smoothed.stderr
    report = json.loads(smoothed.stdout.strip().splitlines()[-1])
    assert report["name"] == "pendigits training writers held out (0/1), smoothed"
    assert report["n"] == 30 and report["strokes"]["accuracy"] > 0.3  # chance is 0.1


@pytest.mark.parametrize("args, message", [
    (["--holdout", "1/4"], "--holdout needs --unipen DIR or --pendigits DIR"),
    (["--unipen", ".", "--holdout", "4/4"], "--holdout: expected K/N with 0 <= K < N"),
    (["--unipen", ".", "--pendigits", "."], "--unipen and --pendigits are scored apart"),
])
def test_a_bad_holdout_exits_2_with_one_clear_line(args, message):
    result = run(*args)
    assert result.returncode == 2 and message in result.stderr
