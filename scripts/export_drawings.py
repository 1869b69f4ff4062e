"""The drawings people labelled on the page, as MNIST-style IDX files other tools can read.

    python -m scripts.export_drawings          # data/drawings.sqlite -> data/drawings-idx/
    python -m scripts.export_drawings --db PATH --out FOLDER
    python -m scripts.export_drawings --db postgresql://digits@db:5432/digits

Writes drawings-images-idx3-ubyte.gz (uint8 (N, 28, 28), 255 = ink: the 28x28 the network saw,
in MNIST's own format) and drawings-labels-idx1-ubyte.gz (uint8 (N,), what each person said the
digit was), in the order they were saved; nn.data.read_idx or any MNIST reader opens them. The
database stays as it is (web/store.py); serve.py may keep running meanwhile.
"""

from __future__ import annotations

import argparse
import sys

from web.store import DEFAULT_PATH, StoreError, export_idx


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default=str(DEFAULT_PATH),
                        help="serve.py's --db: a SQLite file or a postgresql://USER@HOST:PORT/NAME")
    parser.add_argument("--out", default="data/drawings-idx", help="folder for the IDX files")
    args = parser.parse_args(argv)
    try:
        images, labels, count = export_idx(args.db, args.out)
    except StoreError as err:
        print(f"export_drawings: {err}", file=sys.stderr)
        return 1
    print(f"wrote {count:,} drawings: {images} and {labels}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
