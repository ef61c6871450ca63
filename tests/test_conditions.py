"""The condition language: parsing, type checks, and durable_rules agreeing with `evaluate`."""

from __future__ import annotations

import random

import pytest

from engine.compiler import build_fact, compile_ruleset
from engine.conditions import ConditionFault, Vocabulary, evaluate, parse_condition
from engine.runtime import RuleMachine

VOCABULARY = Vocabulary(segments=("elderly_alone", "newlyweds", "general"), tags=("vulnerable", "young_children"))


def parse(text: str):
    return parse_condition(text, VOCABULARY)


def fault_of(text: str) -> ConditionFault:
    with pytest.raises(ConditionFault) as info:
        parse(text)
    return info.value


@pytest.mark.parametrize("text", [
    "household.oldest_age >= 65 and household.size == 1 and needs.elder_care >= 3",
    "household.lives_alone",
    "not household.foreign_resident",
    "3 <= household.youngest_age < 6",
    "household.tenure in ['tenant', 'employer_housing']",
    "'yoga' in household.interests or 'hiking' not in household.interests",
    "'vulnerable' in tags and segment != 'elderly_alone'",
    "segment_confidence < 0.5 and cluster == 2",
    "true",
])
def test_parse_accepts_valid_condition(text):
    assert parse(text) is not None


@pytest.mark.parametrize("text, code, offset", [
    ("household.oldest >= 65", "unknown_field", 0),
    ("household.size >= 'two'", "cond_type", 18),
    ("household.lives_alone == 1", "cond_type", 25),
    ("household.tenure == 'rented'", "cond_value", 20),
    ("segment == 'retired'", "cond_value", 11),
    ("'lonely' in tags", "unknown_tag", 0),
    ("needs.health >= 7", "cond_need_range", 16),
    ("household.size >", "cond_syntax", 16),
    ("__import__('os').system('x')", "cond_unsupported", 0),
    ("household.size + 1 > 2", "cond_unsupported", 0),
    ("household.interests == 'yoga'", "cond_operator", 23),
    ("household.structure > 'single'", "cond_operator", 22),
])
def test_parse_rejects_bad_condition_at_offset(text, code, offset):
    fault = fault_of(text)
    assert fault.code == code
    assert fault.offset == offset


def test_parse_names_allowed_fields_for_unknown_field():
    fault = fault_of("needs.healthcare >= 2")
    assert "needs.health" in fault.params["allowed"]


def _random_condition(rng: random.Random, depth: int = 0) -> str:
    leaves = [
        lambda: f"household.size {rng.choice(['==', '!=', '<', '<=', '>', '>='])} {rng.randint(1, 4)}",
        lambda: f"needs.health {rng.choice(['==', '>=', '<'])} {rng.randint(-1, 4)}",
        lambda: f"household.lives_alone == {rng.choice(['true', 'false'])}",
        lambda: f"household.tenure {rng.choice(['==', '!='])} '{rng.choice(['owner', 'tenant'])}'",
        lambda: f"household.tenure {rng.choice(['in', 'not in'])} ['owner', 'employer_housing']",
        lambda: f"'{rng.choice(['yoga', 'reading'])}' {rng.choice(['in', 'not in'])} household.interests",
        lambda: f"'{rng.choice(VOCABULARY.tags)}' {rng.choice(['in', 'not in'])} tags",
        lambda: f"segment {rng.choice(['==', '!='])} '{rng.choice(VOCABULARY.segments)}'",
    ]
    if depth >= 2 or rng.random() < 0.4:
        return rng.choice(leaves)()
    parts = [_random_condition(rng, depth + 1) for _ in range(rng.randint(2, 3))]
    joined = f" {rng.choice(['and', 'or'])} ".join(f"({p})" for p in parts)
    return f"not ({joined})" if rng.random() < 0.3 else joined


def _random_fact(rng: random.Random) -> dict:
    household = {
        "size": rng.randint(1, 4),
        "lives_alone": rng.random() < 0.5,
        "tenure": rng.choice(["owner", "tenant", "employer_housing"]),
        "interests": rng.sample(["yoga", "reading", "chess"], rng.randint(0, 2)),
    }
    needs = {"health": rng.randint(-1, 4)}
    tags = frozenset(t for t in VOCABULARY.tags if rng.random() < 0.5)
    return build_fact(household, needs, tags, VOCABULARY.tags, rng.choice(VOCABULARY.segments), -1, 0.0)


def test_durable_rules_agrees_with_evaluate_on_random_conditions():
    rng = random.Random(7)
    conditions = {f"r{i}": parse(_random_condition(rng)) for i in range(120)}
    machine = RuleMachine(compile_ruleset(conditions, {}), "differential")
    try:
        for _ in range(150):
            fact = _random_fact(rng)
            expected = {rule_id for rule_id, cond in conditions.items() if evaluate(cond, fact)}
            assert set(machine.match(fact)) == expected, fact
    finally:
        machine.close()
