"""Getting MNIST onto disk, verified: $MNIST_DIR, the public mirrors, SHA-256 of what arrives.

    folder = ensure_mnist(resolve_data_dir(None))      # --data-dir, $MNIST_DIR or data/mnist/
    images, labels = nn.data.load_mnist(folder, "train")

Reading the files is nn.data's job; this module only makes sure the right files are there. A file
is checked by the SHA-256 of its *decompressed* bytes, which any correct copy has whatever gzip
made it, and a download goes to a temporary file beside its final place and is renamed into place
only once it is whole and verified: a bad or partial download never replaces or leaves anything.

Errors: `nn.data.IDXError` (a ValueError) for a local file whose bytes are wrong,
`FileNotFoundError` for missing files when downloading is off, `DownloadError` (an OSError) when
no mirror gave a good copy.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path

from nn.data import GZIP_MAGIC, SPLITS, IDXError, decompress, find_idx, require_idx

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

DEFAULT_DATA_DIR = Path("data") / "mnist"
MAX_DOWNLOAD_BYTES = 64 * 2**20  # the largest MNIST file is ~10 MB gzipped; refuse anything absurd


class DownloadError(OSError):
    """No mirror gave a good copy of an MNIST file."""


def resolve_data_dir(data_dir: str | None) -> Path:
    """The MNIST folder: the --data-dir argument, else $MNIST_DIR, else data/mnist/ in the cwd."""
    if data_dir:
        return Path(data_dir).expanduser()
    if os.environ.get("MNIST_DIR"):
        return Path(os.environ["MNIST_DIR"]).expanduser()
    return DEFAULT_DATA_DIR


# Where MNIST may already be, when nothing names a folder: data/mnist/ (where train.py downloads
# it) and ../shared/mnist/ (beside the repository, as on the development machines and in CI).
SEARCHED_DIRS = (DEFAULT_DATA_DIR, Path("..") / "shared" / "mnist")


def find_mnist(split: str = "train") -> Path | None:
    """A folder that already holds a split's images and labels, found without downloading:
    $MNIST_DIR when it is set (and only it), else the first of SEARCHED_DIRS that has them;
    None when none has. For tools that can do without MNIST, such as serve.py's neighbours."""
    names = SPLITS[split]  # (images, labels) file names
    env = os.environ.get("MNIST_DIR")
    for folder in [Path(env).expanduser()] if env else SEARCHED_DIRS:
        if all(find_idx(folder, name) is not None for name in names):
            return folder
    return None


def verify_mnist(data_dir: str | os.PathLike, names: Iterable[str] = tuple(SHA256)) -> None:
    """Check the SHA-256 of each decompressed MNIST file (about 0.2 s for all four)."""
    for name in names:
        path = require_idx(data_dir, name)
        digest = hashlib.sha256(decompress(path.read_bytes(), str(path))).hexdigest()
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

    Each missing file is fetched from the mirrors in turn, checked, and renamed into place (see the
    module docstring). With verify=True the files already there are hashed too, so a corrupt local
    copy is reported here rather than as nonsense during training.
    """
    data_dir = Path(data_dir)
    mirrors = tuple(mirrors)
    present = [name for name in SHA256 if find_idx(data_dir, name) is not None]
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
            digest = hashlib.sha256(decompress(body, "the file")).hexdigest()
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
