"""Benchmark `linli batch` end to end against the plain per-household planner loop.

For each size (200, 10,000 and 100,000 generated households; 200 and 2,000 with --quick),
the parent process generates one month with `fixtures.generate.generate_month`, writes it
as a registration .xlsx, and then runs two measurements, each in a fresh child process so
that its peak memory is its own:

- end to end: `run_batch` reading the .xlsx, planning every row, allocating seats and
  writing the result .xlsx; prints households per second, the allocation time and the
  write time, and the child's peak resident memory (ru_maxrss);
- baseline: `Planner.plan` called in a loop over the same households, already parsed into
  `Household` models, with nothing read, allocated or written.

The ratio end-to-end / baseline is the figure to compare between runs and machines.

Usage: python bench/bench_batch.py [--quick] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = (200, 10_000, 100_000)
QUICK_SIZES = (200, 2_000)


def prepare(size: int, seed: int, directory: Path) -> tuple[Path, Path]:
    """Generate `size` households and write them as JSON and as a registration .xlsx."""
    from engine.allocation import load_batch_settings
    from engine.loader import load_rulebase
    from fixtures.generate import dump_households, generate_month
    from fixtures.to_sheet import sheet_columns, write_xlsx
    from service.batch_io import template_columns

    households = generate_month(size, seed)
    rulebase = load_rulebase()
    json_path = directory / f"month-{size}.json"
    xlsx_path = directory / f"month-{size}.xlsx"
    json_path.write_text(dump_households(households), encoding="utf-8")
    write_xlsx(households, xlsx_path, sheet_columns(template_columns(rulebase)), load_batch_settings(rulebase))
    return json_path, xlsx_path


def peak_megabytes() -> float:
    """Peak resident memory of this process in MiB.

    Reads VmHWM from /proc, because Linux keeps ru_maxrss across execve, so a spawned child
    would report its parent's peak; ru_maxrss (KiB on Linux) is the fallback elsewhere.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def end_to_end(xlsx_path: str, output_path: str) -> dict[str, float]:
    from engine.planner import build_planner
    from service.batch_run import run_batch

    planner = build_planner()
    started = time.perf_counter()
    summary = run_batch(Path(xlsx_path), Path(output_path), planner)
    elapsed = time.perf_counter() - started
    planner.close()
    return {"rows": summary.rows, "seconds": elapsed, "plan": summary.plan_seconds,
            "allocate": summary.allocation_seconds, "write": summary.write_seconds, "seats": summary.seats,
            "peak_mb": peak_megabytes()}


def baseline(json_path: str) -> dict[str, float]:
    from engine.planner import build_planner
    from models.household import Household

    households = [Household.model_validate(h) for h in json.loads(Path(json_path).read_text(encoding="utf-8"))]
    planner = build_planner()
    started = time.perf_counter()
    for household in households:
        planner.plan(household)
    elapsed = time.perf_counter() - started
    planner.close()
    return {"rows": len(households), "seconds": elapsed, "peak_mb": peak_megabytes()}


def in_child(function, *args):
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(function, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="run 200 and 2,000 households only")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the generated months (default 2026)")
    args = parser.parse_args()

    print(f"{'households':>10} {'e2e hh/s':>9} {'loop hh/s':>9} {'ratio':>6} {'plan s':>7} {'alloc s':>8} "
          f"{'write s':>8} {'seats':>6} {'e2e peak MB':>11} {'loop peak MB':>12}")
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as folder:
        directory = Path(folder)
        for size in QUICK_SIZES if args.quick else SIZES:
            json_path, xlsx_path = prepare(size, args.seed, directory)
            full = in_child(end_to_end, str(xlsx_path), str(directory / f"out-{size}.xlsx"))
            loop = in_child(baseline, str(json_path))
            e2e_rate = full["rows"] / full["seconds"]
            loop_rate = loop["rows"] / loop["seconds"]
            print(f"{size:>10,} {e2e_rate:>9.0f} {loop_rate:>9.0f} {e2e_rate / loop_rate:>6.2f} {full['plan']:>7.1f} "
                  f"{full['allocate']:>8.2f} {full['write']:>8.1f} {full['seats']:>6} {full['peak_mb']:>11.0f} "
                  f"{loop['peak_mb']:>12.0f}", flush=True)
            xlsx_path.unlink()
            json_path.unlink()


if __name__ == "__main__":
    main()
