"""How fast does serve.py answer? The real server, real HTTP, a real drawing in both forms.

    python -m scripts.bench_server                  # one process and two (--workers 1 2)
    python -m scripts.bench_server --workers 2      # just `python serve.py --workers 2`
    python -m scripts.bench_server --json           # ... and one JSON object as the last line
    python -m scripts.bench_server --deaf 60        # ... and 8 clients beside 60 that never read

For each worker count it starts `python serve.py --port 0 --workers N` (its default threads, the
committed weights) in a subprocess and posts a drawn "7" in the two forms the API takes: the PNG
a 280x280 page canvas exports, and the strokes the page itself sends (a point every 1% of the
canvas, as pointer events give them); and a 4-digit number, "7140", as the strokes of a 560x280
canvas to /api/read (form "number"). For each form:

1. latency: `requests` sequential requests on one keep-alive connection. "server" is the time
   inside the route, read from the Server-Timing header serve.py sends (read: body, JSON and
   checks; queue: waiting for the compute gate; preprocess; predict; total), "client" is what
   the caller waits, HTTP included.
2. throughput: `clients` threads, each with its own keep-alive connection, post for `seconds`
   seconds; requests/s counts answers with status 200, anything else is an error.

3. with --deaf N: N connections keep sending the PNG's request every 50 ms and never read an
   answer ("deaf" clients, pipelining into the kernel's buffers), and meanwhile `clients` others
   each ask once on a new connection, coming back after Retry-After when told 503: how long each
   waited for its reading, and how many tries it took.

The client runs on the same machine and competes with the server for the CPU, so the numbers are
what one laptop serving itself gets, not a server's ceiling. On a shared machine, wall-clock
numbers also include waiting for a core; so the report adds the server's CPU time per request
(the route's thread from Server-Timing; all its processes' threads from /proc on Linux) and the
load average, which say what the numbers would be on a quiet machine. This is a measurement,
never a test: nothing here passes or fails on time.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from digits.canvas import EXPORT_SIZE, canvas_png

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WEIGHTS = str(ROOT / "weights" / "mnist_cnn.npz")
WARMUP = 20
SEVEN = [[(0.28, 0.20), (0.72, 0.20), (0.45, 0.85)]]  # a "7" in canvas fractions
# "7140" on a canvas twice as wide as tall, in fractions of its height: a 7, a 1, a 4 in two
# strokes, a 0
_t = np.linspace(0, 2 * np.pi, 40)
NUMBER = [[(0.1, 0.2), (0.45, 0.2), (0.25, 0.85)], [(0.7, 0.2), (0.68, 0.85)],
          [(1.15, 0.2), (0.9, 0.6), (1.3, 0.6)], [(1.15, 0.2), (1.15, 0.85)],
          list(zip(1.65 + 0.18 * np.sin(_t), 0.52 - 0.33 * np.cos(_t)))]
PATHS = {"png": "/api/predict", "strokes": "/api/predict", "number": "/api/read"}


def _dense(stroke, scale: float) -> list[list[float]]:
    """A polyline with a point every 1% of the canvas, in CSS pixels (the page's pointer events)."""
    points = [stroke[0]]
    for (x0, y0), (x1, y1) in zip(stroke, stroke[1:], strict=False):
        n = max(1, int(np.ceil(np.hypot(x1 - x0, y1 - y0) / 0.01)))
        points += [(x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n) for k in range(1, n + 1)]
    return [[round(float(x) * scale, 2), round(float(y) * scale, 2)] for x, y in points]


def request_bodies() -> dict[str, bytes]:
    """The JSON bodies: {"image": PNG data URL} and {"strokes": ..., "pen": ...} of a 7 for
    /api/predict, and {"strokes": ...} of "7140" for /api/read."""
    png = canvas_png(SEVEN)
    strokes = [_dense(stroke, EXPORT_SIZE) for stroke in SEVEN]
    number = [_dense(stroke, EXPORT_SIZE) for stroke in NUMBER]
    return {
        "png": json.dumps({"image": "data:image/png;base64," +
                           base64.b64encode(png).decode("ascii")}).encode(),
        "strokes": json.dumps({"strokes": strokes, "pen": 15.4}).encode(),
        "number": json.dumps({"strokes": number, "pen": 15.4}).encode(),
    }


def start_server(weights: str, workers: int) -> tuple[subprocess.Popen, str, int]:
    """Start serve.py on a free loopback port; return (process, host, port). Its log goes to a
    file: a pipe nobody reads would fill under load and stop the server."""
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "serve.py"), "--host", "127.0.0.1", "--port", "0",
         "--weights", weights, "--workers", str(workers)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True,
    )
    line = proc.stdout.readline()
    if "http://" not in line:
        proc.kill()
        proc.wait()
        log.seek(0)
        raise RuntimeError(f"serve.py did not start: {line.strip()} {log.read().strip()}")
    host, port = line.split("http://")[1].split("/")[0].rsplit(":", 1)
    return proc, host, int(port)


def server_timing(header: str | None) -> dict[str, float]:
    """"read;dur=0.1, predict;dur=0.8" -> {"read": 0.1, "predict": 0.8} (milliseconds)."""
    timings = {}
    for part in (header or "").split(","):
        name, _, rest = part.strip().partition(";dur=")
        if rest:
            timings[name] = float(rest)
    return timings


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process and of its running children, all their threads
    (Linux /proc), or None where there is no /proc."""
    ticks, found = 0, False
    for path in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = path.read_text().rsplit(")", 1)[1].split()  # after "pid (name)"
        except OSError:
            continue
        if path.parent.name == str(pid) or fields[1] == str(pid):  # itself, or its child
            ticks += int(fields[11]) + int(fields[12])
            found = True
    return ticks / os.sysconf("SC_CLK_TCK") if found else None


def post(conn: http.client.HTTPConnection, body: bytes, path: str = "/api/predict",
         ) -> tuple[int, dict[str, float]]:
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    res = conn.getresponse()
    res.read()
    return res.status, server_timing(res.getheader("Server-Timing"))


def measure_latency(host: str, port: int, body: bytes, requests: int,
                    path: str = "/api/predict") -> dict:
    """Sequential requests on one keep-alive connection: client and server times in ms."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    for _ in range(WARMUP):
        post(conn, body, path)
    client, parts, errors = [], {}, 0
    for _ in range(requests):
        started = time.perf_counter()
        status, timings = post(conn, body, path)
        client.append((time.perf_counter() - started) * 1000)
        errors += status != 200
        for name, ms in timings.items():
            parts.setdefault(name, []).append(ms)
    conn.close()
    server = parts.get("total", [float("nan")])
    return {
        "requests": requests,
        "errors": errors,
        "server_median_ms": float(np.median(server)),
        "server_p99_ms": float(np.percentile(server, 99)),
        "client_median_ms": float(np.median(client)),
        "client_p99_ms": float(np.percentile(client, 99)),
        "server_breakdown_median_ms": {k: float(np.median(v)) for k, v in parts.items()},
    }


def measure_throughput(host: str, port: int, body: bytes, seconds: float, clients: int,
                       path: str = "/api/predict") -> dict:
    """`clients` threads, each posting on its own keep-alive connection until time is up."""
    counts = [[0, 0] for _ in range(clients)]  # [ok, errors] per client
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client(i: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        start.wait()
        while time.perf_counter() < deadline[0]:
            try:
                status, _ = post(conn, body, path)
                counts[i][status != 200] += 1
            except (OSError, http.client.HTTPException):
                counts[i][1] += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    ok = sum(c[0] for c in counts)
    return {
        "clients": clients,
        "seconds": round(elapsed, 3),
        "requests": ok,
        "errors": sum(c[1] for c in counts),
        "requests_per_s": ok / elapsed,
    }


def measure_beside_deaf(host: str, port: int, body: bytes, deaf: int, clients: int) -> dict:
    """`clients` requests, each on a new connection (again after Retry-After when refused),
    while `deaf` connections send the same request every 50 ms and never read an answer."""
    request = (b"POST /api/predict HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json"
               b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    stop = threading.Event()
    sockets = [socket.create_connection((host, port)) for _ in range(deaf)]

    def pipeline(sock: socket.socket) -> None:
        sock.setblocking(False)
        while not stop.wait(0.05):
            try:
                sock.send(request)  # as much as the buffers take: the rest is dropped
            except BlockingIOError:
                pass
            except OSError:
                return  # closed by the server

    def client(waits: list) -> None:
        started, tries, status = time.perf_counter(), 0, 0
        while status != 200 and time.perf_counter() - started < 60:
            conn = http.client.HTTPConnection(host, port, timeout=60)
            conn.request("POST", "/api/predict", body=body,
                         headers={"Content-Type": "application/json"})
            res = conn.getresponse()
            res.read()
            conn.close()
            tries, status = tries + 1, res.status
            if status != 200:
                time.sleep(float(res.getheader("Retry-After") or 1))
        waits.append((time.perf_counter() - started, tries, status))

    flooders = [threading.Thread(target=pipeline, args=(s,), daemon=True) for s in sockets]
    for thread in flooders:
        thread.start()
    time.sleep(1.0)  # the flood under way
    waits: list = []
    askers = [threading.Thread(target=client, args=(waits,)) for _ in range(clients)]
    for thread in askers:
        thread.start()
    for thread in askers:
        thread.join()
    stop.set()
    for sock in sockets:
        sock.close()
    return {"deaf": deaf, "clients": clients,
            "max_wait_s": max(w[0] for w in waits),
            "median_wait_s": float(np.median([w[0] for w in waits])),
            "max_tries": max(w[1] for w in waits),
            "served": sum(w[2] == 200 for w in waits)}


def bench_server(weights: str = DEFAULT_WEIGHTS, requests: int = 500, seconds: float = 5.0,
                 clients: int = 8, workers: tuple[int, ...] = (1, 2), deaf: int = 0) -> dict:
    """Start serve.py with `weights` once per worker count and measure both request forms; see
    the module docstring for the method."""
    bodies = request_bodies()
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    runs = []
    for count in workers:
        proc, host, port = start_server(weights, count)
        run: dict = {"workers": count}
        try:
            for form, body in bodies.items():
                latency = measure_latency(host, port, body, requests, PATHS[form])
                cpu_before = cpu_seconds(proc.pid)
                throughput = measure_throughput(host, port, body, seconds, clients, PATHS[form])
                cpu_after = cpu_seconds(proc.pid)
                answered = throughput["requests"] + throughput["errors"]
                if cpu_before is not None and cpu_after is not None and answered:
                    throughput["server_cpu_ms_per_request"] = (
                        1000 * (cpu_after - cpu_before) / answered)
                run[form] = {"latency": latency, "throughput": throughput}
            if deaf:
                run["beside_deaf"] = measure_beside_deaf(host, port, bodies["png"], deaf, clients)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        runs.append(run)
    return {
        "server": "waitress",
        "weights": Path(weights).name,
        "body_bytes": {form: len(body) for form, body in bodies.items()},
        "runs": runs,
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
    }


def print_report(result: dict) -> None:
    sizes = result["body_bytes"]
    print(f"serve.py on waitress, {result['weights']}: a drawn 7 as a 280x280 canvas PNG "
          f"({sizes['png']:,} byte request) and as the page's strokes ({sizes['strokes']:,}); "
          f"'number': 7140 as strokes to /api/read ({sizes['number']:,})")
    print(f"{'':22}{'server ms':>10}{'p99':>7}{'preproc':>9}{'client ms':>11}"
          f"{'requests/s':>12}{'errors':>8}{'CPU ms/req':>12}")
    for run in result["runs"]:
        n = run["workers"]
        for form in ("png", "strokes", "number"):
            lat, thr = run[form]["latency"], run[form]["throughput"]
            label = f"{n} process{'es' if n > 1 else ''}, {form}"
            cpu = thr.get("server_cpu_ms_per_request", float("nan"))
            print(f"{label:22}{lat['server_median_ms']:>10.2f}{lat['server_p99_ms']:>7.2f}"
                  f"{lat['server_breakdown_median_ms'].get('preprocess', float('nan')):>9.3f}"
                  f"{lat['client_median_ms']:>11.2f}{thr['requests_per_s']:>12.0f}"
                  f"{lat['errors'] + thr['errors']:>8}{cpu:>12.2f}")
    for run in result["runs"]:
        if "beside_deaf" in run:
            d = run["beside_deaf"]
            print(f"{run['workers']} process(es), beside {d['deaf']} deaf connections: "
                  f"{d['served']} of {d['clients']} clients served, waiting "
                  f"{d['median_wait_s']:.2f} s (median), {d['max_wait_s']:.2f} s at most, in "
                  f"{d['max_tries']} tr{'ies' if d['max_tries'] > 1 else 'y'} at most")
    first = result["runs"][0]["png"]
    clients, secs = first["throughput"]["clients"], first["throughput"]["seconds"]
    print(f"  (server: median of {first['latency']['requests']} sequential keep-alive requests, "
          f"from Server-Timing; requests/s: {clients} clients for {secs:.0f} s; CPU: all of the "
          "server's processes and threads, under that load)")
    if result["load_average_before"] is not None:
        print(f"machine: {result['cpus']} CPUs, 1-minute load average "
              f"{result['load_average_before']:.2f} before the run (other work shares the CPUs)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark serve.py over real HTTP.")
    parser.add_argument("--weights", default=DEFAULT_WEIGHTS)
    parser.add_argument("--requests", type=int, default=500, help="sequential requests")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each load test")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="serve.py --workers values to measure (default: 1 2)")
    parser.add_argument("--deaf", type=int, default=0, metavar="N",
                        help="also time the clients beside N connections that never read")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)
    if not Path(args.weights).exists():
        print(f"scripts.bench_server: no weights at {args.weights}; train first (python train.py) "
              "or pass --weights PATH", file=sys.stderr)
        return 1

    result = bench_server(args.weights, args.requests, args.seconds, args.clients,
                          tuple(args.workers), args.deaf)
    print_report(result)
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
