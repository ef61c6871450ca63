"""Benchmark the HTTP service: plan requests against a trivial endpoint of the same app.

Starts `linli serve --no-auth` (one uvicorn worker) on a free 127.0.0.1 port, then drives
it from 16 threads, each with its own keep-alive connection, first on `GET /healthz` and then
on `POST /v1/plans` with the fixture households in turn. It prints requests per second and
p50/p99 latency for each, and the ratio of plan throughput to healthz throughput (the aim is
at least 60 %). Both phases run in the same process against the same server, so the ratio
does not depend on the machine as much as the absolute numbers do.

Usage:
    python bench/bench_service.py [--seconds 5] [--connections 16]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted((ROOT / "fixtures" / "households").glob("*.json"))
HOST = "127.0.0.1"
TARGET_RATIO = 0.60


@dataclass
class Phase:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

    def line(self) -> str:
        return (f"{self.name:<16} {self.rate:8.1f} req/s   p50 {self.percentile(0.50):6.2f} ms   "
                f"p99 {self.percentile(0.99):6.2f} ms   ({self.requests} requests, {self.errors} errors)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_server(port: int, log_file) -> subprocess.Popen:
    env = {**os.environ, "LINLI_LOG_LEVEL": "INFO"}
    command = [sys.executable, "-m", "service.cli", "serve", "--no-auth", "--host", HOST, "--port", str(port),
               "--env-file", os.devnull]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=log_file)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=1)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the server did not become ready within 30 s; see its log")


def drive(port: int, name: str, method: str, path: str, bodies: list[bytes], connections: int,
          seconds: float, warmup: float) -> Phase:
    """Send requests from `connections` threads for `warmup` + `seconds`; measure the last `seconds`."""
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=30)
        headers = {"Content-Type": "application/json"} if bodies else {}
        sent = index
        while True:
            began = time.perf_counter()
            if began >= stop_at:
                break
            body = bodies[sent % len(bodies)] if bodies else None
            sent += 1
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            ended = time.perf_counter()
            if began >= measure_from:
                latencies[index].append(ended - began)
                if response.status != 200:
                    errors[index] += 1
        connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    merged = [value for chunk in latencies for value in chunk]
    return Phase(name, len(merged), seconds, merged, sum(errors))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per phase (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each phase (default 1)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    args = parser.parse_args()

    bodies = [path.read_bytes() for path in FIXTURES]
    if not bodies:
        raise SystemExit("no fixture households in fixtures/households/")
    port = free_port()
    with tempfile.TemporaryFile() as log_file:
        server = start_server(port, log_file)
        try:
            trivial = drive(port, "GET /healthz", "GET", "/healthz", [], args.connections, args.seconds, args.warmup)
            plans = drive(port, "POST /v1/plans", "POST", "/v1/plans", bodies, args.connections, args.seconds,
                          args.warmup)
        finally:
            server.terminate()
            server.wait(10)

    ratio = plans.rate / trivial.rate
    print(f"one uvicorn worker, {args.connections} connections, {args.seconds:.0f} s per phase, "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(trivial.line())
    print(plans.line())
    print(f"plan / healthz throughput: {ratio:.0%} (target {TARGET_RATIO:.0%}: {'met' if ratio >= TARGET_RATIO else 'not met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
