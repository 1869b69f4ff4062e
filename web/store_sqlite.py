"""web.store's SQLite dialect: one file, a fresh connection per call, WAL, synchronous=FULL.

Each call opens its own connection (about 0.2 ms), so any number of threads, or processes, may
share the file; SQLite's lock orders their writes (BEGIN IMMEDIATE). A process killed mid-write
leaves the file as it was before or after that row. What this is not: the SQL of the store
(web/store.py has it, for both databases).
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from web.store import StoreCorruptError, StoreError, StoreUnavailableError, unavailable

SCHEMA_VERSION = 1
SQLITE_HEADER = b"SQLite format 3\x00"
SCHEMA = """
CREATE TABLE IF NOT EXISTS drawings (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: an id is never reused
    created   REAL    NOT NULL,                   -- Unix time, seconds
    person    TEXT,                               -- the page's opaque id, or NULL
    label     INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
    predicted INTEGER CHECK (predicted BETWEEN 0 AND 9),
    model     TEXT    NOT NULL,                   -- the weights file that made the prediction
    strokes   TEXT,                               -- JSON [[[x, y], ...], ...] as sent, or NULL
    pen       REAL,                               -- the pen width sent with the strokes
    image     BLOB,                               -- the PNG as sent, or NULL
    input     BLOB    NOT NULL CHECK (length(input) = 3136)  -- float32 (28, 28), 1.0 = ink
);
CREATE INDEX IF NOT EXISTS drawings_created ON drawings (created);
CREATE INDEX IF NOT EXISTS drawings_person ON drawings (person, id);
"""


class SqliteDialect:
    def __init__(self, path: Path):
        self.path = path
        self.name = str(path)

    def prepare(self, create: bool) -> None:
        """Check the file (and create it, its folder and the table, when `create`)."""
        if not create and not self.path.is_file():
            raise StoreError(f"no drawings database at {self.path}: start serve.py with --db "
                             f"{self.path} and label some drawings on the page first")
        _check_header(self.path)
        if create:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise StoreUnavailableError(f"The drawings database {self.path} cannot be "
                                            f"created ({err.strerror}).") from None
        with self.connect() as db:
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise _corrupt(self.path, "SQLite's quick_check finds it damaged")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = {name for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")} - {"sqlite_sequence"}
            if version != SCHEMA_VERSION and (version or tables or not create):
                raise _corrupt(self.path, f"it is a SQLite database but not one of drawings "
                                          f"(version {version}, tables {sorted(tables)})")
            if version == 0:
                db.execute("PRAGMA journal_mode = WAL")  # stays set in the file
                db.executescript(f"BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; "
                                 "COMMIT;")

    @contextlib.contextmanager
    def connect(self):
        """`with dialect.connect() as db`: a fresh connection, closed afterwards; sqlite3's
        errors leave as StoreErrors that name the file."""
        try:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        except sqlite3.DatabaseError as err:
            raise _explain(self.path, err) from None
        try:
            db.execute("PRAGMA synchronous = FULL")  # "saved" means on disk, not in a cache
            yield db
        except sqlite3.DatabaseError as err:
            raise _explain(self.path, err) from None
        finally:
            db.close()

    @contextlib.contextmanager
    def writing(self, db: sqlite3.Connection):
        """One write transaction, ordered with every other writer's (BEGIN IMMEDIATE)."""
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise


def _corrupt(path: Path, why: str) -> StoreCorruptError:
    return StoreCorruptError(
        f"{path} cannot be used as the drawings database: {why}. Move it aside "
        f"(mv {path} {path}.broken) and start again to begin a new one, or pass --db with "
        "another file.")


def _explain(path: Path, err: sqlite3.DatabaseError) -> StoreError:
    """A StoreError naming the file, what happened and what still works."""
    code = getattr(err, "sqlite_errorname", "")  # Python 3.11+; the message is read otherwise
    text = str(err)
    if code in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or "malformed" in text or (
            "not a database" in text):
        return _corrupt(path, f"SQLite says: {text}")
    if "no such table" in text:
        return _corrupt(path, f"it is a SQLite database but not one of drawings ({text})")
    if code == "SQLITE_FULL" or "is full" in text:
        why = "the disk is full"
    elif code.startswith("SQLITE_READONLY") or "readonly" in text:
        why = "it is read-only"
    elif code.startswith("SQLITE_BUSY") or "locked" in text:
        why = "another process holds it locked"
    elif code.startswith("SQLITE_IOERR") or "disk I/O error" in text:
        why = f"the disk refused to write ({text}): it may be full or failing"
    else:
        why = f"SQLite says: {text}"
    return unavailable(str(path), why)


def _check_header(path: Path) -> None:
    """StoreCorruptError unless an existing, non-empty file starts as SQLite files do."""
    if path.is_file() and path.stat().st_size:
        with open(path, "rb") as f:
            if f.read(16) != SQLITE_HEADER:
                raise _corrupt(path, "it is not a SQLite database")
