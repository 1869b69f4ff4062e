"""web.server through a live `python serve.py --port 0`, as careless and hostile clients use it:
malformed HTTP, oversized headers and bodies, slow and idle sockets, floods of costly drawings,
thousands of bad requests; with one process and with --workers 2.

Everything talks to 127.0.0.1 over raw sockets or http.client; every loop is bounded in count and
time. Waits are bounded by the server's own deadlines (web.server: HEADER_TIMEOUT, IDLE_TIMEOUT),
so the tests that wait for them are marked slow.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from conftest import start_server, stop_server
from digits.canvas import canvas_png, render, to_png
from web.api import HEADERS
from web.server import HEADER_TIMEOUT, IDLE_TIMEOUT, MAX_HEADER_BYTES

WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "mnist_cnn.npz"
SEVEN = [[(0.28, 0.20), (0.72, 0.20), (0.45, 0.85)]]


@pytest.fixture(scope="module", params=[1, 2], ids=["one-process", "two-workers"])
def live(request):
    proc, address = start_server("--weights", str(WEIGHTS), "--workers", str(request.param))
    host, port = address.rsplit(":", 1)
    yield host, int(port), proc
    stop_server(proc)


def exchange(address, data: bytes, wait: float = 5.0) -> tuple[bytes, float]:
    """Send raw bytes, read until the server closes (or `wait` s pass); the answer and when the
    connection ended, in seconds after sending."""
    host, port = address[:2]
    with socket.create_connection((host, port), timeout=wait) as sock:
        started = time.monotonic()
        try:
            sock.sendall(data)
        except OSError:
            pass  # a server that refused early may stop reading; its answer still counts
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return answer, time.monotonic() - started


def parse(answer: bytes) -> tuple[int, dict[str, str], dict]:
    """Status, headers (lower-case names) and the JSON body of a raw HTTP answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, json.loads(body)


def assert_json_refusal(answer: bytes, status: int) -> str:
    """A whole answer with `status`, the app's headers and {"error": "<a sentence>"}."""
    code, headers, body = parse(answer)
    assert code == status, answer[:300]
    assert headers["content-type"] == "application/json"
    for name, value in HEADERS.items():
        assert headers[name.lower()] == value, name
    assert set(body) == {"error"} and len(body["error"]) > 20
    return body["error"]


def post(address, body: bytes, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(address[0], address[1], timeout=timeout)
    try:
        conn.request("POST", "/api/predict", body, {"Content-Type": "application/json"})
        res = conn.getresponse()
        return res.status, {k.lower(): v for k, v in res.getheaders()}, res.read()
    finally:
        conn.close()


def health_seconds(address) -> float:
    started = time.monotonic()
    conn = http.client.HTTPConnection(address[0], address[1], timeout=30)
    conn.request("GET", "/api/health")
    assert conn.getresponse().status == 200
    conn.close()
    return time.monotonic() - started


def image_body(png: bytes) -> bytes:
    return json.dumps({"image": "data:image/png;base64," + base64.b64encode(png).decode()}).encode()


# ------------------------------------------------------------------------------ malformed HTTP

HEAD = b"Host: localhost\r\nContent-Type: application/json\r\n"


@pytest.mark.parametrize("data, status, words", [
    (b"GET /api/health HTTP/1.1\nHost: localhost\n\n", 400, "LF"),
    (b"GARBAGE\r\n\r\n", 400, "not valid HTTP"),
    (b"POST /api/predict HTTP/1.1\r\n" + HEAD + b"Expect: 100-continue\r\n"
     b"Content-Length: 17825792\r\n\r\n", 413, "2 MiB"),
    (b"POST /api/predict HTTP/1.1\r\n" + HEAD + b"Content-Length: 3000000\r\n\r\n"
     + b"A" * 3_000_000, 413, "2 MiB"),
    (b"GET /api/health HTTP/1.1\r\nHost: localhost\r\nX-Long: " + b"a" * MAX_HEADER_BYTES
     + b"\r\n\r\n", 431, "16 KiB"),
    (b"POST /api/predict HTTP/1.1\r\n" + HEAD + b"Transfer-Encoding: gzip\r\n\r\n", 501,
     "Transfer-Encoding"),
    (b"POST /api/predict HTTP/1.1\r\n" + HEAD + b"Content-Length: lots\r\n\r\n", 400,
     "Content-Length"),
], ids=["bare-LF", "garbage", "expect-continue-17MiB", "body-3MB", "header-16KiB",
        "transfer-encoding", "content-length-not-a-number"])
def test_what_the_server_refuses_itself_is_json_with_the_apps_headers_at_once(
        live, data, status, words):
    answer, seconds = exchange(live, data)
    assert b"100 Continue" not in answer  # never "continue" to a body already refused
    assert words in assert_json_refusal(answer, status)
    assert seconds < 3  # answered and closed at once, not at a timeout


def test_a_body_of_exactly_2_mib_is_read_by_the_app(live):
    status, _, body = post(live, b'{"image": "' + b"A" * (2 * 1024 * 1024 - 13) + b'"}')
    assert status == 400 and "PNG" in json.loads(body)["error"]  # the app's own answer


def test_the_apps_own_answers_carry_the_same_headers(live):
    status, headers, _ = post(live, image_body(canvas_png(SEVEN)))
    assert status == 200
    for name, value in HEADERS.items():
        assert headers[name.lower()] == value


# ------------------------------------------------------------------------------ slow and idle


@pytest.mark.slow
def test_headers_sent_a_byte_a_second_are_cut_off_within_seconds(live):
    request = b"GET /api/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 100
    with socket.create_connection(live[:2], timeout=2) as sock:
        started = time.monotonic()
        for byte in request:  # at most 100 s; the server should end it after about 5
            try:
                sock.sendall(bytes([byte]))
                if sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                    break  # closed by the server
            except BlockingIOError:
                pass  # still open, nothing to read
            except OSError:
                break  # reset by the server
            time.sleep(1.0)
        cut_after = time.monotonic() - started
    assert cut_after < HEADER_TIMEOUT + 3


@pytest.mark.slow
def test_a_body_that_stops_coming_is_cut_off(live):
    data = b"POST /api/predict HTTP/1.1\r\n" + HEAD + b"Content-Length: 1000\r\n\r\n{\"strokes\""
    answer, seconds = exchange(live, data, wait=IDLE_TIMEOUT + 10)
    assert answer == b"" and seconds < IDLE_TIMEOUT + 3


@pytest.mark.slow
def test_a_hundred_idle_sockets_lock_nobody_out_and_are_closed(live):
    idle = [socket.create_connection(live[:2], timeout=IDLE_TIMEOUT + 5) for _ in range(100)]
    try:
        assert health_seconds(live) < 2
        status, _, _ = post(live, image_body(canvas_png(SEVEN)))
        assert status == 200
        started = time.monotonic()
        closed = sum(sock.recv(1) == b"" for sock in idle)  # each returns when the server closes
        assert closed == 100 and time.monotonic() - started < IDLE_TIMEOUT + 3
    finally:
        for sock in idle:
            sock.close()


def test_sixty_clients_that_never_read_their_answers_hold_up_nobody(live):
    """60 connections each send a drawing and never read the answer (it waits in the kernel's
    buffers, holding no thread); 8 other clients at once each get an answer: their reading, or
    a 503 while the 68 drawings queue, and their reading when they come back after Retry-After."""
    body = image_body(canvas_png(SEVEN))
    request = (b"POST /api/predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json"
               b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    deaf = [socket.create_connection(live[:2], timeout=10) for _ in range(60)]
    try:
        for sock in deaf:
            sock.sendall(request)
        def served(_) -> int:
            status, headers, _ = post(live, body, timeout=10)
            if status == 503:  # the gate's queue was full: told when to come back
                time.sleep(float(headers["retry-after"]))
                status = post(live, body, timeout=10)[0]
            return status

        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(served, range(8))) == [200] * 8
    finally:
        for sock in deaf:
            sock.close()


def test_sixty_connections_that_keep_sending_and_never_read_hold_up_nobody(live):
    """60 connections pipeline a drawing every 20 ms and never read an answer; 8 other clients
    asking meanwhile are each served within three tries: a connection told 503 is not read from
    until its Retry-After, and the gate's queue lets a client that has not just had a turn go
    before one that has (before both, they needed 3 to 37 tries, most over 10)."""
    body = image_body(canvas_png(SEVEN))
    request = (b"POST /api/predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json"
               b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    stop = threading.Event()
    deaf = [socket.create_connection(live[:2], timeout=10) for _ in range(60)]

    def flood(sock):
        sock.setblocking(False)
        while not stop.wait(0.02):
            try:
                sock.send(request)
            except BlockingIOError:
                pass
            except OSError:
                return

    def tries(_) -> int:
        for attempt in (1, 2, 3):
            status, headers, _ = post(live, body, timeout=20)
            if status == 200:
                return attempt
            time.sleep(float(headers["retry-after"]))
        return 99

    flooders = [threading.Thread(target=flood, args=(sock,), daemon=True) for sock in deaf]
    try:
        for thread in flooders:
            thread.start()
        time.sleep(2.0)  # the queue full of the flood, each flooding connection served once
        with ThreadPoolExecutor(8) as pool:
            assert max(pool.map(tries, range(8))) <= 3
    finally:
        stop.set()
        for thread in flooders:
            thread.join(5)
        for sock in deaf:
            sock.close()


# ------------------------------------------------------------------------------ costly requests


@pytest.mark.slow
def test_a_flood_of_costly_drawings_gets_answers_or_quick_503s_and_health_stays_quick(live):
    # 48 clients at once, each posting a 2048x2048 drawing (the most pixels allowed: about
    # 0.1 s of preprocessing each) twice, while a monitor asks /api/health every 50 ms.
    rng = np.random.default_rng(0)
    big = image_body(to_png(render([rng.uniform(0, 2048, (40, 2))], (2048, 2048), 40,
                                   smoothing=False)))
    health, done = [], threading.Event()

    def monitor():
        while not done.is_set() and len(health) < 600:
            health.append(health_seconds(live))
            time.sleep(0.05)

    def client(_):
        results = []
        for _ in range(2):
            started = time.monotonic()
            status, headers, body = post(live, big)
            results.append((status, headers, json.loads(body), time.monotonic() - started))
        return results

    watcher = threading.Thread(target=monitor)
    watcher.start()
    try:
        with ThreadPoolExecutor(48) as pool:
            answers = [a for batch in pool.map(client, range(48)) for a in batch]
    finally:
        done.set()
        watcher.join()
    statuses = [status for status, *_ in answers]
    assert set(statuses) <= {200, 503} and statuses.count(200) >= 8
    for status, headers, body, seconds in answers:
        if status == 503:
            assert headers["retry-after"] == "1" and "busy" in body["error"]
            assert seconds < 5  # a quick refusal: at once, or after the gate's 2 s of patience
    print(f"flood: {statuses.count(200)} answered, {statuses.count(503)} told to retry; "
          f"health checks: {len(health)}, slowest {max(health) * 1000:.0f} ms")
    assert len(health) > 5 and max(health) < 1.0


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def bad_requests() -> list[bytes]:
    """Raw requests that are each refused, of every kind (and one costly valid drawing)."""
    def api(payload: bytes) -> bytes:
        return (b"POST /api/predict HTTP/1.1\r\n" + HEAD + b"Connection: close\r\n"
                b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload)
    png = canvas_png(SEVEN)
    padded = png[:33] + b"\x00\x00\x00\x00zzZz\x00\x00\x00\x00" * 5000 + png[33:]
    thin_line = to_png(render([[(50, 280), (1878, 280)]], (2048, 560), 24, smoothing=False))
    return [
        api(b"{not json"),
        api(b'{"image": "' + b"A" * 1_500_000 + b'"}'),
        api(image_body(padded)),
        api(image_body(png[:len(png) // 2])),
        api(json.dumps({"strokes": [[[i, i] for i in range(20_001)]]}).encode()),
        api(json.dumps({"strokes": [[[i % 2 * 100, i % 3] for i in range(5_000)]]}).encode()),
        api(image_body(thin_line)),
        b"POST /api/predict HTTP/1.1\r\n" + HEAD + b"Content-Length: 9000000\r\n\r\n",
        b"GET /api/health HTTP/1.1\nHost: x\n\n",
    ]


@pytest.mark.slow
def test_memory_returns_near_where_it_started_after_thousands_of_bad_requests():
    proc, address = start_server("--weights", str(WEIGHTS))
    try:
        host, port = address.rsplit(":", 1)
        live = (host, int(port))
        for _ in range(20):  # the first answers allocate what every later one reuses
            post(live, image_body(canvas_png(SEVEN)))
        before = rss_mib(proc.pid)
        kinds = bad_requests()
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda i: exchange(live, kinds[i % len(kinds)])[0],
                                    range(2000)))
        statuses = [parse(a)[0] for a in answers if a]
        after = rss_mib(proc.pid)
        peak = next(int(line.split()[1]) / 1024 for line in
                    Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                    if line.startswith("VmHWM:"))
    finally:
        stop_server(proc)
    print(f"RSS {before:.0f} MiB before, {after:.0f} MiB after 2000 bad requests, "
          f"peak {peak:.0f} MiB")
    assert len(statuses) == 2000 and 500 not in statuses and 200 in statuses
    assert after < before + 32


# ------------------------------------------------------------------------------ workers


def children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def wait_for(look, done, seconds: float = 10.0):
    """look() every 0.1 s until done(what it saw), for at most `seconds`; what it saw last."""
    deadline = time.monotonic() + seconds
    while not done(seen := look()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert done(seen), seen
    return seen


def test_workers_are_restarted_when_they_die_and_stopped_with_the_server():
    proc, address = start_server("--weights", str(WEIGHTS), "--workers", "2")
    try:
        host, port = address.rsplit(":", 1)
        live = (host, int(port))
        workers = wait_for(lambda: children(proc.pid), lambda found: len(found) == 2)
        os.kill(min(workers), signal.SIGKILL)
        now = wait_for(lambda: children(proc.pid), lambda found: len(found) == 2
                       and min(workers) not in found)
        assert all(post(live, image_body(canvas_png(SEVEN)))[0] == 200 for _ in range(10))
    finally:
        stop_server(proc)
    assert proc.returncode == 0
    time.sleep(0.5)
    assert not any(Path(f"/proc/{pid}").exists() for pid in now)


def test_workers_do_not_outlive_a_parent_killed_outright():
    proc, _ = start_server("--weights", str(WEIGHTS), "--workers", "2")
    try:
        workers = wait_for(lambda: children(proc.pid), lambda found: len(found) == 2)
    finally:
        proc.kill()  # SIGKILL: the parent cannot stop them itself
        proc.wait()
    wait_for(lambda: [pid for pid in workers if Path(f"/proc/{pid}").exists()],
             lambda alive: alive == [])
