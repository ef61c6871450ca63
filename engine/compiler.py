"""Compile checked rules into one durable_rules ruleset definition, and build the matching facts.

Each Linli rule becomes one durable_rules rule named by its id, whose single pattern `m`
matches the household fact. durable_rules has no general `not`, so conditions are first
put in negation normal form (`conditions.to_nnf`); the remaining negations map as follows:
- `'x' not in tags`: every known tag is a boolean field `tag.x` of the fact;
- `'yoga' not in household.interests`: all items differ, or the list is empty, because
  durable_rules' `$iall` is false on an empty list.
"""

from __future__ import annotations

from engine.conditions import And, Compare, Condition, Const, Contains, HasTag, OneOf, Or, to_nnf

COUNT_SUFFIX = "__count"
_ALWAYS_PRESENT = "household.size"
_DURABLE_OPS = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "!=": "$neq"}


def compile_condition(condition: Condition) -> dict:
    """Return the durable_rules expression for the `m` pattern of one rule."""
    return _expression(to_nnf(condition))


def _expression(condition: Condition) -> dict:
    match condition:
        case Const(True):
            return {"$ex": {_ALWAYS_PRESENT: 1}}
        case Const(False):
            return {_ALWAYS_PRESENT: -1}
        case Compare(field, "==", value):
            return {field: value}
        case Compare(field, op, value):
            return {_DURABLE_OPS[op]: {field: value}}
        case OneOf(field, values, False):
            return _join("$or", [{field: v} for v in values]) if values else {_ALWAYS_PRESENT: -1}
        case OneOf(field, values, True):
            return _join("$and", [{"$neq": {field: v}} for v in values]) if values else {"$ex": {_ALWAYS_PRESENT: 1}}
        case Contains(field, value, False):
            return {"$iany": {field: {"$i": value}}}
        case Contains(field, value, True):
            return {"$or": [{"$iall": {field: {"$neq": {"$i": value}}}}, {field + COUNT_SUFFIX: 0}]}
        case HasTag(tag, negated):
            return {f"tag.{tag}": not negated}
        case And(parts):
            return _join("$and", [_expression(p) for p in parts])
        case Or(parts):
            return _join("$or", [_expression(p) for p in parts])
    raise TypeError(f"cannot compile {condition!r}")


def _join(operator: str, parts: list[dict]) -> dict:
    return parts[0] if len(parts) == 1 else {operator: parts}


def compile_ruleset(conditions: dict[str, Condition], priorities: dict[str, int]) -> dict[str, dict]:
    """Build the durable_rules definition: rule id → {"all": [{"m": ...}], "pri": ...}.

    durable_rules runs an action first when its `pri` is lower, so the sign is flipped. The
    planner does not depend on that order, but debug logs then list firings by priority.
    """
    definition = {}
    for rule_id, condition in conditions.items():
        definition[rule_id] = {"all": [{"m": compile_condition(condition)}], "pri": -priorities.get(rule_id, 0)}
    return definition


def build_fact(household: dict[str, object], needs: dict[str, int], tags: frozenset[str], known_tags: tuple[str, ...],
               segment: str, cluster: int, confidence: float) -> dict[str, object]:
    """Flatten one household's features into the fact that durable_rules and `evaluate` read."""
    fact: dict[str, object] = {}
    for name, value in household.items():
        key = f"household.{name}"
        fact[key] = value
        if isinstance(value, list):
            fact[key + COUNT_SUFFIX] = len(value)
    for name, value in needs.items():
        fact[f"needs.{name}"] = value
    for tag in known_tags:
        fact[f"tag.{tag}"] = tag in tags
    fact["segment"] = segment
    fact["cluster"] = cluster
    fact["segment_confidence"] = confidence
    return fact
