"""train.py as a learner uses it: a smoke run learns, a killed run resumes to the same weights,
the report and plots are written, and mistakes get one clear line and a non-zero exit code."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import nn
import train

REPO = Path(__file__).resolve().parent.parent
SMALL = ["--limit", "600", "--val-size", "500", "--batch-size", "64"]


def run_train(args, mnist_dir, **kwargs):
    """`python train.py ARGS` in a real process, as a user would start it."""
    env = {**os.environ, "MNIST_DIR": str(mnist_dir)}
    return subprocess.Popen([sys.executable, str(REPO / "train.py"), *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def weights(path):
    model = nn.load(path)
    return [p.copy() for params, _ in model.parameters() for p in params.values()]


@pytest.mark.slow
def test_smoke_run_on_2000_images_learns(tmp_path, mnist_dir, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    out = tmp_path / "smoke.npz"
    assert train.main(["--limit", "2000", "--epochs", "3", "--seed", "1", "--out", str(out)]) == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["val_accuracy"] >= 0.90, report["history"]
    assert [h["epoch"] for h in report["history"]] == [1, 2, 3]
    assert np.array(report["confusion_matrix"]).sum() == 10_000
    assert report["test_accuracy"] == pytest.approx(
        np.trace(report["confusion_matrix"]) / 10_000)
    for suffix in ("_curves.png", "_confusion.png", "_errors.png"):
        png = tmp_path / f"smoke{suffix}"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    assert not (tmp_path / "smoke.ckpt.npz").exists()  # removed once the run is complete
    model = nn.load(out)
    assert model.meta["test_accuracy"] == report["test_accuracy"]


@pytest.mark.slow
@pytest.mark.parametrize("extra", [[], ["--ema", "0.99", "--unipen-copies", "0",
                                         "--pendigits-copies", "0"]],
                         ids=["last weights", "ema"])  # the pen sources' redrawing: once
def test_a_killed_run_resumes_to_the_same_weights(tmp_path, mnist_dir, extra):
    args = [*SMALL, "--epochs", "4", "--seed", "7", *extra]
    whole = run_train([*args, "--out", str(tmp_path / "whole.npz")], mnist_dir)

    killed_out = tmp_path / "killed.npz"
    killed = run_train([*args, "--out", str(killed_out)], mnist_dir)
    checkpoint = tmp_path / "killed.ckpt.npz"
    deadline = time.time() + 120
    while not checkpoint.exists() and killed.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    assert checkpoint.exists(), killed.communicate()
    killed.send_signal(signal.SIGKILL)  # no chance to clean up: the checkpoint must be enough
    killed.wait()
    assert not killed_out.exists()

    resumed = run_train(["--resume", "--out", str(killed_out)], mnist_dir)
    stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    assert "resuming from" in stdout
    assert whole.wait(timeout=300) == 0
    for a, b in zip(weights(tmp_path / "whole.npz"), weights(killed_out), strict=True):
        np.testing.assert_array_equal(a, b)
    history = json.loads(killed_out.with_suffix(".json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]


@pytest.mark.slow
def test_ctrl_c_leaves_a_checkpoint_and_says_how_to_resume(tmp_path, mnist_dir, monkeypatch,
                                                           capsys):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    calls = []
    real_save = train.save_checkpoint

    def save_then_interrupt(*a, **k):
        real_save(*a, **k)
        calls.append(1)
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "save_checkpoint", save_then_interrupt)
    out = tmp_path / "m.npz"
    assert train.main([*SMALL, "--epochs", "3", "--unipen-copies", "0", "--pendigits-copies", "0",
                       "--out", str(out)]) == 130
    assert "python train.py --resume" in capsys.readouterr().err
    assert (tmp_path / "m.ckpt.npz").exists() and calls == [1]
    monkeypatch.setattr(train, "save_checkpoint", real_save)
    assert train.main(["--resume", "--out", str(out)]) == 0
    assert len(json.loads(out.with_suffix(".json").read_text())["history"]) == 3


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--lr", "-1"], "--lr must be positive"),
    (["--batch-size", "x"], "invalid int value"),
    (["--out", "model.pt"], "--out must end in .npz"),
    (["--ema", "1"], "--ema must be in [0, 1)"),
    (["--unipen-holdout", "4/4"], "--unipen-holdout: expected K/N with 0 <= K < N"),
    (["--unipen-holdout", "1"], "--unipen-holdout: expected K/N"),
    (["--pendigits-holdout", "7/7"], "--pendigits-holdout: expected K/N with 0 <= K < N"),
    (["--pendigits-smooth", "1.5"], "--pendigits-smooth must be in [0, 1]"),
    (["--pendigits-copies", "-1"], "--pendigits-copies must be at least 0"),
])
def test_bad_arguments_exit_with_one_clear_line(args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.parse_args(args)
    assert exit_info.value.code != 0
    assert message in capsys.readouterr().err


def test_resume_without_a_checkpoint_says_so(tmp_path, capsys):
    assert train.main(["--resume", "--out", str(tmp_path / "m.npz")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("train.py: error: no checkpoint at") and "\n" not in err


def test_corrupt_data_exits_with_one_line_naming_the_file(tmp_path, mnist_dir, capsys):
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        src = mnist_dir / f"{name}.gz"
        (tmp_path / f"{name}.gz").write_bytes(src.read_bytes())
    bad = tmp_path / "train-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:100_000])  # a truncated download
    code = train.main(["--data-dir", str(tmp_path), "--out", str(tmp_path / "m.npz")])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert "train-images-idx3-ubyte" in err and "\n" not in err and "Traceback" not in err


def test_one_cycle_warms_up_then_decays():
    lrs = [train.one_cycle(s, 100, 1.0) for s in range(100)]
    peak = int(np.argmax(lrs))
    assert lrs[0] < 0.1 and 10 <= peak <= 20 and lrs[-1] < 0.01
    assert all(a <= b for a, b in zip(lrs[:peak], lrs[1:peak + 1]))
    assert all(a >= b for a, b in zip(lrs[peak:], lrs[peak + 1:]))


def test_the_unsure_threshold_flags_more_wrong_answers_than_right_ones():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 400)
    confident = np.full((400, 10), 0.01)
    confident[np.arange(400), labels] = 0.91  # right and sure
    shaky = np.full((40, 10), 0.05)
    shaky[np.arange(40), (labels[:40] + 1) % 10] = 0.55  # wrong, with 0.55
    probabilities = np.concatenate([confident, shaky])
    threshold = train.unsure_threshold(probabilities, np.concatenate([labels, labels[:40]]))
    assert 0.55 < threshold <= 0.91
    assert train.unsure_threshold(None, None) == 0.6


def test_a_corrupt_checkpoint_says_so_in_one_line(tmp_path, capsys):
    (tmp_path / "m.ckpt.npz").write_bytes(b"PK\x03\x04 half a checkpoint")
    assert train.main(["--resume", "--out", str(tmp_path / "m.npz")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("train.py: error: cannot resume from") and "\n" not in err


def small_unipen(folder: Path, source: Path, per_split: int = 300) -> Path:
    """A UNIPEN folder of the first digits of the real files (writers as they come)."""
    import gzip

    folder.mkdir()
    for split in ("train", "test"):
        with gzip.open(source / f"{split}.jsonl.gz", "rt") as f:
            lines = [next(f) for _ in range(per_split)]
        with gzip.open(folder / f"{split}.jsonl.gz", "wt") as f:
            f.writelines(lines)
    return folder


@pytest.mark.slow
def test_real_writers_join_training_and_are_scored_apart(tmp_path, mnist_dir, unipen_dir,
                                                         monkeypatch, capsys):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    folder = small_unipen(tmp_path / "unipen", unipen_dir)
    out = tmp_path / "m.npz"
    assert train.main([*SMALL, "--epochs", "1", "--unipen-dir", str(folder),
                       "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "UNIPEN digits by" in printed and "UNIPEN test writers" in printed
    report = json.loads(out.with_suffix(".json").read_text())
    assert 0 <= report["history"][0]["unipen_val_accuracy"] <= 1
    assert 0 <= report["unipen_test_accuracy"] <= 1 and "UNIPEN" in report["unipen_credit"]


@pytest.mark.slow
def test_without_unipen_it_trains_on_mnist_and_says_so(tmp_path, mnist_dir, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    out = tmp_path / "m.npz"
    assert train.main([*SMALL, "--epochs", "1", "--unipen-dir", str(tmp_path / "nowhere"),
                       "--out", str(out)]) == 0
    assert "UNIPEN not found" in capsys.readouterr().out
    report = json.loads(out.with_suffix(".json").read_text())
    assert "unipen_test_accuracy" not in report
    assert "unipen_val_accuracy" not in report["history"][0]


def small_pendigits(folder: Path, per_writer: int = 20) -> Path:
    """A pendigits folder made here: digits of training/synthetic.py's style programs, coarse as
    the tablet recorded them (every third point and the last, tablet units), by six training
    writers and one test writer."""
    import gzip

    from training.synthetic import DIGITS

    folder.mkdir()
    rng = np.random.default_rng(0)
    for split, writers in (("train", [f"tra-{n:02d}" for n in range(1, 7)]), ("test", ["tes-01"])):
        lines = []
        for writer in writers:
            for k in range(per_writer):
                strokes = [(np.concatenate([s[:-1:3], s[-1:]]) * 400 + 50).round().tolist()
                           for s in map(np.asarray, DIGITS[k % 10](rng))]
                lines.append(json.dumps({"label": k % 10, "writer": writer, "strokes": strokes,
                                         "id": f"pendigits-orig/{split[:3]}/{k:05d}"}))
        with gzip.open(folder / f"{split}.jsonl.gz", "wt") as f:
            f.write("\n".join(lines) + "\n")
    return folder


@pytest.mark.slow
def test_pendigits_writers_join_training_and_are_scored_apart(tmp_path, mnist_dir, monkeypatch,
                                                             capsys):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    folder = small_pendigits(tmp_path / "pendigits")
    out = tmp_path / "m.npz"
    assert train.main([*SMALL, "--epochs", "1", "--unipen-copies", "0", "--pendigits-dir",
                       str(folder), "--pendigits-copies", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    # tra-01 .. tra-06: 0/7 holds out tra-04 (training.unipen.is_held_out), the rest train twice
    assert ("added 200 drawings of 100 pendigits digits by 5 writers; 20 digits of 1 other"
            in printed)
    assert "pendigits test writers" in printed
    report = json.loads(out.with_suffix(".json").read_text())
    assert 0 <= report["history"][0]["pendigits_val_accuracy"] <= 1
    assert 0 <= report["pendigits_test_accuracy"] <= 1
    assert "pendigits" in report["pendigits_credit"] and "C5MG6K" in report["pendigits_credit"]


def test_without_pendigits_the_data_has_none_and_says_so(tmp_path, mnist_dir, capsys):
    config = train.Config(data_dir=str(mnist_dir), limit=100, synthetic=0.0, unipen_copies=0,
                          pendigits_dir=str(tmp_path / "nowhere"))
    data = train.load_data(config)
    assert "pendigits not found" in capsys.readouterr().out
    assert len(data.x) == 100 and data.pendigits_dir is None and data.x_pendigits_val is None


# ------------------------------------------------------------------------------ --drawings


def labelled_drawings(path, labels, mnist_dir):
    """A drawings database (web.store) of MNIST test digits labelled `labels`; their ids."""
    from web.store import DrawingStore

    images, _ = nn.data.load_mnist(mnist_dir, "test")
    store = DrawingStore(path)
    return [store.add(label=label, input=images[i] / np.float32(255), model="m.npz")
            for i, label in enumerate(labels)]


def test_drawings_labelled_on_the_page_join_the_training_set(tmp_path, mnist_dir):
    db = tmp_path / "drawings.sqlite"
    ids = labelled_drawings(db, [3, 1, 4, 1, 5], mnist_dir)
    config = train.Config(data_dir=str(mnist_dir), limit=100, synthetic=0.0, unipen_copies=0,
                          pendigits_copies=0, drawings=str(db))
    data = train.load_data(config)
    assert data.x.shape == (105, 1, 28, 28) and data.x.dtype == np.float32
    assert data.y[-5:].tolist() == [3, 1, 4, 1, 5] and data.drawings_upto == ids[-1]
    images, _ = nn.data.load_mnist(mnist_dir, "test")
    np.testing.assert_allclose(data.x[-5, 0], images[0] / 255, atol=1e-6)
    labelled_drawings(db, [9, 9], mnist_dir)  # labelled after the run started ...
    data = train.load_data(config, drawings_upto=ids[-1])
    assert len(data.y) == 105 and data.drawings_upto == ids[-1]  # ... not in the run it resumes


def test_a_missing_drawings_database_exits_with_one_line(tmp_path, mnist_dir, capsys):
    missing = tmp_path / "nothing.sqlite"
    code = train.main(["--data-dir", str(mnist_dir), "--limit", "100", "--drawings",
                       str(missing), "--out", str(tmp_path / "m.npz")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and str(missing) in err and "\n" not in err and "Traceback" not in err


@pytest.mark.slow
def test_a_run_with_drawings_trains_and_records_them(tmp_path, mnist_dir, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    db = tmp_path / "drawings.sqlite"
    ids = labelled_drawings(db, list(range(10)) * 3, mnist_dir)
    out = tmp_path / "m.npz"
    assert train.main([*SMALL, "--epochs", "1", "--drawings", str(db), "--out", str(out)]) == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["config"]["drawings"] == str(db) and report["drawings_upto"] == ids[-1]
