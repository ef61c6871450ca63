"""Allocation: exact optimum against brute force, capacities, waitlists and settings."""

from __future__ import annotations

import itertools
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from engine.allocation import (
    Applicant,
    Capacities,
    Choice,
    allocate,
    load_batch_settings,
    solve_allocation,
)
from engine.errors import RuleSetError
from engine.loader import DEFAULT_RULES_DIR, load_rulebase
from models.batch import BatchSettings
from models.catalogue import ItemKind

GROUP = ItemKind.interest_group
TASK = ItemKind.volunteer_task


def _options(row: list[tuple[int, int]], per_household: int) -> list[tuple[int, ...]]:
    """Every set of at most `per_household` positions in `row`."""
    positions = range(len(row))
    return [combo for size in range(per_household + 1) for combo in itertools.combinations(positions, size)]


def brute_force(utilities: list[list[tuple[int, int]]], capacities: list[int], per_household: int) -> tuple[int, int]:
    """Best (total utility, tie-break) over every feasible allocation, by enumeration."""
    n = len(utilities)
    best = (0, 0)
    for picks in itertools.product(*(_options(row, per_household) for row in utilities)):
        used = [0] * len(capacities)
        total = tie = 0
        for h, combo in enumerate(picks):
            for position in combo:
                item, utility = utilities[h][position]
                used[item] += 1
                total += utility
                tie += n - h
        if all(u <= c for u, c in zip(used, capacities)):
            best = max(best, (total, tie))
    return best


def value_of(utilities, assigned) -> tuple[int, int]:
    n = len(utilities)
    total = tie = 0
    for h, items in enumerate(assigned):
        lookup = dict(utilities[h])
        for item in items:
            total += lookup[item]
            tie += n - h
    return total, tie


def random_case(rng: random.Random, households: int, items: int, max_seats: int, choices: int):
    utilities = []
    for _ in range(households):
        chosen = rng.sample(range(items), rng.randint(0, min(choices, items)))
        utilities.append([(i, rng.choice([10, 15, 20, 30])) for i in chosen])
    capacities = [rng.randint(0, max_seats) for _ in range(items)]
    return utilities, capacities


def check_feasible(utilities, capacities, per_household, assigned) -> None:
    used = [0] * len(capacities)
    for h, items in enumerate(assigned):
        assert len(items) <= per_household
        assert len(set(items)) == len(items)
        assert set(items) <= {i for i, _ in utilities[h]}
        for item in items:
            used[item] += 1
    for item, count in enumerate(used):
        assert count <= capacities[item], f"item {item}: {count} assigned, {capacities[item]} seats"


@pytest.mark.parametrize("seed", range(60))
def test_solver_matches_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    per_household = 1 + seed % 2
    utilities, capacities = random_case(rng, rng.randint(1, 5), rng.randint(1, 3), 3, 3)

    assigned = solve_allocation(utilities, capacities, per_household)

    check_feasible(utilities, capacities, per_household, assigned)
    assert value_of(utilities, assigned) == brute_force(utilities, capacities, per_household)


@pytest.mark.parametrize("seed", range(30))
def test_solver_exact_when_pruning(seed: int) -> None:
    """More households than seats, so each item keeps only its best candidates."""
    rng = random.Random(1000 + seed)
    utilities, _ = random_case(rng, 8, 3, 1, 2)
    capacities = [rng.randint(0, 1) for _ in range(3)]
    capacities[0] = 1

    assigned = solve_allocation(utilities, capacities, 1)

    check_feasible(utilities, capacities, 1, assigned)
    assert value_of(utilities, assigned) == brute_force(utilities, capacities, 1)


def test_solver_matches_milp_on_larger_case() -> None:
    rng = random.Random(7)
    utilities, capacities = random_case(rng, 120, 6, 12, 3)
    utilities = [[(i, rng.randint(1, 60_000)) for i, _ in row] for row in utilities]
    per_household = 2

    assigned = solve_allocation(utilities, capacities, per_household)

    edges = [(h, i, u) for h, row in enumerate(utilities) for i, u in row]
    matrix_rows = []
    for h in range(len(utilities)):
        matrix_rows.append([1 if e[0] == h else 0 for e in edges])
    for i in range(len(capacities)):
        matrix_rows.append([1 if e[1] == i else 0 for e in edges])
    upper = [per_household] * len(utilities) + capacities
    result = milp(c=-np.array([e[2] for e in edges], dtype=float),
                  constraints=LinearConstraint(np.array(matrix_rows), 0, upper),
                  integrality=np.ones(len(edges)), bounds=Bounds(0, 1), options={"mip_rel_gap": 0})
    check_feasible(utilities, capacities, per_household, assigned)
    assert value_of(utilities, assigned)[0] == round(-result.fun)


def test_solver_prefers_earlier_household_on_tie() -> None:
    utilities = [[(0, 50)], [(0, 50)], [(0, 50)]]

    assigned = solve_allocation(utilities, [2], 1)

    assert assigned == [[0], [0], []]


def test_solver_prefers_higher_score_over_order() -> None:
    utilities = [[(0, 40)], [(0, 41)]]

    assert solve_allocation(utilities, [1], 1) == [[], [0]]


def test_solver_beats_greedy() -> None:
    """Greedy by score gives item 0 to household 0 and leaves household 1 empty (total 10)."""
    utilities = [[(0, 10), (1, 9)], [(0, 8)]]

    assigned = solve_allocation(utilities, [1, 1], 1)

    assert assigned == [[1], [0]]
    assert value_of(utilities, assigned)[0] == 17


def test_solver_zero_seats_assigns_nothing() -> None:
    assert solve_allocation([[(0, 5)], [(0, 7)]], [0], 1) == [[], []]


def applicant(position: int, community: str, groups: list[tuple[str, float]], weight: float = 1.0,
              tasks: list[tuple[str, float]] = ()) -> Applicant:
    def choices(pairs):
        return tuple(Choice(item, score, rank) for rank, (item, score) in enumerate(pairs, start=1))
    return Applicant(position, f"H{position:03d}", community, weight, {GROUP: choices(groups), TASK: choices(tasks)})


def test_allocate_respects_capacity_per_community() -> None:
    applicants = [applicant(p, "C1" if p % 2 else "C2", [("grp_a", 3.0), ("grp_b", 2.0)]) for p in range(40)]
    capacities = Capacities({"grp_a": 5, "grp_b": 3})

    allocation = allocate(applicants, capacities, BatchSettings())

    for community in ("C1", "C2"):
        for item, seats in (("grp_a", 5), ("grp_b", 3)):
            taken = [s for s in allocation.seats if s.community_id == community and s.item_id == item]
            assert len(taken) == seats
    use = {(u.community_id, u.item_id): u for u in allocation.usage}
    assert use[("C1", "grp_a")].demand == 20
    assert use[("C1", "grp_a")].assigned == 5


def test_allocate_priority_weight_wins_seat() -> None:
    applicants = [applicant(0, "C1", [("grp_a", 4.0)]), applicant(1, "C1", [("grp_a", 3.0)], weight=1.5)]

    allocation = allocate(applicants, Capacities({"grp_a": 1}), BatchSettings())

    assert [s.household_id for s in allocation.seats] == ["H001"]


def test_allocate_waitlist_ranks_unserved_first() -> None:
    applicants = [
        applicant(0, "C1", [("grp_a", 5.0), ("grp_b", 1.0)]),
        applicant(1, "C1", [("grp_a", 4.0)]),
        applicant(2, "C1", [("grp_a", 6.0)]),
    ]

    allocation = allocate(applicants, Capacities({"grp_a": 1, "grp_b": 1}), BatchSettings())

    waiting = [(w.household_id, w.place, w.holds_same_kind) for w in allocation.waitlist if w.item_id == "grp_a"]
    assert waiting == [("H001", 1, 0), ("H000", 2, 1)]
    assert allocation.over_limit == 0


def test_allocate_no_waitlist_for_item_with_free_seats() -> None:
    """H000 gets its better group; the fitness club still has 29 free seats, so H000 does not wait for it."""
    applicants = [
        applicant(0, "C1", [("grp_a", 5.0), ("grp_fitness", 3.0)]),
        applicant(1, "C1", [("grp_a", 1.0)]),
    ]

    allocation = allocate(applicants, Capacities({"grp_a": 1, "grp_fitness": 30}), BatchSettings())

    assert [(s.household_id, s.item_id) for s in allocation.seats] == [("H000", "grp_a")]
    assert [(w.household_id, w.item_id, w.seats) for w in allocation.waitlist] == [("H001", "grp_a", 1)]
    assert allocation.over_limit == 1


def test_allocate_unlimited_item_serves_everyone() -> None:
    applicants = [applicant(p, "C1", [("grp_open", 2.0)]) for p in range(25)]

    allocation = allocate(applicants, Capacities({"grp_open": None}), BatchSettings())

    assert len(allocation.seats) == 25
    assert allocation.waitlist == []


def test_allocate_override_for_one_community() -> None:
    applicants = [applicant(p, "C1" if p < 10 else "C2", [("grp_a", 2.0)]) for p in range(20)]
    capacities = Capacities({"grp_a": 2}, {("C2", "grp_a"): 7, (None, "grp_a"): 4})

    allocation = allocate(applicants, capacities, BatchSettings())

    counts = {c: sum(1 for s in allocation.seats if s.community_id == c) for c in ("C1", "C2")}
    assert counts == {"C1": 4, "C2": 7}


def test_allocate_rerun_identical() -> None:
    rng = random.Random(3)
    items = [f"grp_{k}" for k in "abcde"]
    applicants = [applicant(p, rng.choice(["C1", "C2"]), [(i, rng.choice([2.0, 2.5, 3.0])) for i in rng.sample(items, 3)])
                  for p in range(200)]
    capacities = Capacities({i: 7 for i in items})

    first = allocate(applicants, capacities, BatchSettings())
    second = allocate(list(reversed(applicants)), capacities, BatchSettings())

    assert first.seats == second.seats
    assert first.waitlist == second.waitlist


def test_bundled_batch_settings_load() -> None:
    settings = load_batch_settings(load_rulebase(DEFAULT_RULES_DIR))

    assert settings.seats_per_household[GROUP] >= 1
    assert any(p.tag == "vulnerable" for p in settings.priority)
    assert any(i.target == 0.30 for i in settings.indicators)


def test_batch_settings_unknown_tag_located(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules)
    text = (rules / "batch.yaml").read_text(encoding="utf-8").replace("tag: vulnerable", "tag: vulnerabel")
    (rules / "batch.yaml").write_text(text, encoding="utf-8")

    with pytest.raises(RuleSetError) as caught:
        load_batch_settings(load_rulebase(rules))

    problem = caught.value.problems[0]
    assert problem.code == "unknown_tag"
    assert problem.file.endswith("batch.yaml")
    assert problem.line == text.splitlines().index("  - tag: vulnerabel") + 1
    assert "vulnerabel" in problem.message("zh")


def test_batch_settings_weight_takes_largest() -> None:
    settings = BatchSettings.model_validate({"priority": [
        {"tag": "vulnerable", "weight": 1.5, "reason": "甲"},
        {"segment": "elderly_alone", "weight": 2.0, "reason": "乙"},
    ]})

    assert settings.weight_for(["vulnerable"], "elderly_alone") == (2.0, "乙")
    assert settings.weight_for(["vulnerable"], "general") == (1.5, "甲")
    assert settings.weight_for([], "general") == (1.0, None)
