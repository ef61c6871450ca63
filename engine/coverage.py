"""What the rule set leaves uncovered: needs, need levels, segments, and households left with nothing.

- A need dimension is unaddressed when no rule reads it and no item covers it.
- A level L of a dimension d is addressed by a rule when some household with `needs.d == L`
  meets the rule's condition and would not meet it with `needs.d == 0`, other values equal
  (so `needs.d` is what made it fire). It is addressed by an item whose need match from d
  alone reaches `min_need_match` (L × coverage / 12). Level 0, no need, is never listed.
- A segment s has a module when a rule with a `recommend` action requires it. Either the rule
  cannot hold with `segment != s`, or it requires a tag that only rules setting segment s add,
  or its condition implies the condition of a rule that sets segment s.
- Households of the population that get no item of a kind are counted per kind.
"""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel, Field

from engine.conditions import (
    And, Compare, Condition, Const, HasTag, Not, OneOf, Or, Vocabulary, evaluate, fields_read, to_nnf,
)
from engine.loader import CompiledRule, RuleBase
from engine.messages import render
from engine.planner import Planner
from engine.satisfiability import Logic, leaves_of
from models.catalogue import KIND_LABELS_ZH, ItemKind
from models.household import NEED_DIMENSIONS, Household

NEED_LEVELS = (1, 2, 3, 4)
MAX_NEED_PRODUCT = 12
EXAMPLES = 5


class KindGap(BaseModel):
    kind: str
    households: int = Field(description="该类没有任何项目的户数")
    examples: list[str]


class CoverageReport(BaseModel):
    dimensions_unaddressed: list[str] = Field(description="没有规则读取、也没有项目覆盖的需求维度")
    levels_unaddressed: dict[str, list[int]] = Field(description="维度 → 没有规则或项目对应的需求分值")
    segments_without_module: list[str]
    population: int = Field(description="用于统计的家庭户数")
    empty_kinds: list[KindGap]


def coverage_report(planner: Planner, households: list[Household]) -> CoverageReport:
    rulebase = planner.rulebase
    logic = Logic(Vocabulary(segments=tuple(rulebase.segment_names), tags=rulebase.tags))
    return CoverageReport(
        dimensions_unaddressed=unaddressed_dimensions(rulebase),
        levels_unaddressed=unaddressed_levels(rulebase, logic),
        segments_without_module=segments_without_module(rulebase, logic),
        population=len(households),
        empty_kinds=empty_kinds(planner, households),
    )


def unaddressed_dimensions(rulebase: RuleBase) -> list[str]:
    read = {f.removeprefix("needs.") for r in rulebase.rules for f in fields_read(r.condition)}
    covered = {d for item in rulebase.items.values() for d, c in item.coverage.items() if c > 0}
    return [d for d in NEED_DIMENSIONS if d not in read and d not in covered]


def unaddressed_levels(rulebase: RuleBase, logic: Logic) -> dict[str, list[int]]:
    gaps: dict[str, list[int]] = {}
    threshold = rulebase.scoring.min_need_match
    for dimension in NEED_DIMENSIONS:
        field = f"needs.{dimension}"
        readers = [r for r in rulebase.rules if field in fields_read(r.condition)]
        best_coverage = max((item.coverage_of(dimension) for item in rulebase.items.values()), default=0)
        missing = []
        for level in NEED_LEVELS:
            by_item = level * best_coverage / MAX_NEED_PRODUCT >= threshold
            if not by_item and not any(_level_decides(logic, r.condition, field, level) for r in readers):
                missing.append(level)
        if missing:
            gaps[dimension] = missing
    return gaps


def _level_decides(logic: Logic, condition: Condition, field: str, level: int) -> bool:
    """Tell whether some household meets `condition` at `field == level` but not at `field == 0`."""
    at_level = _substitute(to_nnf(condition), field, level)
    at_zero = _substitute(to_nnf(condition), field, 0)
    return logic.conflicts(And((at_level, Not(at_zero)))) is None


def _substitute(condition: Condition, field: str, value: object) -> Condition:
    """Replace every comparison on `field` by its outcome for `value`."""
    match condition:
        case And(parts):
            return And(tuple(_substitute(p, field, value) for p in parts))
        case Or(parts):
            return Or(tuple(_substitute(p, field, value) for p in parts))
        case Compare(name) | OneOf(name) if name == field:
            return Const(evaluate(condition, {field: value}))
    return condition


def segments_without_module(rulebase: RuleBase, logic: Logic) -> list[str]:
    setters: dict[str, list[CompiledRule]] = defaultdict(list)
    for rule in rulebase.rules:
        for action in rule.rule.then:
            if action.set_segment:
                setters[action.set_segment].append(rule)
    tag_segments = _tag_segments(rulebase)
    modules = [r for r in rulebase.rules if any(a.recommend for a in r.rule.then)]

    missing = []
    for segment in rulebase.segment_names:
        if not any(_is_module(logic, r, segment, setters[segment], tag_segments) for r in modules):
            missing.append(segment)
    return missing


def _tag_segments(rulebase: RuleBase) -> dict[str, set[str | None]]:
    """For each tag, the segments set by the rules that add it (None for a rule that sets no segment)."""
    found: dict[str, set[str | None]] = defaultdict(set)
    for rule in rulebase.rules:
        segment = next((a.set_segment for a in rule.rule.then if a.set_segment), None)
        for action in rule.rule.then:
            if action.add_tag:
                found[action.add_tag].add(segment)
    return found


def _is_module(logic: Logic, rule: CompiledRule, segment: str, setters: list[CompiledRule],
               tag_segments: dict[str, set[str | None]]) -> bool:
    condition = rule.condition
    if logic.conflicts(condition) is not None:
        return False
    if "segment" in fields_read(condition) and \
            logic.conflicts(And((condition, Compare("segment", "!=", segment)))) is not None:
        return True
    for leaf in leaves_of(to_nnf(condition)):
        if isinstance(leaf, HasTag) and not leaf.negated and tag_segments.get(leaf.tag) == {segment}:
            if logic.conflicts(And((condition, HasTag(leaf.tag, negated=True)))) is not None:
                return True
    return any(logic.conflicts(And((condition, Not(s.condition)))) is not None for s in setters)


def empty_kinds(planner: Planner, households: list[Household]) -> list[KindGap]:
    """Count households whose plan lists no item of a kind that the plan can list."""
    limits = planner.rulebase.scoring.top_n
    empty: dict[ItemKind, list[str]] = defaultdict(list)
    for household in households:
        plan = planner.plan(household)
        for kind, recommendations in plan.recommendations.items():
            if not recommendations and limits.get(kind.value, 1) > 0:
                empty[kind].append(household.household_id)
    return [KindGap(kind=kind.value, households=len(ids), examples=ids[:EXAMPLES])
            for kind, ids in sorted(empty.items(), key=lambda kv: -len(kv[1]))]


def format_coverage(report: CoverageReport, rulebase: RuleBase, lang: str = "zh") -> list[str]:
    """Lines of the text report, one section per kind of gap."""
    zh = lang == "zh"
    names = rulebase.dimension_names if zh else {d.id: d.name_en for d in rulebase.dimensions.dimensions}
    none = render("coverage_none", lang)
    lines = [render("coverage_dimensions", lang, names=_join([names[d] for d in report.dimensions_unaddressed], lang) or none)]

    lines.append(render("coverage_levels", lang))
    for dimension, levels in report.levels_unaddressed.items():
        levels_text = _join([f"{level}（{rulebase.level_names.get(level, level)}）" if zh else str(level) for level in levels], lang)
        lines.append(f"  {names[dimension]}（{dimension}）：{levels_text}" if zh else f"  {names[dimension]} ({dimension}): {levels_text}")
    if not report.levels_unaddressed:
        lines.append(f"  {none}")

    segments = [f"{rulebase.segment_names[s]}（{s}）" if zh else s for s in report.segments_without_module]
    lines.append(render("coverage_segments", lang, names=_join(segments, lang) or none))

    lines.append(render("coverage_kinds", lang, population=report.population))
    for gap in report.empty_kinds:
        kind = KIND_LABELS_ZH.get(gap.kind, gap.kind) if zh else gap.kind
        lines.append(render("coverage_kind_gap", lang, kind=kind, count=gap.households, examples=_join(gap.examples, lang)))
    if not report.empty_kinds:
        lines.append(f"  {none}")
    return lines


def _join(values: list[str], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(values)
