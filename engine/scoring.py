"""Score and rank catalogue items for one household from fired rules, needs and peers.

score = Σ weights of the fired `recommend` actions
      + needs_weight × need match, where need match = Σ_d need_d × coverage_d / 12
      + peer_weight × share of similar settled households that joined the item.
Each dimension adds at most 1 to the need match (need 4 × coverage 3 = 12). An item no rule
recommends enters only when its need match reaches `min_need_match`. Ineligible items and
items excluded by a rule of at least the priority of every rule recommending them are
removed and listed with the reason.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from engine.conditions import evaluate
from engine.loader import CompiledRule, RuleBase
from models.catalogue import CatalogueItem, ItemKind
from models.household import NEED_DIMENSIONS, Household
from models.plan import Recommendation, Removed, ScoreTerm

MAX_NEED_PRODUCT = 12
DEFAULT_TOP_N = 5


@dataclass(frozen=True)
class _RuleVote:
    rule: CompiledRule
    weight: float
    reason: str


@dataclass(frozen=True)
class _Candidate:
    score: float
    order: int
    item: CatalogueItem
    votes: list[_RuleVote]
    needs_value: float
    needs: dict[str, int]
    peer_rate: float
    peer_value: float


def _recommendation(rulebase: RuleBase, candidate: _Candidate, rank: int, peer_label: str) -> Recommendation:
    item = candidate.item
    terms = [ScoreTerm(source="rule", value=v.weight, rule_id=v.rule.id, rule_file=v.rule.file,
                       rule_line=v.rule.line, reason=f"{v.reason}（规则 {v.rule.id}「{v.rule.rule.name}」）")
             for v in candidate.votes]
    if candidate.needs_value:
        terms.append(ScoreTerm(source="needs", value=candidate.needs_value,
                               reason=_needs_reason(rulebase, need_match(item, candidate.needs)[1])))
    if candidate.peer_value:
        terms.append(ScoreTerm(source="peer", value=candidate.peer_value,
                               reason=f"{peer_label}中 {candidate.peer_rate:.0%} 参加了{item.name}"))
    return Recommendation(
        item_id=item.id, kind=item.kind, name=item.name, rank=rank, score=candidate.score,
        rules=[v.rule.id for v in candidate.votes], reasons=[t.reason for t in terms], terms=terms,
        procedure=item.procedure, contact=item.contact, schedule=item.schedule,
    )


def need_match(item: CatalogueItem, needs: dict[str, int]) -> tuple[float, list[tuple[str, int, int]]]:
    """Return the need match of one item and the (dimension, need, coverage) pairs behind it."""
    parts = []
    for index, dimension in enumerate(NEED_DIMENSIONS):
        coverage = item.coverage.get(dimension)
        need = needs[dimension]
        if coverage and need > 0:
            parts.append((index, dimension, need, coverage))
    total = sum(n * c for _, _, n, c in parts) / MAX_NEED_PRODUCT
    parts.sort(key=lambda p: (-p[2] * p[3], p[0]))
    return total, [(d, n, c) for _, d, n, c in parts]


def _coverage_pairs(rulebase: RuleBase) -> list[tuple[CatalogueItem, tuple[tuple[str, int], ...]]]:
    """List each item with its non-zero (dimension, coverage) pairs, built once per rule base.

    The table is stored on the rule base object because every plan scores every item.
    """
    table = rulebase.__dict__.get("_coverage_pairs")
    if table is None:
        table = [(item, tuple((d, item.coverage[d]) for d in NEED_DIMENSIONS if item.coverage.get(d)))
                 for item in rulebase.items.values()]
        rulebase.__dict__["_coverage_pairs"] = table
    return table


def eligibility_failure(rulebase: RuleBase, item: CatalogueItem, household: Household, fact: dict) -> str | None:
    """Return why the household may not use `item` (Chinese), or None when it may."""
    rule = item.eligibility
    if rule.min_age is not None or rule.max_age is not None:
        low = rule.min_age if rule.min_age is not None else 0
        high = rule.max_age if rule.max_age is not None else 200
        if not any(low <= m.age <= high for m in household.members):
            return f"{_age_range_text(rule.min_age, rule.max_age)}，家庭中没有该年龄段的成员"
    condition = rulebase.item_conditions.get(item.id)
    if condition is not None and not evaluate(condition, fact):
        if rule.note:
            return f"不符合适用条件：{rule.note.rstrip('。')}（条件 {rule.when}）"
        return f"不符合适用条件：{rule.when}"
    return None


def _age_range_text(low: int | None, high: int | None) -> str:
    if high is None:
        return f"适用于 {low} 岁及以上"
    if low is None or low == 0:
        return f"适用于 {high} 岁及以下"
    return f"适用年龄 {low}–{high} 岁"


def _needs_reason(rulebase: RuleBase, parts: list[tuple[str, int, int]]) -> str:
    shown = [f"{rulebase.dimension_names[d]}（{rulebase.level_names.get(n, n)}）" for d, n, _ in parts[:3]]
    return "需求匹配：" + "、".join(shown)


def rank_items(rulebase: RuleBase, household: Household, fact: dict, needs: dict[str, int],
               matched: list[CompiledRule], peer_rates: dict[str, float] | None = None,
               peer_label: str = "相似家庭") -> tuple[dict[ItemKind, list[Recommendation]], list[Removed]]:
    """Rank eligible items per kind; return the top ones and the removed ones with reasons."""
    config = rulebase.scoring
    votes: dict[str, list[_RuleVote]] = defaultdict(list)
    exclusions: dict[str, tuple[CompiledRule, str]] = {}
    for rule in matched:
        for action in rule.rule.then:
            if action.recommend:
                votes[action.recommend.item].append(_RuleVote(rule, action.recommend.weight, action.recommend.reason))
            elif action.exclude and action.exclude.item not in exclusions:
                exclusions[action.exclude.item] = (rule, action.exclude.reason)

    removed: list[Removed] = []
    ranked: dict[ItemKind, list[_Candidate]] = defaultdict(list)
    for order, (item, pairs) in enumerate(_coverage_pairs(rulebase)):
        match_value = sum(needs[d] * c for d, c in pairs if needs[d] > 0) / MAX_NEED_PRODUCT
        item_votes = votes.get(item.id, [])
        if not item_votes and match_value < config.min_need_match:
            continue

        excluded = exclusions.get(item.id)
        top_vote = max((v.rule.rule.priority for v in item_votes), default=None)
        if excluded and (top_vote is None or excluded[0].rule.priority >= top_vote):
            rule, reason = excluded
            removed.append(Removed(item_id=item.id, cause="excluded", rule_id=rule.id,
                                   reason=f"{reason}（规则 {rule.id}「{rule.rule.name}」）"))
            continue
        failure = eligibility_failure(rulebase, item, household, fact)
        if failure:
            removed.append(Removed(item_id=item.id, cause="ineligible", reason=failure))
            continue

        needs_value = round(config.needs_weight * match_value, 4) if match_value > 0 else 0.0
        rate = (peer_rates or {}).get(item.id, 0.0)
        peer_value = round(config.peer_weight * rate, 4) if rate else 0.0
        score = round(sum(v.weight for v in item_votes) + needs_value + peer_value, 4)
        ranked[item.kind].append(_Candidate(score, order, item, item_votes, needs_value, needs, rate, peer_value))

    # Only the top items of each kind become output models; the rest stay plain tuples.
    result: dict[ItemKind, list[Recommendation]] = {}
    for kind in ItemKind:
        entries = sorted(ranked.get(kind, []), key=lambda c: (-c.score, c.order))
        limit = config.top_n.get(kind.value, DEFAULT_TOP_N)
        result[kind] = [_recommendation(rulebase, c, rank, peer_label) for rank, c in enumerate(entries[:limit], 1)]
    return result, removed
