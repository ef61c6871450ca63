"""Benchmark hot reload: memory (RSS) and thread count over 1,000 rule reloads.

Works on a private copy of rules/. Each reload writes a new comment into scoring.yaml, so
every reload builds a new durable_rules ruleset and swaps it in. Then it plans one fixture
household with the new planner. Every tenth reload first writes a broken rule file, so
that the failure path runs too. A second phase drives reloads through the file
watcher (`RulesWatcher`) instead of direct calls. The process's RSS and its OS thread count
(from /proc/self/status, Linux only) are printed every 100 reloads.

Usage:
    python bench/bench_reload.py [--reloads 1000] [--watch-reloads 100]
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.errors import RuleSetError  # noqa: E402
from engine.loader import DEFAULT_RULES_DIR  # noqa: E402
from models.household import Household  # noqa: E402
from service.rules_watcher import RulesWatcher  # noqa: E402
from service.state import PlannerRegistry  # noqa: E402

HOUSEHOLD = Household.model_validate(json.loads((ROOT / "fixtures" / "households" / "newlyweds.json").read_text()))
BROKEN_RULE = "ruleset: broken\nname: 坏规则\nrules:\n  - id: broken_rule\n    name: 坏\n    when: household.nope\n    then:\n      - add_tag: x\n"
FLAT_LIMIT = 0.05
WATCH_TIMEOUT_SECONDS = 30


def process_status() -> tuple[float, int]:
    """Return this process's resident memory in MiB and its number of OS threads."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["Threads"])


def touch_rules(rules_dir: Path, counter: int) -> None:
    """Change scoring.yaml by one comment line, giving the rule set a new version."""
    path = rules_dir / "scoring.yaml"
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("# reload ")]
    path.write_text("\n".join(lines) + f"\n# reload {counter}\n", encoding="utf-8")


def sample(label: str, count: int, registry: PlannerRegistry, rows: list[tuple]) -> None:
    gc.collect()
    rss, threads = process_status()
    status = registry.status()
    row = (label, count, rss, threads, threading.active_count(), status.failed_reloads, status.retired_in_use)
    rows.append(row)
    print(f"{label:<7} {count:>6} {rss:>9.1f} {threads:>11} {row[4]:>11} {row[5]:>9} {row[6]:>8}", flush=True)


def direct_reloads(registry: PlannerRegistry, rules_dir: Path, total: int, rows: list[tuple]) -> None:
    broken = rules_dir / "rulesets" / "broken.yaml"
    for count in range(1, total + 1):
        if count % 10 == 0:
            broken.write_text(BROKEN_RULE, encoding="utf-8")
            try:
                registry.reload(source="bench")
            except RuleSetError:
                pass
            broken.unlink()
        touch_rules(rules_dir, count)
        registry.reload(source="bench")
        with registry.lease() as planner:
            planner.plan(HOUSEHOLD)
        if count % 100 == 0:
            sample("direct", count, registry, rows)


def watched_reloads(registry: PlannerRegistry, rules_dir: Path, total: int, rows: list[tuple]) -> None:
    watcher = RulesWatcher(registry, debounce_ms=20)
    watcher.start()
    try:
        for count in range(1, total + 1):
            before = registry.version
            touch_rules(rules_dir, 100_000 + count)
            deadline = time.monotonic() + WATCH_TIMEOUT_SECONDS
            while registry.version == before:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the watcher did not reload within {WATCH_TIMEOUT_SECONDS} s")
                time.sleep(0.005)
            if count % max(1, total // 5) == 0:
                sample("watch", count, registry, rows)
    finally:
        watcher.stop()
    sample("stopped", total, registry, rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reloads", type=int, default=1000, help="direct reloads (default 1000)")
    parser.add_argument("--watch-reloads", type=int, default=100, help="reloads through the watcher (default 100)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # rejected reloads log a warning each

    with tempfile.TemporaryDirectory(prefix="linli-reload-bench-") as temp:
        rules_dir = Path(temp) / "rules"
        shutil.copytree(DEFAULT_RULES_DIR, rules_dir)
        registry = PlannerRegistry(rules_dir)
        registry.reload(source="startup")
        rows: list[tuple] = []
        print("phase   reloads  RSS (MiB)  OS threads  Py threads  failures  retired")
        sample("start", 0, registry, rows)
        started = time.perf_counter()
        direct_reloads(registry, rules_dir, args.reloads, rows)
        elapsed = time.perf_counter() - started
        if args.watch_reloads:
            watched_reloads(registry, rules_dir, args.watch_reloads, rows)
        registry.close()

    report(rows, args.reloads, elapsed)
    return 0


def report(rows: list[tuple], reloads: int, elapsed: float) -> None:
    """Compare the end of each phase with its first sample after warm-up."""
    print(f"{reloads} direct reloads in {elapsed:.1f} s ({elapsed / max(reloads, 1) * 1000:.0f} ms each, "
          f"plus {reloads // 10} rejected ones)")
    direct = [row for row in rows if row[0] == "direct"]
    watched = [row for row in rows if row[0] == "watch"]
    start, last = rows[0], rows[-1]
    if direct:
        warm, end = direct[0], direct[-1]
        growth = (end[2] - warm[2]) / warm[2]
        print(f"direct: RSS {warm[2]:.1f} MiB at reload {warm[1]}, {end[2]:.1f} MiB at reload {end[1]} "
              f"({growth:+.1%}; flat means within {FLAT_LIMIT:.0%}): {'flat' if growth <= FLAT_LIMIT else 'GROWING'}")
        steady = len({row[3] for row in direct}) == 1
        print(f"direct: OS threads {sorted({row[3] for row in direct})} over the phase: {'flat' if steady else 'CHANGING'}")
    if watched:
        steady = len({row[3] for row in watched}) == 1
        print(f"watch: OS threads {sorted({row[3] for row in watched})} while watching: {'flat' if steady else 'CHANGING'}")
    back = last[3] == start[3] and last[4] == start[4]
    print(f"OS threads {start[3]} at start and {last[3]} at the end: {'back to start' if back else 'NOT back to start'}")


if __name__ == "__main__":
    main()
