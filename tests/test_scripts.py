"""scripts/: every tool runs one way, `python -m scripts.NAME` from the repository's root, and
does what its docstring says (no timing is judged here)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p.stem for p in (REPO / "scripts").glob("*.py") if p.stem != "__init__")


def run(name: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"scripts.{name}", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_script_runs_as_a_module_and_explains_itself(name):
    result = run(name, "--help", timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:")


def test_no_script_edits_the_import_path_or_imports_another_script():
    for name in SCRIPTS:
        text = (REPO / "scripts" / f"{name}.py").read_text()
        assert "sys.path" not in text, name
        assert "from scripts" not in text and "import scripts" not in text, name
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
