"""The shape of the house: `import nn` loads NumPy and nothing of the app, `import nn.fast` adds
numba; digits is the app's side; every package says what it is in its opening docstring."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
APP_ONLY = ("PIL", "bottle", "waitress", "matplotlib", "digits", "sqlite3")


def imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, check=True)
    return {name.split(".")[0] for name in result.stdout.split()}


def test_importing_nn_loads_numpy_and_nothing_else_of_note():
    loaded = imported_after("import nn")
    assert "numpy" in loaded
    assert not loaded & {"numba", "scipy", "threadpoolctl", *APP_ONLY}, loaded


def test_importing_nn_fast_adds_numba_and_nothing_of_the_app():
    loaded = imported_after("import nn.fast")
    assert {"numpy", "numba"} <= loaded
    assert not loaded & set(APP_ONLY), loaded & set(APP_ONLY)
    # numba imports SciPy itself when it is installed; nn.fast must add nothing beyond that
    assert ("scipy" in loaded) == ("scipy" in imported_after("import numba"))


@pytest.mark.parametrize("package", ["nn", "nn/fast", "digits", "scripts", "web"])
def test_every_package_says_what_it_is(package):
    doc = (REPO / package / "__init__.py").read_text().split('"""')[1]
    assert len(doc.split()) > 20
