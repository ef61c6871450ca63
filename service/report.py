"""Render a plan as a readable Chinese summary for caseworkers (`linli plan --format text`)."""

from __future__ import annotations

from models.catalogue import KIND_LABELS_ZH
from models.plan import Plan
from models.rules import PHASE_LABELS_ZH

_SOURCE_ZH = {"rule": "规则判定", "model": "聚类模型", "default": "默认分类"}


def plan_to_text(plan: Plan, item_names: dict[str, str] | None = None,
                 dimension_names: dict[str, str] | None = None) -> str:
    """Render one plan; `item_names` and `dimension_names` give Chinese names for ids when known."""
    item_names = item_names or {}
    dimension_names = dimension_names or {}
    lines = [f"家庭 {plan.household_id}（社区 {plan.community_id}）的融入计划", ""]

    segment = plan.segment
    how = _SOURCE_ZH.get(segment.source, segment.source)
    if segment.rule_id:
        how += f"，规则 {segment.rule_id}"
    if segment.source == "model" and segment.confidence is not None:
        how += f"，置信度 {segment.confidence:.0%}"
    lines.append(f"人群分类：{segment.name}（{how}）")
    if plan.tags:
        lines.append(f"标签：{'、'.join(plan.tags)}")
    if plan.unknown_needs:
        lines.append(f"需求待补充调查：{'、'.join(dimension_names.get(d, d) for d in plan.unknown_needs)}")

    for kind, recommendations in plan.recommendations.items():
        if not recommendations:
            continue
        lines += ["", f"【{KIND_LABELS_ZH[kind]}】"]
        for rec in recommendations:
            lines.append(f"  {rec.rank}. {rec.name}（{rec.item_id}，得分 {rec.score:.2f}）")
            for reason in rec.reasons:
                lines.append(f"     - {reason}")

    if plan.removed:
        lines += ["", "【未列入的项目】"]
        for removed in plan.removed:
            name = item_names.get(removed.item_id)
            label = f"{name}（{removed.item_id}）" if name else removed.item_id
            lines.append(f"  - {label}：{removed.reason}")

    if plan.follow_up:
        lines += ["", "【跟进日程】"]
        for step in plan.follow_up:
            lines.append(f"  {step.due.isoformat()}  [{PHASE_LABELS_ZH[step.phase]}] {step.task}")

    lines += ["", f"规则版本：{plan.ruleset_version}" + (f"；模型版本：{plan.model_version}" if plan.model_version else "")]
    return "\n".join(lines) + "\n"
