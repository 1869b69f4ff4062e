"""scripts/: every tool runs one way, `python -m scripts.NAME` from the repository's root, and
does what its docstring says (no timing is judged here)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
# scripts/_NAME.py: helpers that several scripts share, not scripts themselves
SCRIPTS = sorted(p.stem for p in (REPO / "scripts").glob("*.py") if not p.stem.startswith("_"))


def run(name: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"scripts.{name}", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_script_runs_as_a_module_and_explains_itself(name):
    result = run(name, "--help", timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:")


def test_no_script_edits_the_import_path_or_imports_another_script():
    for name in SCRIPTS + ["_page"]:
        text = (REPO / "scripts" / f"{name}.py").read_text()
        assert "sys.path" not in text, name
        imported = text.replace("from scripts._", "")  # a shared helper is not a script
        assert "from scripts" not in imported and "import scripts" not in imported, name
        for command in ("train", "serve", "bench", "evaluate_drawings"):
            assert f"from {command} import" not in text and f"import {command}\n" not in text


@pytest.mark.slow
def test_hand_drawn_styles_are_read_by_the_committed_model():
    result = run("hand_drawn")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("hand-drawn styles:") and "of 290 correct" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("name", ["plot_preprocess", "plot_augmentations"])
def test_plot_scripts_draw_their_figure(tmp_path, mnist_dir, name):
    out = tmp_path / f"{name}.png"
    result = run(name, "--data-dir", str(mnist_dir), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert Image.open(out).size[0] > 500


@pytest.mark.slow
def test_server_benchmark_reports_latency_and_throughput_as_json():
    result = run("bench_server", "--requests", "20", "--seconds", "1", "--workers", "1", "2",
                 "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert [served["workers"] for served in report["runs"]] == [1, 2]
    for served in report["runs"]:
        for form in ("png", "strokes"):
            latency, throughput = served[form]["latency"], served[form]["throughput"]
            assert latency["errors"] == 0 and latency["requests"] == 20
            assert throughput["requests"] > 0 and throughput["errors"] == 0
            assert latency["server_breakdown_median_ms"]["preprocess"] > 0


@pytest.mark.slow
def test_adaptation_helps_the_writers_and_leaves_mnist_alone(mnist_dir, unipen_dir,
                                                             mnist_only_weights):
    """On the UNIPEN test writers, read by a network that never saw real writers (the committed
    one reads 99% of them: little left to correct)."""
    result = subprocess.run([sys.executable, "-m", "scripts.adaptation", "--json", "--data-dir",
                             str(mnist_dir), "--unipen-dir", str(unipen_dir),
                             "--weights", str(mnist_only_weights)], cwd=REPO,
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["mnist"]["same_answers"]  # a person without corrections: the network's answers
    served = report["methods"]["nearest neighbours + MNIST gate (served)"]
    assert [r["k"] for r in served] == [1, 2, 3]
    for row in served:
        assert row["errors_after"] < 0.6 * row["errors_before"], row
        assert row["after"] > row["before"] and row["right_to_wrong"] <= 2, row
        assert row["mnist_with_corrections_worst"] >= report["mnist"]["network"] - 0.002


def write_pen_splits(folder: Path, writers: list[str], test_writer: str, source: str,
                     per_writer: int = 10) -> None:
    """A small train.jsonl.gz in UNIPEN's (and pendigits') format: digits of
    training/synthetic.py's style programs, in tablet units (y down), per_writer digits by each
    writer ("lab-name"); and a test.jsonl.gz of one other writer, which train.py reads at the end
    of every run."""
    import gzip

    import numpy as np

    from training.synthetic import DIGITS

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for split, names in (("train", writers), ("test", [test_writer])):
        lines = []
        for writer in names:
            for k in range(per_writer):
                strokes = [(np.asarray(s) * 900 + 50).round().tolist()
                           for s in DIGITS[k % 10](rng)]
                lines.append(json.dumps({"label": k % 10, "writer": writer, "strokes": strokes,
                                         "id": f"{source}/{writer.split('-')[0]}/{k:04d}"}))
        with gzip.open(folder / f"{split}.jsonl.gz", "wt") as f:
            f.write("\n".join(lines) + "\n")


@pytest.mark.slow
def test_crossval_trains_without_each_fold_and_scores_exactly_its_writers(tmp_path, mnist_dir):
    from training.unipen import is_held_out

    writers = ["apb-ann", "apb-bob", "ced-cyd", "ced-dee", "gmd-eve", "gmd-fay", "ibm-gus"]
    pen_writers = [f"tra-{n:02d}" for n in range(1, 7)]
    write_pen_splits(tmp_path / "unipen", writers, "art-tom", "unipen-1a")
    write_pen_splits(tmp_path / "pendigits", pen_writers, "tes-01", "pendigits-orig", 5)
    fold_writers = [[w for w in writers if is_held_out(w, f"{k}/2") and not w.startswith("ibm")]
                    for k in range(2)]
    fold_pen_writers = [[w for w in pen_writers if is_held_out(w, f"{k}/2")] for k in range(2)]
    assert all(fold_writers) and all(fold_pen_writers), \
        "the writers must fall in both folds for this test to mean much"
    out = tmp_path / "cv"
    small = ["--data-dir", str(mnist_dir), "--limit", "600", "--epochs", "1", "--synthetic", "0",
             "--val-size", "500", "--workers", "1"]
    dirs = ["--unipen-dir", str(tmp_path / "unipen"),
            "--pendigits-dir", str(tmp_path / "pendigits")]
    result = run("crossval", "--folds", "2", *dirs, "--out", str(out), "--json", "--", *small)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert [r["fold"] for r in report["runs"]] == ["0/2", "1/2"]
    # each fold is scored on its own writers' digits only, IBM's left out as in training
    assert [r["unipen"]["digits"] for r in report["runs"]] == [10 * len(f) for f in fold_writers]
    assert [r["pendigits"]["digits"] for r in report["runs"]] == [
        5 * len(f) for f in fold_pen_writers]
    assert report["all"]["unipen"]["digits"] == 60 and report["train_flags"] == small
    assert report["all"]["pendigits"]["digits"] == 30
    for source in ("unipen", "pendigits"):
        for form in ("strokes", "png"):
            whole = report["all"][source][form]
            assert 0.1 < whole["accuracy"] <= 1  # 600 MNIST digits, one epoch: above chance
            assert len(whole["by_digit"]) == 10
            assert whole["errors"] == round(report["all"][source]["digits"]
                                            * (1 - whole["accuracy"]))
    for k in range(2):  # each fold trained without its writers, as its report says
        trained = json.loads((out / f"fold{k}.json").read_text())
        assert trained["config"]["unipen_holdout"] == f"{k}/2"
        assert trained["config"]["pendigits_holdout"] == f"{k}/2"
        assert (out / f"fold{k}_pendigits_mistakes_strokes.png").is_file()
    assert json.loads((out / "crossval.json").read_text())["all"] == report["all"]
    again = run("crossval", "--folds", "2", *dirs, "--out", str(out), "--", *small)
    assert again.returncode == 0 and again.stdout.count("is there, scoring it") == 2
    one = run("crossval", "--folds", "2", "--fold", "1", *dirs, "--out", str(out), "--", *small)
    assert one.returncode == 0 and one.stdout.count("is there, scoring it") == 1
    assert "fold 1/2:" in one.stdout and "fold 0/2:" not in one.stdout


@pytest.mark.parametrize("flag", ["--unipen-holdout", "--pendigits-holdout", "--pendigits-dir"])
def test_crossval_refuses_flags_it_sets_itself(tmp_path, flag):
    result = run("crossval", "--out", str(tmp_path), "--", flag, "1/4", timeout=60)
    assert result.returncode == 2 and f"{flag} is set by crossval itself" in result.stderr


def test_crossval_refuses_a_fold_it_does_not_have(tmp_path):
    result = run("crossval", "--folds", "4", "--fold", "4", "--out", str(tmp_path), timeout=60)
    assert result.returncode == 2 and "--fold must be 0 to 3" in result.stderr


def test_crossval_without_any_writers_says_so(tmp_path):
    result = run("crossval", "--unipen-dir", str(tmp_path / "no"), "--pendigits-dir",
                 str(tmp_path / "none"), "--out", str(tmp_path / "cv"), timeout=60)
    assert result.returncode == 1
    assert "unipen's train.jsonl.gz not found" in result.stderr
    assert "pendigits's train.jsonl.gz not found" in result.stderr
    assert "no writers to cross-validate over" in result.stderr


@pytest.mark.browser
def test_page_writers_draws_each_digit_on_the_page_and_compares_with_the_api(tmp_path):
    write_pen_splits(tmp_path / "unipen", ["apb-ann"], "art-tom", "unipen-1a")
    write_pen_splits(tmp_path / "pendigits", ["tra-01"], "tes-01", "pendigits")
    result = run("page_writers", "--per-class", "1", "--unipen-dir", str(tmp_path / "unipen"),
                 "--pendigits-dir", str(tmp_path / "pendigits"), "--json", timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(report["sources"]) == {"UNIPEN", "pendigits"}
    for source in report["sources"].values():
        assert source["n"] == 10  # one test digit of each class, drawn with the mouse
        assert source["page_agrees_with_read"] >= 0.9, source["disagree"]
        assert source["read"] >= 0.8 and source["predict"] >= 0.8, source
