"""bench.py runs end to end and keeps its --json contract (no timing is judged here)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_bench_prints_the_json_contract_as_its_last_line():
    run = subprocess.run([sys.executable, "bench.py", "--json", "--repeats", "2"], cwd=REPO,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    for key in ("train_images_per_s", "infer_batch1_ms"):
        assert set(summary[key]) == {"nn", "torch"}
        assert summary[key]["nn"] > 0
        assert summary[key]["torch"] is None or summary[key]["torch"] > 0
    assert "CNN" in run.stdout and "MLP" in run.stdout
    report = json.loads((REPO / "weights" / "mnist_cnn.json").read_text())
    assert summary["time_to_accuracy"]["report"]["wall_time_s"] == report["wall_time_s"]


@pytest.mark.slow
def test_bench_times_a_training_run_to_its_accuracy(mnist_dir, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    monkeypatch.delenv("UNIPEN_DIR", raising=False)
    run = subprocess.run([sys.executable, "bench.py", "--json", "--repeats", "1", "--train",
                          "--limit", "500", "--epochs", "1", "--val-size", "100",
                          "--unipen-copies", "0", "--pendigits-copies", "0"],
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    now = json.loads(run.stdout.strip().splitlines()[-1])["time_to_accuracy"]["now"]
    assert now["wall_time_s"] > 0 and 0.1 < now["test_accuracy"] <= 1
    assert "time to accuracy, now:" in run.stdout
