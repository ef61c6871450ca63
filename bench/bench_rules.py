"""Benchmark checking and compiling rule sets beside plain YAML parsing of the same files.

Prints, from one run on the same machine, for the shipped rules and for the shipped rules plus
1,000 generated rules:
- structure: reading every file with the strict loader and validating it with pydantic;
- meaning: `engine.checker` (references, contradictions, tags, conflicts, reachability);
- compile: building the durable_rules ruleset (`Planner(rulebase)`), then closing it;
- baseline: `yaml.safe_load` of the same files, measured in the same run;
- the ratio check-and-compile / baseline. Absolute times vary with the machine; the ratio is
  the figure to compare between runs.
Each figure is the median of `--repeat` runs.

Usage: python bench/bench_rules.py [--repeat N] [--generated N] [--seed N]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from engine.checker import check_meaning
from engine.loader import DEFAULT_RULES_DIR, load_rule_files, load_rulebase, rule_file_paths
from engine.planner import Planner

NEED_FIELDS = ["housing", "child_education", "health", "daily_living", "employment", "social",
               "culture_leisure", "elder_care", "civic_affairs", "safety"]
COUNT_FIELDS = ["children", "elderly", "employed", "chronic_illness", "white_collar", "manual_or_service"]
INTERESTS = ["reading", "fitness", "yoga", "hiking", "dance", "calligraphy", "chess", "cooking"]
PRIORITIES = [5, 15, 25, 35, 45]


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def generated_rule(rng: random.Random, index: int, items: list[str], tags: list[str]) -> str:
    """Write one rule whose condition reads two or three different fields, so it can always hold.

    About one rule in four tests an interest, because durable_rules 2.0.28 accepts at most 512
    list tests in one ruleset (`linli rules check` reports more as `engine_list_limit`).
    """
    parts = [f"needs.{rng.choice(NEED_FIELDS)} >= {rng.randint(1, 4)}",
             f"household.{rng.choice(COUNT_FIELDS)} {rng.choice(['>=', '<=', '=='])} {rng.randint(0, 3)}"]
    if rng.random() < 0.25:
        parts.append(f"'{rng.choice(INTERESTS)}' in household.interests")
    if rng.random() < 0.3:
        parts.append(f"'{rng.choice(tags)}' in tags")
    joiner = rng.choice([" and ", " and ", " or "])
    when = joiner.join(rng.sample(parts, rng.randint(2, len(parts))))
    action = (f"{{add_tag: gen_tag_{index % 20}}}" if rng.random() < 0.1 else
              f"{{recommend: {{item: {rng.choice(items)}, weight: {rng.randint(1, 3)}, reason: 生成的规则}}}}")
    return (f"  - id: gen_{index:04d}\n    name: 生成的规则 {index}\n    priority: {rng.choice(PRIORITIES)}\n"
            f"    when: \"{when}\"\n    then: [{action}]\n")


def write_generated(directory: Path, count: int, seed: int) -> None:
    rulebase = load_rulebase(directory)
    rng = random.Random(seed)
    items = sorted(rulebase.items)
    tags = list(rulebase.tags)
    body = "".join(generated_rule(rng, i, items, tags) for i in range(count))
    (directory / "rulesets" / "generated.yaml").write_text(
        "ruleset: generated\nname: 生成的规则\nrules:\n" + body, encoding="utf-8")


def measure(directory: Path, repeat: int) -> dict[str, float]:
    paths = rule_file_paths(directory)
    files = load_rule_files(directory)
    meaning = check_meaning(files)
    errors = [p for p in files.problems + meaning.problems if p.severity == "error"]
    if errors:
        raise SystemExit(f"{directory} has {len(errors)} errors, first: {errors[0].format('en')}")
    rulebase = load_rulebase(directory)

    def compile_once() -> None:
        Planner(rulebase).close()

    return {
        "rules": len(rulebase.rules),
        "baseline": median_seconds(lambda: [yaml.safe_load(p.read_text(encoding="utf-8")) for p in paths], repeat),
        "structure": median_seconds(lambda: load_rule_files(directory), repeat),
        "meaning": median_seconds(lambda: check_meaning(files), repeat),
        "compile": median_seconds(compile_once, repeat),
    }


def report(label: str, figures: dict[str, float]) -> None:
    total = figures["structure"] + figures["meaning"] + figures["compile"]
    print(f"{label}: {figures['rules']:.0f} rules")
    for key in ("structure", "meaning", "compile"):
        print(f"  {key:<10} {figures[key] * 1000:9.1f} ms")
    print(f"  {'total':<10} {total * 1000:9.1f} ms   (check and compile)")
    print(f"  {'baseline':<10} {figures['baseline'] * 1000:9.1f} ms   (yaml.safe_load of the same files)")
    print(f"  ratio      {total / figures['baseline']:9.1f} ×  baseline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure; the median is printed")
    parser.add_argument("--generated", type=int, default=1000, help="number of generated rules")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
          f"median of {args.repeat} runs")
    report("shipped rules", measure(DEFAULT_RULES_DIR, args.repeat))

    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary) / "rules"
        shutil.copytree(DEFAULT_RULES_DIR, directory, ignore=shutil.ignore_patterns("tests", "model"))
        write_generated(directory, args.generated, args.seed)
        report(f"shipped rules + {args.generated} generated", measure(directory, args.repeat))


if __name__ == "__main__":
    main()
