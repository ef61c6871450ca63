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


def need_match(item: CatalogueItem, needs: dict[str, int]) -> tuple[float, list[tuple[str, int, int]]]:
    """Return the need match of one item and the (dimension, need, coverage) pairs behind it."""
    parts = []
    for dimension in NEED_DIMENSIONS:
        need = max(needs[dimension], 0)
        coverage = item.coverage_of(dimension)
        if need and coverage:
            parts.append((dimension, need, coverage))
    total = sum(n * c for _, n, c in parts) / MAX_NEED_PRODUCT
    parts.sort(key=lambda p: (-p[1] * p[2], NEED_DIMENSIONS.index(p[0])))
    return total, parts


def eligibility_failure(rulebase: RuleBase, item: CatalogueItem, household: Household, fact: dict) -> str | None:
    """Return why the household may not use `item` (Chinese), or None when it may."""
    rule = item.eligibility
    if rule.min_age is not None or rule.max_age is not None:
        low = rule.min_age if rule.min_age is not None else 0
        high = rule.max_age if rule.max_age is not None else 200
        if not any(low <= m.age <= high for m in household.members):
            return f"适用年龄 {low}–{high} 岁，家庭中没有该年龄段的成员"
    condition = rulebase.item_conditions.get(item.id)
    if condition is not None and not evaluate(condition, fact):
        return f"不符合适用条件：{rule.when}" + (f"（{rule.note}）" if rule.note else "")
    return None


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
    ranked: dict[ItemKind, list[tuple[float, int, Recommendation]]] = defaultdict(list)
    for order, item in enumerate(rulebase.items.values()):
        match_value, parts = need_match(item, needs)
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

        terms = [ScoreTerm(source="rule", value=v.weight, rule_id=v.rule.id, rule_file=v.rule.file,
                           rule_line=v.rule.line, reason=f"{v.reason}（规则 {v.rule.id}「{v.rule.rule.name}」）")
                 for v in item_votes]
        if match_value > 0 and config.needs_weight > 0:
            terms.append(ScoreTerm(source="needs", value=round(config.needs_weight * match_value, 4),
                                   reason=_needs_reason(rulebase, parts)))
        rate = (peer_rates or {}).get(item.id)
        if rate and config.peer_weight > 0:
            terms.append(ScoreTerm(source="peer", value=round(config.peer_weight * rate, 4),
                                   reason=f"{peer_label}中 {rate:.0%} 参加了{item.name}"))

        score = round(sum(t.value for t in terms), 4)
        ranked[item.kind].append((score, order, Recommendation(
            item_id=item.id, kind=item.kind, name=item.name, rank=0, score=score,
            rules=[v.rule.id for v in item_votes], reasons=[t.reason for t in terms], terms=terms,
            procedure=item.procedure, contact=item.contact, schedule=item.schedule,
        )))

    result: dict[ItemKind, list[Recommendation]] = {}
    for kind in ItemKind:
        entries = sorted(ranked.get(kind, []), key=lambda e: (-e[0], e[1]))
        limit = config.top_n.get(kind.value, DEFAULT_TOP_N)
        result[kind] = [rec.model_copy(update={"rank": i + 1}) for i, (_, _, rec) in enumerate(entries[:limit])]
    return result, removed
