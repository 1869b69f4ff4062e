"""One store, many processes and servers: every one answers a person with every correction the
store has acknowledged, from the next drawing on (web/corrections.py Reader, web/store.py).

Real servers (`python serve.py --port 0`), real HTTP, a new connection for each request so that
the kernel hands them to either worker process; the misread drawings are a real UNIPEN writer's
(conftest.misread_pair).
"""

from __future__ import annotations

import http.client
import json
import signal
import threading
import time

import pytest

import nn
from conftest import REPO, as_sent, database_rows, misread_pair, start_server, stop_server
from web.corrections import Corrections, mnist_references

pytestmark = pytest.mark.slow
WEIGHTS = REPO / "weights" / "mnist_cnn.npz"
ANNA = "anna-0123456789abcdef"
READS = 16


@pytest.fixture(scope="module")
def pair(mnist_dir, unipen_dir):
    """(label, wrong, first, second) as the page sends them: the network reads both as `wrong`;
    once the first is labelled, the second reads as `label` for that person."""
    model = nn.load(WEIGHTS)
    label, wrong, first, second = misread_pair(model, Corrections(
        model, *mnist_references(mnist_dir)), unipen_dir)
    return label, wrong, as_sent(first), as_sent(second)


def serve(db: str, mnist_dir, *more: str):
    return start_server("--weights", str(WEIGHTS), "--db", db, "--data-dir", str(mnist_dir),
                        *more)


def call(address: str, method: str, path: str, payload=None, person: str | None = None):
    host, port = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    headers = {"Content-Type": "application/json"}
    if person:
        headers["X-Person"] = person
    conn.request(method, path, body=None if payload is None else json.dumps(payload),
                 headers=headers)
    res = conn.getresponse()
    answer = json.loads(res.read())
    conn.close()
    return res.status, answer


def readings(address: str, strokes, person: str = ANNA, times: int = READS) -> list[int]:
    return [call(address, "POST", "/api/predict", {"strokes": strokes, "person": person})[1][
        "digit"] for _ in range(times)]


def correct(address: str, label: int, wrong: int, strokes, person: str = ANNA) -> int:
    status, answer = call(address, "POST", "/api/drawings", {
        "strokes": strokes, "label": label, "predicted": wrong, "person": person})
    assert status == 201, answer
    return answer["id"]


def test_every_worker_process_honours_a_correction_and_its_undo_at_once(new_db, mnist_dir,
                                                                        pair):
    label, wrong, first, second = pair
    proc, address = serve(new_db(), mnist_dir, "--workers", "2")
    try:
        assert readings(address, second) == [wrong] * READS  # both workers now know Anna
        row = correct(address, label, wrong, first)
        assert readings(address, second) == [label] * READS
        assert call(address, "DELETE", f"/api/drawings/{row}", person=ANNA) == (
            200, {"deleted": 1})
        assert readings(address, second) == [wrong] * READS
        correct(address, label, wrong, first)
        assert readings(address, second) == [label] * READS
        assert call(address, "DELETE", "/api/drawings/mine", person=ANNA) == (
            200, {"deleted": 1})
        assert readings(address, second) == [wrong] * READS
    finally:
        stop_server(proc)


def test_a_number_is_read_with_the_persons_corrections_too(tmp_path, mnist_dir, pair):
    """POST /api/read with the person's id reads each digit as /api/predict would for them: the
    cutting is the network's own, the digits follow the person's corrections."""
    label, wrong, first, second = pair
    proc, address = serve(str(tmp_path / "d.sqlite"), mnist_dir)
    try:
        def read(person):
            status, answer = call(address, "POST", "/api/read",
                                  {"strokes": second, "person": person})
            assert status == 200, answer
            return answer["number"], [d.get("adapted") for d in answer["digits"]]

        assert read(ANNA) == (str(wrong), [False])
        correct(address, label, wrong, first)
        assert read(ANNA) == (str(label), [True])
        status, plain = call(address, "POST", "/api/read", {"strokes": second})
        assert plain["number"] == str(wrong) and "adapted" not in plain["digits"][0]
    finally:
        stop_server(proc)


def test_two_servers_on_one_postgresql_share_counts_corrections_and_survive_a_kill(
        new_postgres_db, mnist_dir, pair):
    label, wrong, first, second = pair
    db = new_postgres_db()
    (one, at_one), (two, at_two) = serve(db, mnist_dir), serve(db, mnist_dir)
    try:
        for i in range(6):  # drawings posted to both are counted by both
            correct(at_one if i % 2 else at_two, i, 9 - i, second, person=f"counter-{i:04d}")
        assert call(at_one, "GET", "/api/drawings/stats")[1]["count"] == 6
        assert call(at_two, "GET", "/api/drawings/stats")[1]["count"] == 6

        assert readings(at_two, second, times=4) == [wrong] * 4
        row = correct(at_one, label, wrong, first)  # corrected through one ...
        assert readings(at_two, second, times=4) == [label] * 4  # ... honoured by the other
        assert call(at_two, "DELETE", f"/api/drawings/{row}", person=ANNA)[0] == 200
        assert readings(at_one, second, times=4) == [wrong] * 4

        acknowledged = kill_while_posting(one, at_one)
        assert len(acknowledged) >= 20, "the server never got going"
        rows = {row: (lab, person) for row, lab, person in
                database_rows(db, "SELECT id, label, person FROM drawings")}
        lost = {row: what for row, what in acknowledged.items() if rows.get(row) != what}
        assert not lost, f"acknowledged but lost after kill -9: {lost}"
        assert call(at_two, "GET", "/api/drawings/stats")[1]["count"] == len(rows)
    finally:
        stop_server(one)
        stop_server(two)


def kill_while_posting(proc, address: str) -> dict[int, tuple[int, str]]:
    """Post from 6 threads; SIGKILL the server while posts are in flight. The acknowledged ids."""
    acknowledged: dict[int, tuple[int, str]] = {}
    in_flight, lock, done = [0], threading.Lock(), threading.Event()

    def keep_posting(t: int) -> None:
        i = 0
        while not done.is_set():
            person, lab = f"killed-person-{t:03d}", (t + i) % 10
            with lock:
                in_flight[0] += 1
            try:
                status, answer = call(address, "POST", "/api/drawings", {
                    "strokes": [[[10, 10], [60, 12], [30, 90]]], "label": lab,
                    "person": person})
            except (OSError, http.client.HTTPException, ValueError):
                return  # the server is gone
            finally:
                with lock:
                    in_flight[0] -= 1
            if status == 201:
                with lock:
                    acknowledged[answer["id"]] = (lab, person)
            i += 1

    threads = [threading.Thread(target=keep_posting, args=(t,)) for t in range(6)]
    for thread in threads:
        thread.start()
    deadline = time.time() + 120
    while (len(acknowledged) < 20 or in_flight[0] < 3) and time.time() < deadline:
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done.set()
    for thread in threads:
        thread.join(timeout=60)
    return acknowledged
