"""Decide whether a condition can hold for some household, and explain why not when it cannot.

Each field gets a domain: an interval with open or closed ends for numbers (integers
tightened to whole bounds), a finite set of values for booleans, enumerated text and tags,
and required or forbidden members for lists. Leaves of the condition narrow the domains;
`or` branches are searched depth-first, leaves first, so a contradiction prunes early.
The search is sound: `Logic.conflicts` returns conflicts only when no household can meet
the condition within the value ranges below.
NOTE: it is not complete across fields, because it does not know how derived features relate
(`household.lives_alone and household.size >= 2` is accepted although no household meets it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from engine.conditions import (
    And, Compare, Condition, Const, Contains, HasTag, OneOf, Or, Vocabulary, describe, field_spec, to_nnf,
)
from engine.features import HOUSEHOLD_FEATURES
from models.household import NEED_DIMENSIONS, Household, Member

SEARCH_BUDGET = 20_000


def _max_of(model, name: str, attribute: str) -> int:
    """Read a bound (`le`, `max_length`) from a pydantic field, so the ranges follow the input models."""
    return next(getattr(m, attribute) for m in model.model_fields[name].metadata if hasattr(m, attribute))


MAX_MEMBERS = _max_of(Household, "members", "max_length")
MAX_AGE = _max_of(Member, "age", "le")
_AGE_FEATURES = ("oldest_age", "youngest_age", "head_age")


def _field_ranges() -> dict[str, tuple[float, float]]:
    """Value range of every numeric field a condition can read."""
    ranges: dict[str, tuple[float, float]] = {}
    for name, spec in HOUSEHOLD_FEATURES.items():
        if spec.type == "int":
            ranges[f"household.{name}"] = (0, MAX_MEMBERS)
    for name in _AGE_FEATURES:
        ranges[f"household.{name}"] = (0, MAX_AGE)
    ranges["household.size"] = (1, MAX_MEMBERS)
    ranges["household.days_since_move_in"] = (0, math.inf)
    ranges["household.unknown_needs"] = (0, len(NEED_DIMENSIONS))
    for dimension in NEED_DIMENSIONS:
        ranges[f"needs.{dimension}"] = (-1, 4)
    ranges["cluster"] = (-1, math.inf)
    ranges["segment_confidence"] = (0, 1)
    return ranges


FIELD_RANGES = _field_ranges()


@dataclass(frozen=True)
class Domain:
    """The values one scalar field can still take."""

    integer: bool = False
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    values: frozenset | None = None
    excluded: frozenset = frozenset()

    def restrict(self, op: str, value: object) -> Domain:
        match op:
            case "==":
                kept = frozenset([value]) if self.values is None else self.values & {value}
                return replace(self, values=kept)
            case "!=":
                return replace(self, excluded=self.excluded | {value})
            case "<" if value < self.high or (value == self.high and not self.high_open):
                return replace(self, high=value, high_open=True)
            case "<=" if value < self.high:
                return replace(self, high=value, high_open=False)
            case ">" if value > self.low or (value == self.low and not self.low_open):
                return replace(self, low=value, low_open=True)
            case ">=" if value > self.low:
                return replace(self, low=value, low_open=False)
        return self

    def one_of(self, values: tuple, negated: bool) -> Domain:
        if negated:
            return replace(self, excluded=self.excluded | set(values))
        kept = frozenset(values) if self.values is None else self.values & set(values)
        return replace(self, values=kept)

    def possible(self, value: object) -> bool:
        if value in self.excluded:
            return False
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return True
        if self.integer and value != int(value):
            return False
        above = value > self.low or (value == self.low and not self.low_open)
        below = value < self.high or (value == self.high and not self.high_open)
        return above and below

    def is_empty(self) -> bool:
        if self.values is not None:
            return not any(self.possible(v) for v in self.values)
        low, high = self.low, self.high
        if self.integer:
            low = _whole_above(low, self.low_open)
            high = _whole_below(high, self.high_open)
            if low > high:
                return True
            if high - low < len(self.excluded):
                return all(v in self.excluded for v in range(int(low), int(high) + 1))
            return False
        if low > high or (low == high and (self.low_open or self.high_open)):
            return True
        return low == high and low in self.excluded

    def describe_range(self) -> str:
        return f"{_number(self.low)}–{_number(self.high)}"


@dataclass(frozen=True)
class ListDomain:
    """Required and forbidden members of a list field."""

    contains: frozenset = frozenset()
    lacks: frozenset = frozenset()

    def restrict(self, value: str, negated: bool) -> ListDomain:
        if negated:
            return replace(self, lacks=self.lacks | {value})
        return replace(self, contains=self.contains | {value})

    def is_empty(self) -> bool:
        return bool(self.contains & self.lacks)


def _whole_above(value: float, open_: bool) -> float:
    if not math.isfinite(value):
        return value
    whole = math.floor(value) + 1 if open_ and value == math.floor(value) else math.ceil(value)
    return whole


def _whole_below(value: float, open_: bool) -> float:
    if not math.isfinite(value):
        return value
    return math.ceil(value) - 1 if open_ and value == math.ceil(value) else math.floor(value)


def _number(value: float) -> str:
    if value == math.inf:
        return "∞"
    if value == -math.inf:
        return "-∞"
    return str(int(value)) if value == int(value) else str(value)


@dataclass(frozen=True)
class Conflict:
    """Leaves that cannot hold together; one leaf alone is outside its field's range or is `false`."""

    leaves: tuple[Condition, ...]
    field: str | None = None
    range_text: str | None = None


class _Undecided(Exception):
    """The search ran out of budget; the condition is treated as able to hold."""


class Logic:
    """Satisfiability of conditions over one rule set's vocabulary (segments and tags)."""

    def __init__(self, vocabulary: Vocabulary, budget: int = SEARCH_BUDGET):
        self.vocabulary = vocabulary
        self.budget = budget

    def conflicts(self, condition: Condition, impossible_tags: frozenset[str] = frozenset()) -> list[Conflict] | None:
        """Return why `condition` can never hold, or None when it can (or the search gave up).

        `impossible_tags` are tags no rule can set: `'x' in tags` is false for them.
        """
        search = _Search(self, impossible_tags)
        try:
            if search.run((to_nnf(condition),), {}):
                return None
        except _Undecided:
            return None
        return search.found or [Conflict((Const(False),))]

    def initial(self, field: str) -> Domain | ListDomain:
        if field.startswith("tag."):
            return Domain(values=frozenset([True, False]))
        spec = field_spec(field, self.vocabulary)
        if spec is None:
            return Domain()
        if spec.type == "list":
            return ListDomain()
        if spec.type == "bool":
            return Domain(values=frozenset([True, False]))
        if spec.type == "str":
            return Domain(values=frozenset(spec.values) if spec.values else None)
        low, high = FIELD_RANGES.get(field, (-math.inf, math.inf))
        return Domain(integer=spec.type == "int", low=low, high=high)


def narrow(domain: Domain | ListDomain, leaf: Condition) -> Domain | ListDomain:
    """Apply one leaf to the domain of the field it reads."""
    match leaf:
        case Compare(_, op, value):
            return domain.restrict(op, value)
        case OneOf(_, values, negated):
            return domain.one_of(values, negated)
        case Contains(_, value, negated):
            return domain.restrict(value, negated)
        case HasTag(_, negated):
            return domain.restrict("==", not negated)
    raise TypeError(f"not a leaf: {leaf!r}")


def field_of(leaf: Condition) -> str:
    if isinstance(leaf, HasTag):
        return f"tag.{leaf.tag}"
    return leaf.field


class _Search:
    def __init__(self, logic: Logic, impossible_tags: frozenset[str]):
        self.logic = logic
        self.impossible_tags = impossible_tags
        self.steps = 0
        self.found: list[Conflict] = []

    def run(self, goals: tuple[Condition, ...], store: dict[str, tuple]) -> bool:
        """Depth-first search: flatten `and`, apply leaves, then branch on the first `or`."""
        self.steps += 1
        if self.steps > self.logic.budget:
            raise _Undecided
        for index, goal in enumerate(goals):
            if isinstance(goal, And):
                return self.run(goals[:index] + goal.parts + goals[index + 1:], store)
        for index, goal in enumerate(goals):
            if not isinstance(goal, Or):
                store = self.apply(goal, store)
                if store is None:
                    return False
                return self.run(goals[:index] + goals[index + 1:], store)
        if not goals:
            return True
        first, rest = goals[0], goals[1:]
        return any(self.run((part,) + rest, store) for part in first.parts)

    def apply(self, leaf: Condition, store: dict[str, tuple]) -> dict[str, tuple] | None:
        if isinstance(leaf, Const):
            if leaf.value:
                return store
            self.record(Conflict((leaf,)))
            return None
        if isinstance(leaf, HasTag) and not leaf.negated and leaf.tag in self.impossible_tags:
            self.record(Conflict((leaf,), f"tag.{leaf.tag}"))
            return None

        name = field_of(leaf)
        domain, leaves = store.get(name, (self.logic.initial(name), ()))
        narrowed = narrow(domain, leaf)
        if narrowed.is_empty():
            self.record(self.explain(name, leaves, leaf))
            return None
        return {**store, name: (narrowed, leaves + (leaf,))}

    def explain(self, name: str, earlier: tuple[Condition, ...], leaf: Condition) -> Conflict:
        """Find the fewest leaves that empty the domain: the leaf alone, one earlier leaf with it, or all."""
        initial = self.logic.initial(name)
        if narrow(initial, leaf).is_empty():
            range_text = initial.describe_range() if isinstance(initial, Domain) and initial.values is None else None
            return Conflict((leaf,), name, range_text)
        for other in earlier:
            if narrow(narrow(initial, other), leaf).is_empty():
                return Conflict((other, leaf), name)
        return Conflict(earlier + (leaf,), name)

    def record(self, conflict: Conflict) -> None:
        if conflict not in self.found:
            self.found.append(conflict)


def leaves_of(condition: Condition) -> list[Condition]:
    """List every leaf of a condition in negation normal form, left to right."""
    match condition:
        case And(parts) | Or(parts):
            return [leaf for p in parts for leaf in leaves_of(p)]
    return [condition]


def conflict_text(conflicts: list[Conflict], limit: int = 3) -> tuple[str, str]:
    """Describe up to `limit` conflicts, in Chinese and in English."""
    chinese, english = [], []
    for conflict in conflicts[:limit]:
        quoted = [describe(leaf) for leaf in conflict.leaves]
        if len(quoted) == 1 and quoted[0] == "false":
            chinese.append("条件写成了 false")
            english.append("the condition is false")
        elif len(quoted) == 1 and conflict.range_text:
            chinese.append(f"“{quoted[0]}”超出“{conflict.field}”的取值范围 {conflict.range_text}")
            english.append(f"'{quoted[0]}' is outside the range {conflict.range_text} of '{conflict.field}'")
        elif len(quoted) == 1:
            chinese.append(f"“{quoted[0]}”永远不成立")
            english.append(f"'{quoted[0]}' never holds")
        else:
            chinese.append("与".join(f"“{q}”" for q in quoted) + "不能同时成立")
            english.append(" and ".join(f"'{q}'" for q in quoted) + " cannot hold together")
    more = len(conflicts) - limit
    if more > 0:
        chinese.append(f"另有 {more} 处")
        english.append(f"{more} more")
    return "；".join(chinese), "; ".join(english)
