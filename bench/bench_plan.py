"""Benchmark the planning path against the bare durable_rules loop on the same compiled rules.

Prints, from one run on the same machine:
- the time to plan one household (median of repeated plans of a fixture household);
- households per second over the 200-household fixture month, for the whole planner;
- households per second for the baseline: one durable_rules assert and session delete per
  household on the same compiled ruleset, with facts built in advance;
- the ratio planner / baseline. Absolute figures vary with the machine; the ratio is the figure
  to compare between runs.

Usage: python bench/bench_plan.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import durable_rules_engine as dre

from engine.compiler import build_fact, compile_ruleset
from engine.features import derive_features, derive_needs
from engine.loader import load_rulebase
from engine.planner import Planner
from models.household import Household

ROOT = Path(__file__).resolve().parent.parent


def load_month() -> list[Household]:
    data = json.loads((ROOT / "fixtures" / "month" / "arrivals.json").read_text(encoding="utf-8"))
    return [Household.model_validate(h) for h in data]


def time_one_plan(planner: Planner, household: Household, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        planner.plan(household)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def planner_rate(planner: Planner, households: list[Household]) -> float:
    start = time.perf_counter()
    for household in households:
        planner.plan(household)
    return len(households) / (time.perf_counter() - start)


def bare_durable_rate(planner: Planner, households: list[Household]) -> float:
    """Time one assert and one session delete per household on a ruleset compiled from the same rules."""
    rulebase = planner.rulebase
    definition = compile_ruleset({r.id: r.condition for r in rulebase.rules}, {})
    definition["_seen"] = {"all": [{"m": {"$ex": {"household.size": 1}}}]}
    handle = dre.create_ruleset("bench_bare", json.dumps(definition, ensure_ascii=False))
    payloads = []
    for index, household in enumerate(households):
        fact = build_fact(derive_features(household), derive_needs(household), frozenset(), rulebase.tags,
                          rulebase.segments.default, -1, 0.0)
        payloads.append((f"b{index}", json.dumps({**fact, "sid": f"b{index}", "id": "f"}, ensure_ascii=False)))

    start = time.perf_counter()
    for sid, payload in payloads:
        _, state = dre.assert_fact(handle, payload)
        result = dre.start_action_for_state(handle, state)
        message = result[1] if result else None
        while message:
            message = dre.complete_and_start_action(handle, state)
        dre.delete_state(handle, sid)
    elapsed = time.perf_counter() - start
    dre.delete_ruleset(handle)
    return len(payloads) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds over the month (default 3)")
    args = parser.parse_args()

    planner = Planner(load_rulebase())
    households = load_month()
    planner_rate(planner, households[:20])  # warm-up

    one = time_one_plan(planner, households[0], 200)
    plans = [planner_rate(planner, households) for _ in range(args.repeat)]
    bare = [bare_durable_rate(planner, households) for _ in range(args.repeat)]
    plan_rate, bare_rate = statistics.median(plans), statistics.median(bare)

    print(f"rules: {len(planner.rulebase.rules)}, catalogue items: {len(planner.rulebase.items)}, "
          f"households: {len(households)}, rounds: {args.repeat}")
    print(f"one household, median of 200 plans: {one * 1000:.2f} ms")
    print(f"planner (features, firing to fixpoint, scoring, schedule): {plan_rate:,.0f} households/s")
    print(f"baseline (bare durable_rules assert + delete, same rules): {bare_rate:,.0f} households/s")
    print(f"ratio planner / baseline: {plan_rate / bare_rate:.2f}")
    planner.close()


if __name__ == "__main__":
    main()
