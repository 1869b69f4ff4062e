"""MNIST from its IDX files, with nothing lost: read, write, load, batch.

The IDX format (LeCun's, used by MNIST) is a tiny header and then raw bytes:

    magic   4 bytes  00 00 08 D   (08 = unsigned bytes, D = number of dimensions)
    sizes   D big-endian uint32   (labels: N; images: N, rows, cols)
    payload prod(sizes) bytes     (row-major, one uint8 per value)

Files may be gzip-compressed; we tell by the gzip magic bytes (1f 8b), not by the name. Every
check says which file is wrong and what to do about it, because a half-downloaded dataset otherwise
shows up as a baffling shape error three modules later.

What this module is not: a general dataset library, nor a downloader. It reads uint8 IDX only (all
MNIST is uint8), holds whole files in memory (47 MB for the training images), and never touches the
network: getting the files onto disk, verified, is the app's job (training/mnist.py).

Errors: `IDXError` (a ValueError) for a file whose bytes are wrong, `FileNotFoundError` for a
missing file.
"""

from __future__ import annotations

import gzip
import os
import struct
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

# split -> (images file, labels file), names without ".gz"
SPLITS: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
GZIP_MAGIC = b"\x1f\x8b"


class IDXError(ValueError):
    """A file that is not a complete, well-formed IDX file, or not the MNIST file it claims."""


# ---------------------------------------------------------------------------------------------
# IDX reading and writing


def decompress(data: bytes, where: str) -> bytes:
    """The IDX bytes of `data`: gunzipped when it starts with the gzip magic, else as they are.
    `where` names the file in errors."""
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
    return _parse_idx(decompress(path.read_bytes(), str(path)), str(path))


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


def find_idx(data_dir: str | os.PathLike, name: str) -> Path | None:
    """`data_dir/name.gz` if present, else the raw `data_dir/name`, else None."""
    data_dir = Path(data_dir)
    for candidate in (data_dir / f"{name}.gz", data_dir / name):
        if candidate.is_file():
            return candidate
    return None


def require_idx(data_dir: str | os.PathLike, name: str) -> Path:
    """`find_idx`, or a FileNotFoundError that says what to do."""
    path = find_idx(data_dir, name)
    if path is None:
        raise FileNotFoundError(
            f"{data_dir} has neither {name}.gz nor {name}: put MNIST's four IDX files there "
            "(as downloaded, .gz, or decompressed), or pass the folder that holds them"
        )
    return path


def load_mnist(data_dir: str | os.PathLike, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Load one split of MNIST.

    Inputs:  data_dir holding the IDX files (`name.gz` or raw `name`); split "train" or "test".
    Returns: images uint8 (N, 28, 28), 0 = background, 255 = ink; labels uint8 (N,) in 0..9.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: use 'train' or 'test'")
    data_dir = Path(data_dir)
    image_path, label_path = (require_idx(data_dir, name) for name in SPLITS[split])
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


# ---------------------------------------------------------------------------------------------
# batches


def minibatches(
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
