"""MNIST from its IDX files, with nothing lost: read, write, download, verify, batch.

The IDX format (LeCun's, used by MNIST) is a tiny header and then raw bytes:

    magic   4 bytes  00 00 08 D   (08 = unsigned bytes, D = number of dimensions)
    sizes   D big-endian uint32   (labels: N; images: N, rows, cols)
    payload prod(sizes) bytes     (row-major, one uint8 per value)

Files may be gzip-compressed; we tell by the gzip magic bytes (1f 8b), not by the name. Every
check says which file is wrong and what to do about it, because a half-downloaded dataset otherwise
shows up as a baffling shape error three modules later.

What this module is not: a general dataset library. It reads uint8 IDX only (all MNIST is uint8),
holds whole files in memory (47 MB for the training images), and knows nothing about augmentation
(see nn/augment.py) or about the network.

Errors: `IDXError` (a ValueError) for a file whose bytes are wrong, `FileNotFoundError` for a
missing file, `DownloadError` (an OSError) when no mirror gave a good copy.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

# The usual public mirrors, tried in this order. Tests pass their own.
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

# SHA-256 of the *decompressed* IDX bytes: any correct copy has these, whatever gzip made it.
SHA256: dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# split -> (images file, labels file), names without ".gz"
SPLITS: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

DEFAULT_DATA_DIR = Path("data") / "mnist"
GZIP_MAGIC = b"\x1f\x8b"
MAX_DOWNLOAD_BYTES = 64 * 2**20  # the largest MNIST file is ~10 MB gzipped; refuse anything absurd


class IDXError(ValueError):
    """A file that is not a complete, well-formed IDX file, or not the MNIST file it claims."""


class DownloadError(OSError):
    """No mirror gave a good copy of an MNIST file."""


# ---------------------------------------------------------------------------------------------
# IDX reading and writing


def _decompress(data: bytes, where: str) -> bytes:
    """Return the IDX bytes of `data`: gunzipped when it starts with the gzip magic, else as is."""
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except EOFError:
        raise IDXError(
            f"{where} is truncated (the gzip stream ends early): delete it and download again"
        ) from None
    except (gzip.BadGzipFile, zlib.error) as e:
        raise IDXError(f"{where} is a damaged gzip file ({e}): delete it and download "
                       "again") from None


def _parse_idx(raw: bytes, where: str) -> np.ndarray:
    """Check an uncompressed IDX byte string against its own header and return its array."""
    if len(raw) == 0:
        raise IDXError(f"{where} is empty (0 bytes): delete it and download again")
    if len(raw) < 4:
        raise IDXError(f"{where} is {len(raw)} bytes, too short for an IDX header: delete it and "
                       "download again")
    zero1, zero2, dtype_code, ndim = raw[:4]
    if zero1 != 0 or zero2 != 0 or ndim == 0:
        raise IDXError(
            f"{where} is not an IDX file (magic {raw[:4].hex(' ')}, expected 00 00 08 01 for "
            "labels or 00 00 08 03 for images): check that it is an MNIST file, or download it "
            "again"
        )
    if dtype_code != 0x08:
        raise IDXError(f"{where} holds IDX type 0x{dtype_code:02x}; this reader reads unsigned "
                       "bytes (type 0x08) only, which is what MNIST uses")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXError(f"{where} ends inside its header ({len(raw)} of {header} bytes): delete it "
                       "and download again")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape, dtype=np.int64))
    got = len(raw) - header
    dims = "x".join(str(s) for s in shape)
    if got < expected:
        raise IDXError(f"{where} has a payload of {got} bytes but its header promises {expected} "
                       f"({dims}): the file is cut short; delete it and download again")
    if got > expected:
        raise IDXError(f"{where} has {got - expected} bytes more than its header promises "
                       f"({dims} = {expected}): the file is corrupt; delete it and download again")
    # copy so the caller owns a writable array instead of a read-only view of `raw`
    return np.frombuffer(raw, dtype=np.uint8, count=expected, offset=header).reshape(shape).copy()


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, gzip-compressed or raw, into a uint8 array of the shape in its header."""
    path = Path(path)
    return _parse_idx(_decompress(path.read_bytes(), str(path)), str(path))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8 array as IDX, gzipped when the name ends in .gz; atomic (temp + rename)."""
    path = Path(path)
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise TypeError(f"write_idx writes uint8 arrays, got {array.dtype}: convert first, e.g. "
                        "np.clip(a, 0, 255).astype(np.uint8)")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"IDX holds 1 to 255 dimensions, got an array of shape {array.shape}")
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I",
                                                                          *array.shape)
    data = header + np.ascontiguousarray(array).tobytes()
    if path.name.endswith(".gz"):
        data = gzip.compress(data, compresslevel=9, mtime=0)  # mtime=0: same array, same bytes
    _atomic_write(path, data)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# ---------------------------------------------------------------------------------------------
# MNIST on disk


def _find(data_dir: Path, name: str) -> Path | None:
    """`name.gz` if present, else raw `name`, else None."""
    for candidate in (data_dir / f"{name}.gz", data_dir / name):
        if candidate.is_file():
            return candidate
    return None


def _require(data_dir: Path, name: str) -> Path:
    path = _find(data_dir, name)
    if path is None:
        raise FileNotFoundError(
            f"{data_dir} has neither {name}.gz nor {name}: run `python train.py --data-dir "
            f"{data_dir}` to download MNIST there, or set MNIST_DIR to a folder that holds it"
        )
    return path


def resolve_data_dir(data_dir: str | None) -> Path:
    """The MNIST folder: the --data-dir argument, else $MNIST_DIR, else data/mnist/ in the cwd."""
    if data_dir:
        return Path(data_dir).expanduser()
    if os.environ.get("MNIST_DIR"):
        return Path(os.environ["MNIST_DIR"]).expanduser()
    return DEFAULT_DATA_DIR


def load_mnist(data_dir: str | os.PathLike, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Load one split of MNIST.

    Inputs:  data_dir holding the IDX files (`name.gz` or raw `name`); split "train" or "test".
    Returns: images uint8 (N, 28, 28), 0 = background, 255 = ink; labels uint8 (N,) in 0..9.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: use 'train' or 'test'")
    data_dir = Path(data_dir)
    image_path, label_path = (_require(data_dir, name) for name in SPLITS[split])
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim == 1:
        raise IDXError(f"{image_path} holds labels (1 dimension, {images.shape[0]} values), not "
                       "images: a labels file given as images; check the file names")
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise IDXError(f"{image_path} holds an array of shape {images.shape}, not MNIST images "
                       "(N, 28, 28): check that it is the right file")
    if labels.ndim != 1:
        raise IDXError(f"{label_path} holds an array of shape {labels.shape}, not labels (N,): "
                       "an images file given as labels? check the file names")
    if len(images) != len(labels):
        raise IDXError(f"{image_path} has {len(images)} images but {label_path} has "
                       f"{len(labels)} labels: they are not a pair (train with train, t10k with "
                       "t10k); check the files")
    if labels.size and labels.max() > 9:
        bad = int(np.argmax(labels > 9))
        raise IDXError(f"{label_path} has label {labels[bad]} at index {bad}; MNIST labels are "
                       "0..9: the file is corrupt, delete it and download again")
    return images, labels


def verify_mnist(data_dir: str | os.PathLike, names: Iterable[str] = tuple(SHA256)) -> None:
    """Check the SHA-256 of each decompressed MNIST file (about 0.2 s for all four)."""
    data_dir = Path(data_dir)
    for name in names:
        path = _require(data_dir, name)
        digest = hashlib.sha256(_decompress(path.read_bytes(), str(path))).hexdigest()
        if digest != SHA256[name]:
            raise IDXError(
                f"{path} is not the original MNIST file (SHA-256 of its decompressed bytes is "
                f"{digest[:16]}..., expected {SHA256[name][:16]}...): delete it and run again to "
                "download a fresh copy"
            )


def _log_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ensure_mnist(
    data_dir: str | os.PathLike,
    mirrors: Iterable[str] = MIRRORS,
    download: bool = True,
    verify: bool = True,
    log: Callable[[str], None] = _log_stderr,
    timeout: float = 30.0,
) -> Path:
    """Make sure the four MNIST files are in data_dir, downloading the missing ones; return the dir.

    Each missing file is fetched from the mirrors in turn into a temporary file beside its final
    place, gunzipped and checked against SHA256, and only then renamed into place: a bad or partial
    download never replaces or leaves anything. With verify=True the files already there are hashed
    too, so a corrupt local copy is reported here rather than as nonsense during training.
    """
    data_dir = Path(data_dir)
    mirrors = tuple(mirrors)
    present = [name for name in SHA256 if _find(data_dir, name) is not None]
    missing = [name for name in SHA256 if name not in present]
    if missing and not download:
        raise FileNotFoundError(f"{data_dir} lacks {', '.join(missing)} (.gz or raw) and "
                                "downloading is off: place the files there or set MNIST_DIR")
    if missing:
        data_dir.mkdir(parents=True, exist_ok=True)
    for name in missing:
        _download(data_dir, name, mirrors, log, timeout)
    if verify:
        verify_mnist(data_dir, present)  # the downloaded ones were checked on arrival
    return data_dir


def _download(data_dir: Path, name: str, mirrors: tuple[str, ...], log: Callable[[str], None],
              timeout: float) -> None:
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + f"/{name}.gz"
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=f".{name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                size = _fetch(url, out, timeout)
            body = Path(tmp).read_bytes()
            if not body.startswith(GZIP_MAGIC):
                raise IDXError(f"not a gzip file (it starts with {body[:8]!r})")
            raw = _decompress(body, "the file")
            digest = hashlib.sha256(raw).hexdigest()
            if digest != SHA256[name]:
                raise IDXError(f"hash mismatch (SHA-256 {digest[:12]}..., expected "
                               f"{SHA256[name][:12]}...)")
            os.replace(tmp, data_dir / f"{name}.gz")
            log(f"MNIST {name}.gz: {url} ok ({size / 1e6:.1f} MB, SHA-256 verified)")
            return
        except Exception as e:  # any failure at all: record it and try the next mirror
            reason = _describe(e)
            failures.append(f"{url} -> {reason}")
            log(f"MNIST {name}.gz: {url} failed: {reason}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    tried = "; ".join(failures) if failures else "no mirrors were given"
    raise DownloadError(
        f"could not download {name}.gz into {data_dir}: {tried}. Place the four MNIST files "
        f"({', '.join(f'{n}.gz' for n in SHA256)}) in {data_dir} by hand, or set MNIST_DIR (or "
        "--data-dir) to a folder that holds them"
    )


def _fetch(url: str, out, timeout: float) -> int:
    """Stream `url` into the open file `out`; return its size. Raises on short or huge bodies."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        announced = response.headers.get("Content-Length")
        size = 0
        while chunk := response.read(1 << 20):
            size += len(chunk)
            if size > MAX_DOWNLOAD_BYTES:
                raise IDXError(f"more than {MAX_DOWNLOAD_BYTES >> 20} MB, not an MNIST file")
            out.write(chunk)
    if announced is not None and size != int(announced):
        # http.client returns a short body silently when the connection drops; count it ourselves
        raise IDXError(f"truncated ({size} of {announced} bytes arrived)")
    return size


def _describe(e: Exception) -> str:
    """A few words on why one mirror failed."""
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code}"
    if isinstance(e, urllib.error.URLError):
        return f"unreachable ({e.reason})"
    if isinstance(e, TimeoutError):
        return "timed out"
    if isinstance(e, IDXError):
        return str(e).split(": delete it")[0]  # the advice is for local files; the mirror is next
    return f"{type(e).__name__}: {e}"


# ---------------------------------------------------------------------------------------------
# batches


def iterate_minibatches(
    n: int, batch_size: int, rng: np.random.Generator | None = None, shuffle: bool = True
) -> Iterator[np.ndarray]:
    """Yield index arrays that cover range(n) once, batch_size at a time (the last may be smaller).

    Shuffled with `rng` when shuffle=True, so a seed gives the same epoch every time.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if shuffle and rng is None:
        raise ValueError("shuffle=True needs an rng, e.g. np.random.default_rng(seed)")
    order = rng.permutation(n) if shuffle else np.arange(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]
