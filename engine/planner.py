"""The one path from a household to its plan, used by the CLI, the HTTP service and batch matching.

household → derived features → segment (rules first, clustering model as fallback)
→ durable_rules firing until tags and segment settle → scoring and ranking → plan.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from engine.compiler import build_fact, compile_ruleset
from engine.errors import Problem, RuleSetError
from engine.features import derive_features, derive_needs
from engine.loader import CompiledRule, RuleBase, load_rulebase
from engine.runtime import RuleMachine
from engine.schedule import build_schedule
from engine.scoring import rank_items
from models.household import Household
from models.plan import FiredRule, Plan, SegmentResult

logger = logging.getLogger(__name__)

MAX_ROUNDS = 16


@dataclass(frozen=True)
class SegmentGuess:
    """A clustering model's guess for a household that no segment rule classified."""

    segment: str
    cluster: int
    confidence: float
    peer_rates: dict[str, float] = field(default_factory=dict)


class Segmenter(Protocol):
    """A model that guesses a segment from derived features and needs (the fallback)."""

    version: str

    def guess(self, features: dict[str, object], needs: dict[str, int]) -> SegmentGuess: ...


@dataclass(frozen=True)
class Inference:
    """Result of the firing loop: rules that hold in the final state, and that state."""

    matched: list[CompiledRule]
    tags: frozenset[str]
    segment: SegmentResult
    fact: dict[str, object]
    needs: dict[str, int]
    guess: SegmentGuess | None
    rounds: int


class Planner:
    """Plans households against one rule base. Thread-safe; call `close` when replaced."""

    def __init__(self, rulebase: RuleBase, segmenter: Segmenter | None = None):
        self.rulebase = rulebase
        self.segmenter = segmenter
        conditions = {r.id: r.condition for r in rulebase.rules}
        priorities = {r.id: r.rule.priority for r in rulebase.rules}
        self.machine = RuleMachine(compile_ruleset(conditions, priorities), rulebase.version)

    def close(self) -> None:
        self.machine.close()

    @property
    def version(self) -> str:
        return self.rulebase.version

    def infer(self, household: Household) -> Inference:
        """Fire the rules until the set of holding rules, its tags and the segment stop changing."""
        features = derive_features(household)
        needs = derive_needs(household)
        guess = self.segmenter.guess(features, needs) if self.segmenter else None
        fallback = guess.segment if guess else self.rulebase.segments.default
        cluster = guess.cluster if guess else -1
        confidence = guess.confidence if guess else 0.0

        tags: frozenset[str] = frozenset()
        segment = fallback
        seen_states: list[tuple[frozenset[str], str]] = []
        for round_number in range(1, MAX_ROUNDS + 1):
            fact = build_fact(features, needs, tags, self.rulebase.tags, segment, cluster, confidence)
            fired_ids = set(self.machine.match(fact))
            matched = _by_priority([r for r in self.rulebase.rules if r.id in fired_ids])
            new_tags = frozenset(a.add_tag for r in matched for a in r.rule.then if a.add_tag)
            segment_rule = _segment_rule(matched)
            new_segment = _first_segment(segment_rule) if segment_rule else fallback
            if (new_tags, new_segment) == (tags, segment):
                result = self._segment_result(segment, segment_rule, guess)
                return Inference(matched, tags, result, fact, needs, guess, round_number)
            if (new_tags, new_segment) in seen_states:
                break
            seen_states.append((tags, segment))
            tags, segment = new_tags, new_segment

        involved = sorted({r.id for r in matched if any(a.add_tag or a.set_segment for a in r.rule.then)})
        raise RuleSetError([Problem("rule_cycle", {"rounds": MAX_ROUNDS, "rules": "、".join(involved)})])

    def _segment_result(self, segment: str, rule: CompiledRule | None, guess: SegmentGuess | None) -> SegmentResult:
        name = self.rulebase.segment_names[segment]
        if rule is not None:
            return SegmentResult(id=segment, name=name, source="rule", rule_id=rule.id, confidence=1.0)
        if guess is not None:
            return SegmentResult(id=segment, name=name, source="model", confidence=round(guess.confidence, 4))
        return SegmentResult(id=segment, name=name, source="default")

    def plan(self, household: Household) -> Plan:
        inference = self.infer(household)
        peer_rates = inference.guess.peer_rates if inference.guess else None
        recommendations, removed = rank_items(self.rulebase, household, inference.fact, inference.needs,
                                              inference.matched, peer_rates)
        dropped = {r.item_id for r in removed}
        follow_up = build_schedule(inference.matched, household.move_in_date,
                                   self.rulebase.scoring.schedule_horizon_months, dropped)
        fired = [FiredRule(id=r.id, name=r.rule.name, file=r.file, line=r.line, priority=r.rule.priority)
                 for r in inference.matched]
        logger.debug("planned household %s: segment %s, %d rules fired in %d rounds",
                     household.household_id, inference.segment.id, len(fired), inference.rounds)

        return Plan(
            household_id=household.household_id,
            community_id=household.community_id,
            segment=inference.segment,
            tags=sorted(inference.tags),
            recommendations=recommendations,
            follow_up=follow_up,
            fired_rules=fired,
            removed=removed,
            unknown_needs=household.needs.unknown_dimensions(),
            ruleset_version=self.rulebase.version,
            model_version=self.segmenter.version if self.segmenter else None,
        )


def build_planner(rules_dir: str | None = None, segmenter: Segmenter | None = None,
                  model_path: Path | str | None = None, use_model: bool = True) -> Planner:
    """Load and check the rules directory (see `loader.rules_directory`) and build a planner.

    Without `segmenter`, the planner uses the model file `model_path`, by default
    `model/segmenter.json` in the rules directory when that file exists. `use_model=False`
    plans without a model, as `Planner(rulebase)` does.

    Raises:
        RuleSetError: the rules are invalid, or the model file is (`segment_model.ModelError`).
    """
    rulebase = load_rulebase(rules_dir)
    if segmenter is None and use_model:
        # Imported here because engine.segment_model imports SegmentGuess from this module.
        from engine.segment_model import load_segmenter

        segmenter = load_segmenter(rulebase, Path(model_path) if model_path else None)
    return Planner(rulebase, segmenter)


def _by_priority(rules: list[CompiledRule]) -> list[CompiledRule]:
    return sorted(rules, key=lambda r: (-r.rule.priority, r.order))


def _segment_rule(matched: list[CompiledRule]) -> CompiledRule | None:
    """Return the highest-priority matched rule that sets a segment. A tie goes to the rule written first."""
    for rule in _by_priority(matched):
        if any(a.set_segment for a in rule.rule.then):
            return rule
    return None


def _first_segment(rule: CompiledRule) -> str:
    return next(a.set_segment for a in rule.rule.then if a.set_segment)
