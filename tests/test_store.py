"""web.store: labelled drawings are kept whole, whatever happens to the server or the disk.

The first part uses DrawingStore directly (a tmp file, a fake clock). The second runs the real
thing: `python serve.py --db FILE` in its own process, real HTTP from 8 threads, a kill -9 in
the middle of the writes, a disk that stops taking bytes (RLIMIT_FSIZE, so the server's writes
fail with EFBIG exactly as on a full disk) and a folder that turns read-only (root loses its
permission to ignore file modes through setpriv, so this works as root too).
"""

from __future__ import annotations

import http.client
import json
import os
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import database_rows, page_strokes, start_server, stop_server
from nn.data import read_idx
from web.store import (
    DrawingStore,
    RateLimitError,
    StoreCorruptError,
    StoreError,
    StoreInputError,
    StoreUnavailableError,
    export_idx,
    read_drawings,
)

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "weights" / "mnist_cnn.npz"
PERSON = "0123456789abcdef0123456789abcdef"


def picture(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((28, 28), dtype=np.float32)


def add(store: DrawingStore, label: int = 7, seed: int = 0, **fields) -> int:
    return store.add(label=label, input=picture(seed), model="mnist_cnn.npz", **fields)


# ------------------------------------------------------------------------------ the store itself
# Each test runs on both databases (conftest.new_db): a SQLite file and PostgreSQL.


@pytest.fixture
def where(new_db) -> str:
    return new_db()


def test_a_drawing_comes_back_exactly_as_it_was_saved(where):
    store = DrawingStore(where)
    strokes = [[[10.5, 20.25], [30, 40]], [[1, 2]]]
    row = add(store, 9, seed=3, predicted=4, person=PERSON, strokes=strokes, pen=15.4)
    saved = database_rows(where, "SELECT label, predicted, person, model, strokes, pen, image, "
                                 "created FROM drawings WHERE id = ?", (row,))[0]
    assert saved[:4] == (9, 4, PERSON, "mnist_cnn.npz")
    assert json.loads(saved[4]) == strokes and saved[5] == 15.4 and saved[6] is None
    assert abs(saved[7] - time.time()) < 60
    x, y = store.examples(PERSON)
    np.testing.assert_array_equal(x[0], picture(3))  # float32 bit for bit
    assert y.tolist() == [9]


def test_a_new_sqlite_file_and_its_folder_are_made_in_wal_mode(tmp_path):
    store = DrawingStore(tmp_path / "new" / "drawings.sqlite")
    add(store)
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_png_drawing_is_kept_as_sent(where):
    store = DrawingStore(where)
    row = add(store, 1, image=b"\x89PNG fake bytes")
    assert database_rows(where, "SELECT image, strokes FROM drawings WHERE id = ?",
                         (row,)) == [(b"\x89PNG fake bytes", None)]


def test_stats_count_labels_corrections_and_people_never_drawings(where):
    store = DrawingStore(where)
    add(store, 7, predicted=7, person=PERSON)
    add(store, 9, predicted=4, person=PERSON)
    add(store, 9, person="another-person-id")
    stats = store.stats()
    assert stats["count"] == 3 and stats["by_label"] == [0] * 7 + [1, 0, 2]
    assert (stats["corrected"], stats["confirmed"], stats["people"]) == (1, 1, 2)
    assert all(type(v) is int or isinstance(v, list) for v in stats.values())


def test_examples_are_one_persons_latest_in_order(where):
    store = DrawingStore(where)
    for i in range(5):
        add(store, i, seed=i, person=PERSON)
        add(store, 9, seed=100 + i, person="someone-else")
    x, y = store.examples(PERSON, limit=3)
    assert y.tolist() == [2, 3, 4]
    np.testing.assert_array_equal(x, np.stack([picture(2), picture(3), picture(4)]))
    assert store.examples("nobody-at-all")[0].shape == (0, 28, 28)
    ids, labels = store.labelled(PERSON, limit=3)
    assert labels.tolist() == [2, 3, 4]
    np.testing.assert_array_equal(store.inputs(PERSON, ids[::-1]), x[::-1])
    with pytest.raises(StoreError):  # someone else's drawing is not among this person's
        store.inputs("someone-else", ids[:1])


def test_the_version_changes_with_every_add_undo_and_forget_and_only_for_that_person(where):
    store = DrawingStore(where)
    seen = [store.version(PERSON)]
    first = add(store, 1, person=PERSON)
    seen.append(store.version(PERSON))
    second = add(store, 2, person=PERSON)
    seen.append(store.version(PERSON))
    add(store, 3, person="someone-else")
    assert store.version(PERSON) == seen[-1]  # another person's drawing changes nothing here
    assert store.delete(PERSON, first)  # undo the older one: the largest id stays the same
    seen.append(store.version(PERSON))
    add(store, 4, person=PERSON)
    seen.append(store.version(PERSON))
    assert store.delete(PERSON, second)
    seen.append(store.version(PERSON))
    assert store.forget(PERSON) == 1
    seen.append(store.version(PERSON))
    assert len(set(seen)) == len(seen) - 1 and seen[0] == seen[-1] == (0, 0, 0)


def test_only_the_owner_lists_undoes_or_forgets_their_drawings(where):
    store = DrawingStore(where)
    mine = [add(store, label, predicted=7, person=PERSON) for label in (1, 7)]
    theirs = add(store, 5, person="someone-else")
    assert [(d["id"], d["label"], d["predicted"]) for d in store.mine(PERSON)] == [
        (mine[1], 7, 7), (mine[0], 1, 7)]  # newest first
    assert not store.delete(PERSON, theirs) and not store.delete("someone-else", mine[0])
    assert not store.delete(PERSON, 10**9)
    assert store.delete(PERSON, mine[0]) and not store.delete(PERSON, mine[0])
    assert store.forget(PERSON) == 1 and store.forget(PERSON) == 0
    assert store.stats()["count"] == 1 and store.mine("someone-else")[0]["id"] == theirs
    with pytest.raises(StoreInputError, match='"person"'):
        store.forget(None)


@pytest.mark.parametrize("fields, words", [
    ({"label": 10}, '"label"'), ({"label": -1}, '"label"'), ({"label": True}, '"label"'),
    ({"label": 7.0}, '"label"'), ({"label": "7"}, '"label"'), ({"label": None}, "missing"),
    ({"label": 7, "predicted": 11}, '"predicted"'), ({"label": 7, "person": "short"}, '"person"'),
    ({"label": 7, "person": "has spaces in it"}, '"person"'), ({"label": 7, "person": 12345678},
                                                               '"person"'),
])
def test_bad_labels_and_ids_are_refused_with_a_sentence(where, fields, words):
    store = DrawingStore(where)
    with pytest.raises(StoreInputError, match=words):
        store.add(input=picture(0), model="m.npz", **fields)
    assert store.stats()["count"] == 0


def test_rows_per_minute_are_capped_for_everyone_and_per_person(where):
    now = [1000.0]
    store = DrawingStore(where, max_per_minute=5, max_per_person_per_minute=2,
                         clock=lambda: now[0])
    add(store, person=PERSON)
    add(store, person=PERSON)
    with pytest.raises(RateLimitError, match="at most 2 of your drawings a minute") as err:
        add(store, person=PERSON)
    assert 1 <= err.value.retry_after <= 61
    for i in range(3):
        add(store, person=f"person-number-{i}")
    with pytest.raises(RateLimitError, match="at most 5 drawings from everyone"):
        add(store, person="yet-another-one")
    now[0] += 61  # a minute later there is room again
    add(store, person=PERSON)
    assert store.stats()["count"] == 6


@pytest.mark.parametrize("content, words", [
    (b"this is no database, just text " * 100, "not a SQLite database"),
    (b"SQLite format 3\x00" + bytes(range(256)) * 20, "SQLite says"),
], ids=["text", "damaged-sqlite"])
def test_a_corrupt_file_is_named_with_what_to_do(tmp_path, content, words):
    path = tmp_path / "d.sqlite"
    path.write_bytes(content)
    with pytest.raises(StoreCorruptError) as err:
        DrawingStore(path)
    message = str(err.value)
    assert str(path) in message and words in message and "Move it aside" in message
    assert path.read_bytes() == content  # never "repaired" by overwriting


def test_a_store_that_cannot_be_created_says_why_and_recovers_when_it_can(tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("a file where the folder should be")
    store = DrawingStore(blocker / "drawings.sqlite")
    assert store.problem and str(blocker / "drawings.sqlite") in store.problem
    with pytest.raises(StoreUnavailableError, match="predictions still work|cannot be created"):
        add(store)
    blocker.unlink()  # the disk is fixed: the next call creates the file and saves
    assert add(store) == 1 and store.problem is None


def test_a_postgresql_that_does_not_answer_says_so_without_the_password(postgres_url):
    with socket.socket() as unused:  # a port where nothing listens
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    store = DrawingStore(f"postgresql://digits:secret-word@127.0.0.1:{port}/digits")
    assert store.problem and f"127.0.0.1:{port}/digits" in store.problem
    with pytest.raises(StoreUnavailableError, match="does not answer") as err:
        add(store)
    assert "secret-word" not in str(err.value) and "predictions still work" in str(err.value)
    with pytest.raises(StoreUnavailableError):
        store.version(PERSON)


def test_another_programs_database_is_not_taken_over(tmp_path):
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE accounts (name TEXT)")
    with pytest.raises(StoreCorruptError, match="not one of drawings"):
        DrawingStore(path)
    with pytest.raises(StoreCorruptError, match="not one of drawings"):
        read_drawings(path)


def test_another_programs_drawings_table_in_postgresql_is_not_taken_over(new_postgres_db):
    import psycopg

    where = new_postgres_db()
    with psycopg.connect(where, autocommit=True) as db:
        db.execute("CREATE TABLE drawings (id SERIAL, artist TEXT)")
    with pytest.raises(StoreCorruptError, match="not one of drawings"):
        DrawingStore(where)
    with pytest.raises(StoreCorruptError, match="not one of drawings"):
        read_drawings(where)


def test_read_drawings_gives_training_arrays_and_can_stop_at_an_id(where, tmp_path):
    store = DrawingStore(where)
    ids = [add(store, label, seed=label) for label in (3, 1, 4, 1, 5)]
    x, y, upto = read_drawings(where)
    assert x.shape == (5, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    assert y.tolist() == [3, 1, 4, 1, 5] and upto == ids[-1]
    np.testing.assert_array_equal(x[2], picture(4))
    add(store, 9)
    assert read_drawings(where, upto=ids[2])[1].tolist() == [3, 1, 4]
    with pytest.raises(StoreError, match="no drawings"):
        read_drawings(tmp_path / "missing.sqlite")


def test_export_writes_idx_files_mnist_readers_open(where, tmp_path):
    store = DrawingStore(where)
    for label in (0, 7, 2):
        add(store, label, seed=label)
    images, labels, count = export_idx(where, tmp_path / "idx")
    assert count == 3
    pixels, names = read_idx(images), read_idx(labels)
    assert pixels.shape == (3, 28, 28) and pixels.dtype == np.uint8
    assert names.tolist() == [0, 7, 2]
    np.testing.assert_allclose(pixels[1] / 255, picture(7), atol=0.5 / 255 + 1e-6)


def test_the_export_script_writes_the_files_or_says_what_is_wrong(where, tmp_path):
    store = DrawingStore(where)
    add(store, 5)
    run = [sys.executable, "-m", "scripts.export_drawings", "--db", where]
    done = subprocess.run([*run, "--out", str(tmp_path / "out")], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "wrote 1 drawings" in done.stdout, done.stderr
    assert read_idx(tmp_path / "out" / "drawings-labels-idx1-ubyte.gz").tolist() == [5]
    missing = subprocess.run([sys.executable, "-m", "scripts.export_drawings", "--db",
                              str(tmp_path / "nope.sqlite")], cwd=ROOT, capture_output=True,
                             text=True, timeout=60)
    assert missing.returncode == 1 and "no drawings database" in missing.stderr


def test_threads_sharing_one_store_lose_nothing(where):
    store = DrawingStore(where)
    ids: list[int] = []

    def write(t: int) -> None:
        for i in range(10):
            ids.append(add(store, (t + i) % 10, seed=t * 100 + i, person=f"thread-person-{t}"))

    threads = [threading.Thread(target=write, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 80 and store.stats()["count"] == 80


# ------------------------------------------------------------------------------ a real server


def start(db: Path | str, **how) -> tuple[subprocess.Popen, str]:
    """`python serve.py --port 0 --db DB` in its own process; (process, "host:port")."""
    return start_server("--weights", str(WEIGHTS), "--db", str(db), **how)


def call(address: str, method: str, path: str, payload=None) -> tuple[int, dict]:
    host, port = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    body = None if payload is None else json.dumps(payload)
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
    res = conn.getresponse()
    answer = json.loads(res.read())
    conn.close()
    return res.status, answer


def labelled(label: int, person: str, points: int = 0) -> dict:
    """A POST /api/drawings body: the page's strokes of a 7 (or a long scribble of `points`)."""
    strokes = page_strokes(7)
    if points:  # the same 7, traced densely: about 20 bytes of JSON a point
        line = np.array(strokes[0])
        t = np.linspace(0, len(line) - 1, points)
        strokes = [np.round(np.stack([np.interp(t, np.arange(len(line)), line[:, i])
                                      for i in (0, 1)], axis=1), 3).tolist()]
    return {"strokes": strokes, "pen": 15.4, "label": label, "predicted": 7, "person": person}


@pytest.mark.slow
def test_eight_threads_posting_at_once_lose_no_drawing(where):
    db = where
    proc, address = start(db)
    try:
        from concurrent.futures import ThreadPoolExecutor

        def post(i):
            return i, *call(address, "POST", "/api/drawings",
                            labelled(i % 10, f"concurrent-person-{i % 8}"))

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(post, range(64)))
        assert all(status == 201 for _, status, _ in answers), answers
        status, stats = call(address, "GET", "/api/drawings/stats")
        assert status == 200 and stats["count"] == 64
        assert stats["by_label"] == [7, 7, 7, 7, 6, 6, 6, 6, 6, 6]
    finally:
        stop_server(proc)
    rows = dict(database_rows(db, "SELECT id, label FROM drawings"))
    assert rows == {answer["id"]: i % 10 for i, _, answer in answers}


@pytest.mark.slow
def test_a_server_killed_mid_write_keeps_every_drawing_it_acknowledged(where):
    db = where
    proc, address = start(db)
    acknowledged: dict[int, tuple[int, str]] = {}
    in_flight = [0]
    lock, stop_posting = threading.Lock(), threading.Event()

    def keep_posting(t: int) -> None:
        i = 0
        while not stop_posting.is_set():
            person, label = f"killed-person-{t}", (t + i) % 10
            with lock:
                in_flight[0] += 1
            try:
                status, answer = call(address, "POST", "/api/drawings", labelled(label, person))
            except (OSError, http.client.HTTPException):
                return  # the server is gone
            finally:
                with lock:
                    in_flight[0] -= 1
            if status == 201:
                with lock:
                    acknowledged[answer["id"]] = (label, person)
            i += 1

    threads = [threading.Thread(target=keep_posting, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.time() + 120
    while (len(acknowledged) < 40 or in_flight[0] < 4) and time.time() < deadline:
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)  # no chance to finish a write, flush or close anything
    proc.wait()
    stop_posting.set()
    for thread in threads:
        thread.join(timeout=60)
    assert len(acknowledged) >= 40, "the server never got going"

    if not db.startswith("postgresql://"):
        assert database_rows(db, "PRAGMA integrity_check")[0][0] == "ok"
    rows = {row: (label, person) for row, label, person in
            database_rows(db, "SELECT id, label, person FROM drawings")}
    missing = {row: what for row, what in acknowledged.items() if rows.get(row) != what}
    assert not missing, f"acknowledged but lost after kill -9: {missing}"

    proc, address = start(db)  # and the server starts again on the same file
    try:
        status, stats = call(address, "GET", "/api/drawings/stats")
        assert status == 200 and stats["count"] == len(rows) >= len(acknowledged)
    finally:
        stop_server(proc)


@pytest.mark.slow
def test_a_full_disk_refuses_drawings_clearly_and_predictions_go_on(tmp_path):
    db = tmp_path / "drawings.sqlite"
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    limit = 1024 * 1024  # no file the server writes may grow past 1 MiB: a disk that is full

    proc, address = start(db, preexec=lambda: resource.setrlimit(resource.RLIMIT_FSIZE,
                                                                 (limit, hard)))
    try:
        statuses, answer = [], {}
        for i in range(8):  # ~300 KB of strokes each: the 1 MiB file is full by the fourth
            status, answer = call(address, "POST", "/api/drawings",
                                  labelled(1, f"full-disk-person-{i}", points=15_000))
            statuses.append(status)
            if status != 201:
                break
        assert statuses[0] == 201 and statuses[-1] == 503, statuses
        assert str(db) in answer["error"] and "predictions still work" in answer["error"]
        status, prediction = call(address, "POST", "/api/predict",
                                  {"strokes": page_strokes(7), "person": PERSON})
        assert status == 200 and prediction["digit"] == 7
        assert call(address, "GET", "/api/drawings/stats")[0] == 200

        resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (soft, hard))  # room again
        status, answer = call(address, "POST", "/api/drawings", labelled(7, PERSON))
        assert status == 201, answer
        saved = statuses.count(201) + 1
        assert call(address, "GET", "/api/drawings/stats")[1]["count"] == saved
    finally:
        stderr = stop_server(proc)
    assert "Traceback" not in stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def without_root_override() -> list[str]:
    """A command prefix under which root, too, obeys file modes (setpriv drops the capabilities
    that let root write anywhere); nothing for anyone else."""
    if os.geteuid() != 0:
        return []
    caps = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"]


@pytest.mark.slow
def test_a_read_only_folder_refuses_drawings_clearly_and_predictions_go_on(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "drawings.sqlite"
    proc, address = start(db, prefix=without_root_override())
    try:
        assert call(address, "POST", "/api/drawings", labelled(7, PERSON))[0] == 201
        files = [folder, *folder.iterdir()]
        for path in files:
            path.chmod(0o555 if path.is_dir() else 0o444)
        status, answer = call(address, "POST", "/api/drawings", labelled(1, PERSON))
        assert status == 503 and str(db) in answer["error"], answer
        assert "predictions still work" in answer["error"]
        status, prediction = call(address, "POST", "/api/predict",
                                  {"strokes": page_strokes(7), "person": PERSON})
        assert status == 200 and prediction["digit"] == 7
        for path in files:
            path.chmod(0o755 if path.is_dir() else 0o644)
        assert call(address, "POST", "/api/drawings", labelled(1, PERSON))[0] == 201
    finally:
        for path in [folder, *folder.iterdir()]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        stderr = stop_server(proc)
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_a_server_started_on_a_read_only_folder_warns_once_and_serves(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    db = folder / "drawings.sqlite"
    try:
        proc, address = start(db, prefix=without_root_override())
        try:
            status, answer = call(address, "POST", "/api/drawings", labelled(7, PERSON))
            assert status == 503 and str(db) in answer["error"]
            assert call(address, "POST", "/api/predict", {"strokes": page_strokes(7)})[0] == 200
        finally:
            stderr = stop_server(proc)
    finally:
        folder.chmod(0o755)
    warnings = [line for line in stderr.splitlines() if str(db) in line]
    assert len(warnings) == 1 and warnings[0].startswith("serve.py: warning:"), stderr


@pytest.mark.parametrize("content", [b"garbage, not SQLite " * 50,
                                     b"SQLite format 3\x00" + b"\xff" * 4000],
                         ids=["text", "damaged-sqlite"])
def test_a_corrupt_database_stops_the_start_with_one_line(tmp_path, content):
    db = tmp_path / "drawings.sqlite"
    db.write_bytes(content)
    proc = subprocess.run([sys.executable, "serve.py", "--weights", str(WEIGHTS), "--db",
                           str(db)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stdout == ""
    lines = [line for line in proc.stderr.strip().splitlines() if "warning" not in line]
    assert len(lines) == 1, proc.stderr
    assert str(db) in lines[0] and "mv " in lines[0] and "Traceback" not in proc.stderr
    assert db.read_bytes() == content
