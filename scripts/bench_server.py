"""How fast does serve.py answer? The real server, real HTTP, a real drawing.

    python -m scripts.bench_server            # human-readable
    python -m scripts.bench_server --json     # ... and one JSON object as the last line

It starts `python serve.py --port 0` (its default threads, the committed weights) in a
subprocess, then posts the PNG a 280x280 page canvas exports for a drawn "7":

1. latency: `requests` sequential requests on one keep-alive connection. "server" is the time
   inside the route, read from the Server-Timing header serve.py sends (body read + JSON +
   base64, preprocess, predict, JSON out); "client" is what the caller waits, HTTP included.
2. throughput: `clients` threads, each with its own keep-alive connection, post for `seconds`
   seconds; requests/s counts answers with status 200, anything else is an error.

The client runs on the same machine and competes with the server for the CPU, so the numbers are
what one laptop serving itself gets, not a server's ceiling. On a shared machine, wall-clock
numbers also include waiting for a core; so the report adds the server's CPU time per request
(its own threads' CPU from Server-Timing, and the whole process's from /proc on Linux) and the
load average, which say what the numbers would be on a quiet machine. This is a measurement,
never a test: nothing here passes or fails on time.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from digits.canvas import canvas_png

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WEIGHTS = str(ROOT / "weights" / "mnist_cnn.npz")
WARMUP = 20


SEVEN = [[(0.28, 0.20), (0.72, 0.20), (0.45, 0.85)]]  # a "7" in canvas fractions


def start_server(weights: str) -> tuple[subprocess.Popen, str, int]:
    """Start serve.py on a free loopback port; return (process, host, port)."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "serve.py"), "--host", "127.0.0.1", "--port", "0",
         "--weights", weights],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    line = proc.stdout.readline()
    if "http://" not in line:
        proc.kill()
        raise RuntimeError(f"serve.py did not start: {line.strip()} {proc.stderr.read().strip()}")
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


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process, all threads (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def post(conn: http.client.HTTPConnection, body: bytes) -> tuple[int, dict[str, float]]:
    conn.request("POST", "/api/predict", body=body, headers={"Content-Type": "application/json"})
    res = conn.getresponse()
    res.read()
    return res.status, server_timing(res.getheader("Server-Timing"))


def measure_latency(host: str, port: int, body: bytes, requests: int) -> dict:
    """Sequential requests on one keep-alive connection: client and server times in ms."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    for _ in range(WARMUP):
        post(conn, body)
    client, parts, errors = [], {}, 0
    for _ in range(requests):
        started = time.perf_counter()
        status, timings = post(conn, body)
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


def measure_throughput(host: str, port: int, body: bytes, seconds: float, clients: int) -> dict:
    """`clients` threads, each posting on its own keep-alive connection until time is up."""
    counts = [[0, 0] for _ in range(clients)]  # [ok, errors] per client
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client(i: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        start.wait()
        while time.perf_counter() < deadline[0]:
            try:
                status, _ = post(conn, body)
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


def bench_server(weights: str = DEFAULT_WEIGHTS, requests: int = 500, seconds: float = 5.0,
                 clients: int = 8) -> dict:
    """Start serve.py with `weights` and measure it; see the module docstring for the method."""
    body = json.dumps({"image": "data:image/png;base64," +
                       base64.b64encode(canvas_png(SEVEN)).decode("ascii")}).encode()
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    proc, host, port = start_server(weights)
    try:
        latency = measure_latency(host, port, body, requests)
        cpu_before = process_cpu_seconds(proc.pid)
        throughput = measure_throughput(host, port, body, seconds, clients)
        cpu_after = process_cpu_seconds(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    if cpu_before is not None and cpu_after is not None and throughput["requests"]:
        throughput["server_cpu_ms_per_request"] = (
            1000 * (cpu_after - cpu_before) / (throughput["requests"] + throughput["errors"]))
    return {
        "server": "waitress",
        "weights": Path(weights).name,
        "body_bytes": len(body),
        "latency": latency,
        "throughput": throughput,
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark serve.py over real HTTP.")
    parser.add_argument("--weights", default=DEFAULT_WEIGHTS)
    parser.add_argument("--requests", type=int, default=500, help="sequential requests")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the load test")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)
    if not Path(args.weights).exists():
        print(f"scripts.bench_server: no weights at {args.weights}; train first (python train.py) "
              "or pass --weights PATH", file=sys.stderr)
        return 1

    result = bench_server(args.weights, args.requests, args.seconds, args.clients)
    lat, thr = result["latency"], result["throughput"]
    parts = ", ".join(f"{k} {v:.2f}" for k, v in lat["server_breakdown_median_ms"].items())
    print(f"serve.py on waitress, {result['weights']}, "
          f"{result['body_bytes']} byte request (280x280 canvas PNG)")
    print(f"latency over {lat['requests']} sequential keep-alive requests: "
          f"server median {lat['server_median_ms']:.2f} ms, p99 {lat['server_p99_ms']:.2f} ms; "
          f"client median {lat['client_median_ms']:.2f} ms, p99 {lat['client_p99_ms']:.2f} ms; "
          f"errors {lat['errors']}")
    print(f"  server median by step (ms): {parts}")
    print(f"throughput with {thr['clients']} clients for {thr['seconds']:.1f} s: "
          f"{thr['requests_per_s']:.0f} requests/s, {thr['requests']} answered, "
          f"errors {thr['errors']}")
    if "server_cpu_ms_per_request" in thr:
        print(f"  server process CPU per request under load: "
              f"{thr['server_cpu_ms_per_request']:.2f} ms (all threads)")
    if result["load_average_before"] is not None:
        print(f"machine: {result['cpus']} CPUs, 1-minute load average "
              f"{result['load_average_before']:.2f} before the run (other work shares the CPUs)")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
