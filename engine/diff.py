"""Impact of a rule change: plan a population with the old and the new rules, and compare.

A household is affected when its segment or what decided it (a rule, the model, the
default), its listed items, the rank of an item it keeps, or its follow-up schedule differ
between the two plans. The report counts households per
segment move and per gained or lost item, with example household ids, and lists every
affected household.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from pydantic import BaseModel, Field

from engine.inputs import parse_households
from engine.loader import DEFAULT_RULES_DIR, display_name
from engine.messages import render
from engine.planner import Planner, Segmenter, build_planner
from models.household import Household
from models.plan import Plan

DEFAULT_POPULATION = DEFAULT_RULES_DIR.parent / "fixtures" / "month" / "arrivals.json"
EXAMPLES = 3


class HouseholdChange(BaseModel):
    """Differences in one household's plan between the old and the new rules."""

    household_id: str
    old_segment: str
    new_segment: str
    old_segment_by: str = Field(description="旧分类的依据：规则 id、model 或 default")
    new_segment_by: str
    gained: list[str] = Field(default_factory=list, description="新规则下新列入的项目")
    lost: list[str] = Field(default_factory=list, description="新规则下不再列入的项目")
    reranked: list[str] = Field(default_factory=list, description="两边都列入但名次变化的项目")
    follow_up_added: list[str] = Field(default_factory=list)
    follow_up_removed: list[str] = Field(default_factory=list)


class CountWithExamples(BaseModel):
    count: int
    examples: list[str] = Field(description="示例户编号")


class ImpactReport(BaseModel):
    """Households whose plans change when the rules change, grouped by what changed."""

    old_dir: str
    new_dir: str
    old_version: str
    new_version: str
    population: str
    households: int
    affected: int
    segment_moves: dict[str, CountWithExamples] = Field(description="“旧分类 -> 新分类” → 户数")
    segment_basis: dict[str, CountWithExamples] = Field(description="分类不变、依据改变：“分类: 旧依据 -> 新依据” → 户数")
    gained: dict[str, CountWithExamples] = Field(description="项目 id → 新列入的户数")
    lost: dict[str, CountWithExamples] = Field(description="项目 id → 不再列入的户数")
    reranked: dict[str, CountWithExamples]
    follow_up_changed: CountWithExamples
    item_names: dict[str, str] = Field(description="报告中出现的项目 id → 名称")
    changes: list[HouseholdChange] = Field(description="每一户受影响的家庭")


def load_population(path: Path) -> list[Household]:
    """Read a JSON list of households (or one household).

    Raises:
        OSError: the file cannot be read.
        InputError: the JSON is invalid or a household is invalid (each fault with its path).
    """
    text = path.read_bytes().decode("utf-8-sig")
    households, _ = parse_households(text)
    return households


def diff_rule_sets(old_dir: Path, new_dir: Path, households: list[Household], population: str = "",
                   segmenter: Segmenter | None = None) -> ImpactReport:
    """Plan every household with both rule sets and report what changed.

    Raises:
        RuleSetError: either directory has errors, listed with their places in `problems`.
    """
    old_planner = build_planner(old_dir, segmenter)
    try:
        new_planner = build_planner(new_dir, segmenter)
    except Exception:
        old_planner.close()
        raise
    try:
        changes = [c for h in households if (c := compare_plans(old_planner.plan(h), new_planner.plan(h)))]
        return _report(old_planner, new_planner, old_dir, new_dir, population, len(households), changes)
    finally:
        old_planner.close()
        new_planner.close()


def compare_plans(old: Plan, new: Plan) -> HouseholdChange | None:
    """Return how `new` differs from `old` for the same household, or None when they agree."""
    old_ranks = _ranks(old)
    new_ranks = _ranks(new)
    old_steps = {f"{s.due.isoformat()} {s.task}" for s in old.follow_up}
    new_steps = {f"{s.due.isoformat()} {s.task}" for s in new.follow_up}
    change = HouseholdChange(
        household_id=old.household_id,
        old_segment=old.segment.id,
        new_segment=new.segment.id,
        old_segment_by=old.segment.rule_id or old.segment.source,
        new_segment_by=new.segment.rule_id or new.segment.source,
        gained=sorted(set(new_ranks) - set(old_ranks)),
        lost=sorted(set(old_ranks) - set(new_ranks)),
        reranked=sorted(i for i in set(old_ranks) & set(new_ranks) if old_ranks[i] != new_ranks[i]),
        follow_up_added=sorted(new_steps - old_steps),
        follow_up_removed=sorted(old_steps - new_steps),
    )
    unchanged = (change.old_segment == change.new_segment and change.old_segment_by == change.new_segment_by
                 and not change.gained and not change.lost and not change.reranked
                 and not change.follow_up_added and not change.follow_up_removed)
    return None if unchanged else change


def _ranks(plan: Plan) -> dict[str, int]:
    return {rec.item_id: rec.rank for recs in plan.recommendations.values() for rec in recs}


def _report(old: Planner, new: Planner, old_dir: Path, new_dir: Path, population: str, total: int,
            changes: list[HouseholdChange]) -> ImpactReport:
    moves: dict[str, list[str]] = defaultdict(list)
    basis: dict[str, list[str]] = defaultdict(list)
    gained: dict[str, list[str]] = defaultdict(list)
    lost: dict[str, list[str]] = defaultdict(list)
    reranked: dict[str, list[str]] = defaultdict(list)
    follow_up: list[str] = []
    for change in changes:
        if change.old_segment != change.new_segment:
            moves[f"{change.old_segment} -> {change.new_segment}"].append(change.household_id)
        elif change.old_segment_by != change.new_segment_by:
            key = f"{change.old_segment}: {change.old_segment_by} -> {change.new_segment_by}"
            basis[key].append(change.household_id)
        for item in change.gained:
            gained[item].append(change.household_id)
        for item in change.lost:
            lost[item].append(change.household_id)
        for item in change.reranked:
            reranked[item].append(change.household_id)
        if change.follow_up_added or change.follow_up_removed:
            follow_up.append(change.household_id)

    named = set(gained) | set(lost) | set(reranked)
    items = {**old.rulebase.items, **new.rulebase.items}
    return ImpactReport(
        old_dir=display_name(old_dir), new_dir=display_name(new_dir),
        old_version=old.version, new_version=new.version,
        population=population, households=total, affected=len(changes),
        segment_moves=_counted(moves), segment_basis=_counted(basis), gained=_counted(gained), lost=_counted(lost), reranked=_counted(reranked),
        follow_up_changed=CountWithExamples(count=len(follow_up), examples=follow_up[:EXAMPLES]),
        item_names={item_id: items[item_id].name for item_id in sorted(named)},
        changes=changes,
    )


def _counted(groups: dict[str, list[str]]) -> dict[str, CountWithExamples]:
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return {key: CountWithExamples(count=len(ids), examples=ids[:EXAMPLES]) for key, ids in ordered}


def format_impact(report: ImpactReport, lang: str = "zh") -> list[str]:
    """Lines of the text report: totals, groups with counts and examples, then each affected household."""
    share = report.affected / report.households if report.households else 0.0
    lines = [render("diff_title", lang, old=report.old_dir, old_version=report.old_version, new=report.new_dir,
                    new_version=report.new_version, population=report.population, households=report.households),
             render("diff_affected", lang, affected=report.affected, share=f"{share:.1%}")]
    sections = [("diff_segment_moves", report.segment_moves, False), ("diff_segment_basis", report.segment_basis, False),
                ("diff_gained", report.gained, True),
                ("diff_lost", report.lost, True), ("diff_reranked", report.reranked, True)]
    for code, groups, named in sections:
        if not groups:
            continue
        lines.append(render(code, lang))
        for key, group in groups.items():
            label = f"{key} {report.item_names.get(key, '')}".rstrip() if named else key
            lines.append(render("diff_group", lang, label=label, count=group.count, examples=_join(group.examples, lang)))
    if report.follow_up_changed.count:
        lines.append(render("diff_follow_up", lang, count=report.follow_up_changed.count,
                            examples=_join(report.follow_up_changed.examples, lang)))
    if report.changes:
        lines.append(render("diff_households", lang))
        lines += [f"  {_change_line(change)}" for change in report.changes]
    return lines


def _join(values: list[str], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(values)


def _change_line(change: HouseholdChange) -> str:
    parts = []
    if change.old_segment != change.new_segment:
        parts.append(f"{change.old_segment} -> {change.new_segment}")
    elif change.old_segment_by != change.new_segment_by:
        parts.append(f"{change.old_segment}: {change.old_segment_by} -> {change.new_segment_by}")
    parts += [f"+{item}" for item in change.gained] + [f"-{item}" for item in change.lost]
    parts += [f"~{item}" for item in change.reranked]
    steps = len(change.follow_up_added) + len(change.follow_up_removed)
    if steps:
        parts.append(f"follow_up±{steps}")
    return f"{change.household_id}: " + " ".join(parts)

