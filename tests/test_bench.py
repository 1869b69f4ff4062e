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
