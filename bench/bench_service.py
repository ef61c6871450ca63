"""Benchmark the HTTP service: plan requests against a trivial endpoint of the same app.

Starts `linli serve --no-auth` (one uvicorn worker) on a free 127.0.0.1 port, then drives
it from 16 threads, each with its own keep-alive connection, first on `GET /healthz` and then
on `POST /v1/plans` with the fixture households in turn. It prints requests per second and
p50/p99 latency for each, and the ratio of plan throughput to healthz throughput (the aim is
at least 60 %). Both phases run in the same process against the same server, so the ratio
does not depend on the machine as much as the absolute numbers do.

With `--breakdown`, the server also gets two endpoints that exist only in this benchmark.
`GET /bench/plan-json` returns a plan computed at start-up, which measures a plan-sized
response. `POST /bench/validated` parses and validates a household like `/v1/plans` and
returns that same plan without planning, which measures everything but the engine. The
gaps between the phases show where a plan request's time goes.

Usage:
    python bench/bench_service.py [--seconds 3] [--rounds 3] [--connections 16] [--breakdown]
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.household import Household  # noqa: E402

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


def start_server(port: int, log_file, breakdown: bool = False) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LINLI_")}
    if breakdown:
        command = [sys.executable, str(Path(__file__).resolve()), "--serve-breakdown", str(port)]
    else:
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


def _median_phase(phases: list[Phase]) -> Phase:
    return sorted(phases, key=lambda phase: phase.rate)[(len(phases) - 1) // 2]


def serve_breakdown(port: int) -> None:
    """Run the service with the two diagnostic endpoints described in the module docstring."""
    import uvicorn
    from fastapi import Response

    from service.app import create_app
    from service.observability import configure_json_logging
    from service.settings import Settings

    configure_json_logging("INFO")
    app = create_app(Settings(_env_file=None, no_auth=True, port=port))
    with app.state.registry.lease() as planner:
        plan_json = planner.plan(Household.model_validate_json(FIXTURES[0].read_bytes())).model_dump_json()

    @app.get("/bench/plan-json")
    async def plan_sized_response() -> Response:
        return Response(plan_json, media_type="application/json")

    @app.post("/bench/validated")
    def validated_only(household: Household) -> Response:
        return Response(plan_json, media_type="application/json")

    uvicorn.run(app, host=HOST, port=port, log_config=None, access_log=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per phase and round (default 3)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of all phases; each endpoint reports its median round (default 3)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each phase (default 1)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument("--breakdown", action="store_true", help="also measure the diagnostic endpoints")
    parser.add_argument("--serve-breakdown", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_breakdown:
        serve_breakdown(args.serve_breakdown)
        return 0

    bodies = [path.read_bytes() for path in FIXTURES]
    if not bodies:
        raise SystemExit("no fixture households in fixtures/households/")
    phases = [("GET /healthz", "GET", "/healthz", [])]
    if args.breakdown:
        phases += [("GET plan-json", "GET", "/bench/plan-json", []), ("POST validated", "POST", "/bench/validated", bodies)]
    phases.append(("POST /v1/plans", "POST", "/v1/plans", bodies))

    port = free_port()
    with tempfile.TemporaryFile() as log_file:
        server = start_server(port, log_file, args.breakdown)
        try:
            rounds = [[drive(port, name, method, path, phase_bodies, args.connections, args.seconds, args.warmup)
                       for name, method, path, phase_bodies in phases] for _ in range(args.rounds)]
        finally:
            server.terminate()
            server.wait(10)

    # Phases alternate within each round, so a burst of load from elsewhere hits both sides.
    results = [_median_phase([r[index] for r in rounds]) for index in range(len(phases))]
    print(f"one uvicorn worker, {args.connections} connections, {args.rounds} rounds of {args.seconds:.0f} s per "
          f"phase (median round shown), {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    for phase in results:
        print(phase.line() + f"   {1000 / phase.rate:.3f} ms/request")
    trivial, plans = results[0], results[-1]
    ratio = plans.rate / trivial.rate
    print(f"plan / healthz throughput: {ratio:.0%} (target {TARGET_RATIO:.0%}: {'met' if ratio >= TARGET_RATIO else 'not met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
