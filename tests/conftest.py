"""Shared fixtures: where the real MNIST files are."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """$MNIST_DIR (CI sets it to ../shared/mnist, relative to the repository), else ../shared/mnist.

    A missing folder fails the test that asked for it, with what to do: never a silent skip."""
    env = os.environ.get("MNIST_DIR")
    path = Path(env) if env else REPO.parent / "shared" / "mnist"
    if not path.is_absolute() and not path.exists():
        path = REPO / path
    assert (path / "train-images-idx3-ubyte.gz").is_file() or (
        path / "train-images-idx3-ubyte").is_file(), (
        f"no MNIST in {path}: set MNIST_DIR to the folder holding the four IDX files")
    return path.resolve()
