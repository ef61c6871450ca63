"""Why an item is, or is not, in a household's plan.

The explanation follows the planner's own steps for one item. It lists the rules that could
recommend it (fired or not, with the household values each condition read) and the rules that
could exclude it. Then come the need match and peer terms of its score, its eligibility, and its
rank against the limit of its kind. Nothing is decided here: the verdict comes from
`Planner.plan`, the matched rules and the fact from `Planner.infer`, and the scores from
`engine.scoring`.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Literal

from pydantic import BaseModel, Field

from engine.conditions import And, Condition, Or, describe, evaluate, leaf_results, to_nnf
from engine.loader import RuleBase
from engine.messages import render
from engine.planner import Inference, Planner
from engine.scoring import DEFAULT_TOP_N, eligibility_failure, need_match, rank_items
from models.catalogue import KIND_LABELS_ZH, CatalogueItem
from models.household import Household
from models.plan import Plan, Recommendation, ScoreTerm, SegmentResult

Status = Literal["recommended", "excluded", "ineligible", "rank_cutoff", "below_need_threshold"]


class UnknownItemError(LookupError):
    """The item id is not in the catalogue of the loaded rule base."""

    def __init__(self, item_id: str, close: list[str]):
        self.item_id = item_id
        self.close = close
        super().__init__(item_id)


class ConditionCheck(BaseModel):
    """One comparison of a condition, the household value it read, and whether it held."""

    text: str = Field(description="比较式，取反已写明，如 household.size >= 2")
    field: str
    actual: object = Field(description="家庭的实际取值")
    held: bool


class RuleFinding(BaseModel):
    """A rule that recommends or excludes the item, whether it fired, and why."""

    rule_id: str
    name: str
    file: str
    line: int
    priority: int
    action: Literal["recommend", "exclude"]
    fired: bool
    weight: float | None = None
    reason: str
    checks: list[ConditionCheck] = Field(description="触发时：条件读取的取值；未触发时：不成立的部分")


class NeedPart(BaseModel):
    dimension: str
    name: str
    need: int
    coverage: int


class Explanation(BaseModel):
    """Account of why one item is or is not in one household's plan."""

    household_id: str
    item_id: str
    item_name: str
    kind: str
    status: Status
    in_plan: bool
    rank: int | None = Field(default=None, description="在同类项目中的名次（含未列入的）")
    score: float | None = None
    top_n: int = Field(description="该类项目最多列出的数量")
    cutoff_score: float | None = Field(default=None, description="该类最后一个列入项目的得分")
    segment: SegmentResult
    recommending_rules: list[RuleFinding]
    excluding_rules: list[RuleFinding]
    terms: list[ScoreTerm]
    need_match: float
    min_need_match: float
    needs: list[NeedPart]
    eligibility_failure: str | None = None
    excluded_by: str | None = Field(default=None, description="排除该项目的规则 id（与计划的 removed 相同）")
    member_ages: list[int]
    eligibility_checks: list[ConditionCheck]
    ruleset_version: str
    summary: str = Field(description="一句话结论")
    text: list[str] = Field(description="完整说明，逐行")


def explain_item(planner: Planner, household: Household, item_id: str, lang: str = "zh") -> Explanation:
    """Explain why `item_id` is or is not in the plan `planner` makes for `household`.

    Raises:
        UnknownItemError: the item is not in the catalogue.
    """
    rulebase = planner.rulebase
    item = rulebase.items.get(item_id)
    if item is None:
        raise UnknownItemError(item_id, difflib.get_close_matches(item_id, list(rulebase.items), n=3))

    plan = planner.plan(household)
    inference = planner.infer(household)
    ranked = _full_ranking(rulebase, household, inference)
    explanation = _build(rulebase, household, item, plan, inference, ranked, lang)
    lines = render_explanation(explanation, rulebase, lang)
    return explanation.model_copy(update={"summary": lines[1], "text": lines})


def _full_ranking(rulebase: RuleBase, household: Household, inference: Inference) -> list[Recommendation]:
    """Rank every item of the item's kind with no limit, so a rank beyond the cut-off is known."""
    unlimited = {kind: len(rulebase.items) for kind in rulebase.scoring.top_n} | {
        kind.value: len(rulebase.items) for kind in {i.kind for i in rulebase.items.values()}}
    scoring = rulebase.scoring.model_copy(update={"top_n": unlimited})
    peer_rates = inference.guess.peer_rates if inference.guess else None
    ranked, _ = rank_items(dataclasses.replace(rulebase, scoring=scoring), household, inference.fact,
                           inference.needs, inference.matched, peer_rates)
    return [rec for recommendations in ranked.values() for rec in recommendations]


def _build(rulebase: RuleBase, household: Household, item: CatalogueItem, plan: Plan, inference: Inference,
           ranked: list[Recommendation], lang: str) -> Explanation:
    in_plan = next((r for rs in plan.recommendations.values() for r in rs if r.item_id == item.id), None)
    removed = next((r for r in plan.removed if r.item_id == item.id), None)
    scored = next((r for r in ranked if r.item_id == item.id), None)
    limit = rulebase.scoring.top_n.get(item.kind.value, DEFAULT_TOP_N)
    same_kind = [r for r in ranked if r.kind == item.kind]
    cutoff = same_kind[limit - 1].score if 0 < limit <= len(same_kind) else None

    if in_plan is not None:
        status: Status = "recommended"
    elif removed is not None:
        status = "excluded" if removed.cause == "excluded" else "ineligible"
    elif scored is not None:
        status = "rank_cutoff"
    else:
        status = "below_need_threshold"

    match_value, parts = need_match(item, inference.needs)
    matched_ids = {r.id for r in inference.matched}
    return Explanation(
        household_id=household.household_id,
        item_id=item.id,
        item_name=item.name,
        kind=item.kind.value,
        status=status,
        in_plan=in_plan is not None,
        rank=scored.rank if scored else None,
        score=scored.score if scored else None,
        top_n=limit,
        cutoff_score=cutoff,
        segment=inference.segment,
        recommending_rules=_findings(rulebase, item.id, "recommend", matched_ids, inference.fact),
        excluding_rules=_findings(rulebase, item.id, "exclude", matched_ids, inference.fact),
        terms=scored.terms if scored else [],
        need_match=round(match_value, 4),
        min_need_match=rulebase.scoring.min_need_match,
        needs=[NeedPart(dimension=d, name=_dimension_name(rulebase, d, lang), need=n, coverage=c) for d, n, c in parts],
        eligibility_failure=_eligibility_text(rulebase, item, household, inference.fact, lang),
        excluded_by=removed.rule_id if removed and removed.cause == "excluded" else None,
        member_ages=sorted((m.age for m in household.members), reverse=True),
        eligibility_checks=condition_checks(rulebase.item_conditions.get(item.id), inference.fact),
        ruleset_version=plan.ruleset_version,
        summary="",
        text=[],
    )


def _dimension_name(rulebase: RuleBase, dimension: str, lang: str) -> str:
    if lang == "zh":
        return rulebase.dimension_names[dimension]
    return next(d.name_en for d in rulebase.dimensions.dimensions if d.id == dimension)


def _eligibility_text(rulebase: RuleBase, item: CatalogueItem, household: Household, fact: dict,
                      lang: str) -> str | None:
    """Say why the household is not eligible; the verdict is `scoring.eligibility_failure`'s."""
    failure = eligibility_failure(rulebase, item, household, fact)
    if failure is None or lang == "zh":
        return failure
    rule = item.eligibility
    low = rule.min_age if rule.min_age is not None else 0
    high = rule.max_age if rule.max_age is not None else 200
    if (rule.min_age is not None or rule.max_age is not None) and not any(low <= m.age <= high for m in household.members):
        return render("explain_age_range", lang, low=low, high=high)
    return render("explain_condition_failed", lang, when=rule.when or "", note=rule.note or "")


def _findings(rulebase: RuleBase, item_id: str, action: str, matched_ids: set[str], fact: dict) -> list[RuleFinding]:
    findings = []
    for rule in sorted(rulebase.rules, key=lambda r: (-r.rule.priority, r.order)):
        for step in rule.rule.then:
            target = getattr(step, action)
            if target is None or target.item != item_id:
                continue
            fired = rule.id in matched_ids
            findings.append(RuleFinding(
                rule_id=rule.id, name=rule.rule.name, file=rule.file, line=rule.line, priority=rule.rule.priority,
                action=action, fired=fired, weight=getattr(target, "weight", None), reason=target.reason,
                checks=condition_checks(rule.condition, fact, only_failing=not fired)))
    return findings


def condition_checks(condition: Condition | None, fact: dict, only_failing: bool = False) -> list[ConditionCheck]:
    """List the comparisons that decided a condition: those that held, or when it failed, those that failed."""
    if condition is None:
        return []
    normal = to_nnf(condition)
    outcome = evaluate(normal, fact) and not only_failing
    leaves = _deciding_leaves(normal, fact, outcome)
    checks = []
    for leaf in leaves:
        results = leaf_results(leaf, fact)
        if not results:
            continue  # `true` or `false` reads no household value
        result = results[0]
        checks.append(ConditionCheck(text=describe(leaf), field=result.field, actual=result.actual, held=result.held))
    return checks


def _deciding_leaves(condition: Condition, fact: dict, outcome: bool) -> list[Condition]:
    """Return the leaves that make `condition` come out as `outcome`.

    For `and` these are the failing parts when it fails, for `or` the first holding part when it
    holds, and every part otherwise.
    """
    match condition:
        case And(parts) | Or(parts):
            is_and = isinstance(condition, And)
            if outcome and not is_and:
                first = next((p for p in parts if evaluate(p, fact)), parts[0])
                return _deciding_leaves(first, fact, True)
            if not outcome and is_and:
                failing = [p for p in parts if not evaluate(p, fact)] or list(parts)
                return [leaf for p in failing for leaf in _deciding_leaves(p, fact, False)]
            return [leaf for p in parts for leaf in _deciding_leaves(p, fact, outcome)]
    return [condition]


# Text


def render_explanation(explanation: Explanation, rulebase: RuleBase, lang: str = "zh") -> list[str]:
    """Write the explanation as lines of text: a title, the verdict, then the evidence."""
    e = explanation
    kind = KIND_LABELS_ZH.get(e.kind, e.kind) if lang == "zh" else e.kind.replace("_", " ")
    lines = [render("explain_title", lang, household=e.household_id, item=e.item_id, name=e.item_name),
             _verdict(e, kind, lang)]
    lines.append(render("explain_segment", lang, name=e.segment.name, id=e.segment.id,
                        how=_segment_source(e.segment, lang)))

    lines.append(render("explain_rules_recommend", lang) if e.recommending_rules
                 else render("explain_no_rule_recommends", lang))
    for finding in e.recommending_rules:
        lines += _finding_lines(finding, lang)
    if e.excluding_rules:
        lines.append(render("explain_rules_exclude", lang))
        for finding in e.excluding_rules:
            lines += _finding_lines(finding, lang)

    lines += _score_lines(e, lang)
    lines += _eligibility_lines(e, lang)
    return lines


def _verdict(e: Explanation, kind: str, lang: str) -> str:
    match e.status:
        case "recommended":
            return render("explain_in_plan", lang, kind=kind, rank=e.rank, limit=e.top_n, score=_num(e.score))
        case "excluded":
            winner = next((f for f in e.excluding_rules if f.rule_id == e.excluded_by), None)
            return render("explain_excluded", lang, rule=winner.rule_id if winner else "?",
                          name=winner.name if winner else "", priority=winner.priority if winner else "",
                          reason=winner.reason if winner else "")
        case "ineligible":
            return render("explain_ineligible", lang, reason=e.eligibility_failure or "")
        case "rank_cutoff":
            return render("explain_rank_cutoff", lang, kind=kind, rank=e.rank, limit=e.top_n, score=_num(e.score),
                          cutoff=_num(e.cutoff_score))
    fired = sum(1 for f in e.recommending_rules if f.fired)
    return render("explain_below_threshold", lang, rules=len(e.recommending_rules), fired=fired,
                  match=_num(e.need_match), threshold=_num(e.min_need_match))


def _segment_source(segment: SegmentResult, lang: str) -> str:
    if segment.source == "rule":
        return render("explain_segment_rule", lang, rule=segment.rule_id)
    if segment.source == "model":
        return render("explain_segment_model", lang, confidence=f"{(segment.confidence or 0):.0%}")
    return render("explain_segment_default", lang)


def _finding_lines(finding: RuleFinding, lang: str) -> list[str]:
    code = "explain_rule_fired" if finding.fired else "explain_rule_not_fired"
    weight = _num(finding.weight) if finding.weight is not None else "-"
    if finding.fired and finding.action == "exclude":
        code = "explain_exclude_fired"
    lines = [render(code, lang, rule=finding.rule_id, name=finding.name, file=finding.file, line=finding.line,
                    priority=finding.priority, weight=weight, reason=finding.reason)]
    for check in finding.checks:
        lines.append(_check_line(check, lang))
    return lines


def _check_line(check: ConditionCheck, lang: str) -> str:
    mark = "✓" if check.held else "✗"
    return render("explain_check", lang, mark=mark, text=check.text, field=check.field,
                  actual=format_value(check.actual, lang))


def _score_lines(e: Explanation, lang: str) -> list[str]:
    lines = []
    if e.terms:
        terms_text = " + ".join(f"{_term_label(t, lang)} {_num(t.value)}" for t in e.terms)
        lines.append(render("explain_score", lang, terms=terms_text, score=_num(e.score)))
        for term in e.terms:
            lines.append(f"    - {term.reason}")
    if e.needs:
        parts = ("、" if lang == "zh" else ", ").join(render("explain_need_part", lang, name=p.name, need=p.need, coverage=p.coverage)
                         for p in e.needs)
        lines.append(render("explain_need_match", lang, match=_num(e.need_match), parts=parts,
                            threshold=_num(e.min_need_match)))
    else:
        lines.append(render("explain_no_need_match", lang, threshold=_num(e.min_need_match)))
    return lines


def _eligibility_lines(e: Explanation, lang: str) -> list[str]:
    if e.status == "below_need_threshold" or (e.eligibility_failure is None and not e.eligibility_checks):
        return []
    if e.eligibility_failure is None:
        lines = [render("explain_eligible", lang)]
    else:
        ages = "、".join(str(a) for a in e.member_ages)
        lines = [render("explain_not_eligible", lang, reason=e.eligibility_failure, ages=ages)]
    lines += [_check_line(c, lang) for c in e.eligibility_checks]
    return lines


def _term_label(term: ScoreTerm, lang: str) -> str:
    if term.source == "rule":
        return render("explain_term_rule", lang, rule=term.rule_id)
    return render(f"explain_term_{term.source}", lang)


def format_value(value: object, lang: str) -> str:
    """Show a household value to a reader: 是/否, a list joined, （无） for a missing value."""
    if isinstance(value, bool) and lang == "zh":
        return "是" if value else "否"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ("、" if lang == "zh" else ", ").join(map(str, value)) or ("（空）" if lang == "zh" else "(empty)")
    if value is None:
        return "（无）" if lang == "zh" else "(none)"
    return str(value)


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}".rstrip("0").rstrip(".")

