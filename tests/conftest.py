"""Shared fixtures and drawing helpers: where the real MNIST files are, digits as strokes, and
drawings made of them with digits.canvas (the one stroke renderer the app itself uses).

Tests import the helpers directly (`from conftest import SEVEN, draw, png`); pytest puts this
folder on the import path.
"""

import hashlib
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digits.canvas import canvas_png, render, scale_strokes
from nn.data import write_idx

REPO = Path(__file__).resolve().parent.parent

# ------------------------------------------------------------------------------------------------
# digits as strokes, in the unit square (x right, y down), drawn the way people draw them

_t = np.linspace(0, 2 * np.pi, 60)
SEVEN = [[(0.2, 0.1), (0.8, 0.1), (0.4, 0.9)]]
ONE = [[(0.5, 0.05), (0.5, 0.95)]]
FOUR = [[(0.65, 0.05), (0.15, 0.62), (0.85, 0.62)], [(0.65, 0.05), (0.65, 0.95)]]
ZERO = [list(zip(0.5 + 0.32 * np.sin(_t), 0.5 - 0.45 * np.cos(_t), strict=True))]
# A 6 whose short diagonal stem meets the loop at a sharp angle: a thinning that erodes a
# two-pixel diagonal from its end eats the stem of this one when it is drawn with a thick pen.
_arc = np.radians(np.linspace(200, 560, 60))
SIX = [[(0.62, 0.18), (0.42, 0.38)]
       + list(zip(0.5 + 0.18 * np.cos(_arc), 0.63 + 0.17 * np.sin(_arc), strict=True))]
SHAPES = {"seven": SEVEN, "one": ONE, "four": FOUR, "zero": ZERO}
DIGITS = {0: ZERO, 1: ONE, 4: FOUR, 7: SEVEN}  # what the page and API tests draw


def in_box(shape, left: float, top: float, side: float) -> list[list[tuple[float, float]]]:
    """A unit-square shape moved into the square box (left, top, side), in the same units."""
    return [[(left + x * side, top + y * side) for x, y in stroke] for stroke in shape]


def on_page(digit: int) -> list[list[tuple[float, float]]]:
    """A digit as a person draws it on the page: in canvas fractions, 64% of the canvas tall,
    a little above the middle, with a point every 1% of the canvas or so (the page records one
    per pointer event, dense enough that its smoothing only rounds the corners off a little)."""
    return [dense(stroke, 0.01) for stroke in in_box(DIGITS[digit], 0.18, 0.15, 0.64)]


def dense(stroke, spacing: float) -> list[tuple[float, float]]:
    """The same polyline with points at most `spacing` apart."""
    points = [stroke[0]]
    for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
        n = max(1, int(np.ceil(np.hypot(x1 - x0, y1 - y0) / spacing)))
        points += [(x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n) for k in range(1, n + 1)]
    return points


# ------------------------------------------------------------------------------------------------
# drawings


def draw(shape, canvas: int = 280, box: tuple[float, float, float] = (60, 40, 200),
         pen: float = 12.0) -> np.ndarray:
    """Coverage float32 (canvas, canvas) in 0..1 of `shape` scaled into the square box
    (left, top, side) in pixels, drawn with a round pen `pen` px wide (digits.canvas.render)."""
    return render(in_box(shape, *box), (canvas, canvas), pen, smoothing=False)


def encode(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def png(coverage: np.ndarray, ink=(0, 0, 0), paper=(255, 255, 255), transparent=False) -> bytes:
    """An RGBA PNG of `coverage`: ink colour over a paper colour, or over transparent black (the
    browser canvas export: background pixels (0, 0, 0, 0), ink pixels (r, g, b, coverage))."""
    a = coverage[:, :, None]
    if transparent:
        rgba = np.concatenate([np.broadcast_to(np.array(ink, np.float32), a.shape[:2] + (3,)) *
                               (a > 0), a * 255], axis=2)
    else:
        rgb = a * np.array(ink, np.float32) + (1 - a) * np.array(paper, np.float32)
        rgba = np.concatenate([rgb, np.full_like(a, 255)], axis=2)
    return encode(Image.fromarray(np.round(rgba).astype(np.uint8), "RGBA"))


def page_png(digit: int, background: str = "transparent", size: int = 280,
             pen: str | float = "medium") -> bytes:
    """The PNG the page exports for `digit` (see on_page), on any background."""
    return canvas_png(on_page(digit), size, pen, background)


def page_strokes(digit: int, size: float = 280) -> list[list[list[float]]]:
    """The strokes the page sends for `digit`, in CSS pixels of a `size` px canvas."""
    return [stroke.tolist() for stroke in scale_strokes(on_page(digit), size)]


# ------------------------------------------------------------------------------------------------
# a live server


def start_server(*args: str, preexec=None, prefix=()) -> tuple[subprocess.Popen, str]:
    """Run `PREFIX python serve.py --port 0 ARGS` (preexec: run in the child before it starts);
    return the process and the "host:port" it printed once it was ready. Stop it with
    stop_server. Its log goes to a file: a pipe read only at the end would fill under a flood of
    warnings and stop the server."""
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(
        [*prefix, sys.executable, "serve.py", "--port", "0", *args], cwd=REPO, text=True,
        stdout=subprocess.PIPE, stderr=log, preexec_fn=preexec,
    )
    proc.log = log
    line = proc.stdout.readline()  # serve.py prints the URL once the model is loaded
    if "http://" not in line:
        proc.kill()
        pytest.fail(f"serve.py did not start: {line!r} {stop_server(proc)!r}")
    return proc, line.split("http://")[1].split("/")[0]


def stop_server(proc: subprocess.Popen) -> str:
    """Stop the server; its stderr."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.stdout.close()
    proc.log.seek(0)
    logged = proc.log.read()
    proc.log.close()
    return logged


# a real writer's digit the network misreads (for the corrections: web/corrections.py)


def fitted(strokes, side: float = 0.64, top: float = 0.15) -> list[list[tuple[float, float]]]:
    """A real writer's strokes (any units, y down) in canvas fractions, placed like on_page:
    the longer side `side` of the canvas, centred across, `top` from the top."""
    points = np.concatenate([np.asarray(s, dtype=float) for s in strokes])
    low, extent = points.min(axis=0), np.ptp(points, axis=0)
    scale = side / extent.max()
    left = (1 - extent[0] * scale) / 2
    return [[(left + (x - low[0]) * scale, top + (y - low[1]) * scale) for x, y in stroke]
            for stroke in strokes]


def as_sent(strokes, width: float = 437) -> list[list[list[float]]]:
    """What the page sends for fitted strokes on a canvas `width` CSS px wide (the laptop's):
    pointer positions land on whole pixels."""
    return [[[round(x * width), round(y * width)] for x, y in stroke] for stroke in strokes]


def misread_pair(model, corrections, unipen_dir):
    """(label, wrong, first, second): two digits one UNIPEN *train* writer wrote as `label` that
    the network, drawn as the page sends them, reads as `wrong` (over 70% sure); after the first
    is corrected, the second is read as `label`. The first such pair in file order, fitted to
    the canvas (conftest.fitted)."""
    from digits.preprocess import preprocess_strokes
    from training.unipen import load_unipen
    from web.features import last_hidden_layer

    by_writer: dict[str, list] = {}
    for digit in load_unipen(unipen_dir, "train"):
        by_writer.setdefault(digit.writer, []).append(digit)
    for digits in by_writer.values():
        shapes = [fitted(d.strokes) for d in digits]
        x = np.stack([preprocess_strokes(as_sent(shape)) for shape in shapes])
        hidden, p = last_hidden_layer(model, x)
        read = p.argmax(axis=1)
        for i, j in zip(*np.triu_indices(len(digits), 1)):
            label = digits[i].label
            if not (digits[j].label == label and read[i] == read[j] != label
                    and min(p[i].max(), p[j].max()) > 0.7):  # misread with no doubt
                continue
            fixed, _ = corrections.apply(p[[j]], hidden[[j]], hidden[[i]], np.array([label]),
                                         p[[i]])
            if fixed[0].argmax() == label and fixed[0].max() > 0.6:
                return label, int(read[i]), shapes[i], shapes[j]
    raise AssertionError("no UNIPEN train writer has two digits the network misreads alike")


# ------------------------------------------------------------------------------------------------
# small fake MNIST files


def idx_bytes(array: np.ndarray) -> bytes:
    """Uncompressed IDX bytes, built by hand (independently of write_idx) to test the reader."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    return header + array.astype(np.uint8).tobytes()


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def fake_arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.array([0, 1, 2, 9, 4, 5], dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.array([7, 3, 3, 8], dtype=np.uint8),
    }


def write_fake_mnist(folder: Path, gz: bool = True) -> dict[str, np.ndarray]:
    arrays = fake_arrays()
    for name, array in arrays.items():
        write_idx(folder / (name + ".gz" if gz else name), array)
    return arrays


# ------------------------------------------------------------------------------------------------
# fixtures


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


@pytest.fixture(scope="session")
def unipen_dir() -> Path:
    """$UNIPEN_DIR, else ../shared/unipen beside the repository: UNIPEN's digits, for the tests
    that measure or train on real writers. A missing folder fails those tests, saying what to do."""
    env = os.environ.get("UNIPEN_DIR")
    path = Path(env) if env else REPO.parent / "shared" / "unipen"
    assert (path / "train.jsonl.gz").is_file(), (
        f"no UNIPEN in {path}: set UNIPEN_DIR to the folder holding train.jsonl.gz and "
        "test.jsonl.gz")
    return path.resolve()


@pytest.fixture(scope="session")
def mnist_only_weights(tmp_path_factory, mnist_dir) -> Path:
    """A model that has never seen a real writer: python train.py on 20,000 MNIST images for two
    epochs, no UNIPEN or pendigits, no drawn digits (about 15 s; MNIST test about 98.6%). The
    committed model trained on UNIPEN's train writers and reads nearly all of them, but
    corrections are for the people a network misreads: this one misreads real writers the way
    the committed model misreads people unlike any it trained on."""
    out = tmp_path_factory.mktemp("mnist_only") / "model.npz"
    result = subprocess.run(
        [sys.executable, "train.py", "--data-dir", str(mnist_dir), "--limit", "20000",
         "--epochs", "2", "--unipen-copies", "0", "--pendigits-copies", "0", "--synthetic", "0",
         "--val-size", "2000", "--workers", "2", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return out


# ------------------------------------------------------------------------------------------------
# drawings databases of both kinds (web/store.py): a SQLite file, and PostgreSQL


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """$TEST_POSTGRES_URL: a PostgreSQL server whose user may create databases (`make test` and
    CI start a throwaway one with scripts/ci_postgres.sh). In CI a missing one fails the test;
    elsewhere it is skipped, saying how to start one."""
    url = os.environ.get("TEST_POSTGRES_URL")
    if url:
        return url
    how = ('eval "$(scripts/ci_postgres.sh start)" starts a throwaway one and sets '
           "TEST_POSTGRES_URL")
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(f"TEST_POSTGRES_URL is not set, and CI must test PostgreSQL: {how}")
    pytest.skip(f"no PostgreSQL (TEST_POSTGRES_URL is not set): {how}")


@pytest.fixture
def new_postgres_db(postgres_url):
    """A function that gives the URL of a new, empty database on $TEST_POSTGRES_URL's server;
    each is dropped afterwards."""
    import uuid

    import psycopg

    made = []

    def fresh() -> str:
        name = f"drawings_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        made.append(name)
        return postgres_url.rsplit("/", 1)[0] + "/" + name

    yield fresh
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        for name in made:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def new_db(request, tmp_path):
    """A function that gives the address of a new, empty drawings database: a SQLite file, or a
    database of its own on $TEST_POSTGRES_URL's server (new_postgres_db)."""
    if request.param == "postgresql":
        return request.getfixturevalue("new_postgres_db")
    count = iter(range(1000))
    return lambda: str(tmp_path / f"drawings-{next(count)}.sqlite")


def database_rows(where: str, sql: str, args=()) -> list[tuple]:
    """Rows of `sql` read straight from a drawings database (sqlite3 or psycopg, not web.store):
    what is really there. `?` placeholders."""
    if where.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(where) as db:
            return [tuple(row) for row in db.execute(sql.replace("?", "%s"), args).fetchall()]
    import sqlite3

    db = sqlite3.connect(where)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()
