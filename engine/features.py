"""Derived household features: the one place that turns a profile into what rules see.

Rules and eligibility conditions read `household.<feature>` and `needs.<dimension>`; the
feature schema below is also what the condition type checker checks against.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from models.household import NEED_DIMENSIONS, Employment, Household, Occupation, Relation

ELDERLY_AGE = 65
NEWLYWED_DAYS = 2 * 365 + 1  # "married within two years", counting one leap day
UNKNOWN_NEED = -1


@dataclass(frozen=True)
class FeatureSpec:
    """Type of one feature: "int", "float", "bool", "str" (with allowed values) or "list"."""

    type: str
    label: str
    values: tuple[str, ...] = ()


def _enum_values(enum_cls) -> tuple[str, ...]:
    return tuple(e.value for e in enum_cls)


HOUSEHOLD_FEATURES: dict[str, FeatureSpec] = {
    "size": FeatureSpec("int", "家庭人数"),
    "adults": FeatureSpec("int", "18 岁及以上人数"),
    "oldest_age": FeatureSpec("int", "最年长成员年龄"),
    "youngest_age": FeatureSpec("int", "最年幼成员年龄"),
    "head_age": FeatureSpec("int", "户主年龄"),
    "children_0_3": FeatureSpec("int", "0–3 岁儿童数（不满 3 岁）"),
    "children_3_6": FeatureSpec("int", "3–6 岁儿童数（3 岁至不满 6 岁）"),
    "children_6_15": FeatureSpec("int", "6–15 岁儿童数（义务教育年龄）"),
    "children": FeatureSpec("int", "未满 18 岁成员数"),
    "elderly": FeatureSpec("int", "65 岁及以上成员数"),
    "lives_alone": FeatureSpec("bool", "独居"),
    "elderly_alone": FeatureSpec("bool", "65 岁及以上老人独居"),
    "elderly_only": FeatureSpec("bool", "全部成员 65 岁及以上"),
    "newlywed": FeatureSpec("bool", "两年内结婚"),
    "chronic_illness": FeatureSpec("int", "患慢性病成员数"),
    "disability": FeatureSpec("int", "残疾成员数"),
    "employed": FeatureSpec("int", "在业成员数"),
    "unemployed": FeatureSpec("int", "失业成员数"),
    "white_collar": FeatureSpec("int", "白领或专业人员数"),
    "manual_or_service": FeatureSpec("int", "体力或服务业从业人员数"),
    "foreign_resident": FeatureSpec("bool", "外籍居民"),
    "non_chinese_speaker": FeatureSpec("bool", "有成员不会中文"),
    "structure": FeatureSpec("str", "家庭结构", ("single", "couple", "nuclear_family", "single_parent",
                                              "three_generation", "elderly_couple", "shared", "other")),
    "tenure": FeatureSpec("str", "住房类型", ("owner", "tenant", "employer_housing")),
    "days_since_move_in": FeatureSpec("int", "入住天数（以计划日期计）"),
    "unknown_needs": FeatureSpec("int", "调查中标记为未知的需求维度数"),
    "interests": FeatureSpec("list", "兴趣"),
    "skills": FeatureSpec("list", "技能"),
    "availability": FeatureSpec("list", "可参与时间", ("weekday_daytime", "weekday_evening", "weekend")),
    "languages": FeatureSpec("list", "成员使用的语言"),
}

NEED_FEATURES: dict[str, FeatureSpec] = {d: FeatureSpec("int", f"需求 {d}（0–4，未知为 -1）") for d in NEED_DIMENSIONS}

CONTEXT_FEATURES: dict[str, FeatureSpec] = {
    "segment": FeatureSpec("str", "人群分类"),
    "cluster": FeatureSpec("int", "聚类编号（无模型时为 -1）"),
    "segment_confidence": FeatureSpec("float", "分类置信度 0–1"),
}


def _age_in(members, low: int, high: int) -> int:
    return sum(1 for m in members if low <= m.age < high)


def derive_features(household: Household, as_of: date | None = None) -> dict[str, object]:
    """Compute the `household.*` features of one household.

    `as_of` is the planning date. It defaults to the move-in date, so a plan depends on its
    input only and not on the day it is computed.
    """
    members = household.members
    ages = [m.age for m in members]
    as_of = as_of or household.move_in_date
    head = next(m for m in members if m.relation == Relation.head)

    size = len(members)
    elderly = sum(1 for a in ages if a >= ELDERLY_AGE)
    married_days = (as_of - household.married_on).days if household.married_on else None
    languages = sorted({lang for m in members for lang in m.languages})

    return {
        "size": size,
        "adults": sum(1 for a in ages if a >= 18),
        "oldest_age": max(ages),
        "youngest_age": min(ages),
        "head_age": head.age,
        "children_0_3": _age_in(members, 0, 3),
        "children_3_6": _age_in(members, 3, 6),
        "children_6_15": _age_in(members, 6, 16),
        "children": _age_in(members, 0, 18),
        "elderly": elderly,
        "lives_alone": size == 1,
        "elderly_alone": size == 1 and elderly == 1,
        "elderly_only": elderly == size,
        "newlywed": married_days is not None and 0 <= married_days <= NEWLYWED_DAYS,
        "chronic_illness": sum(1 for m in members if m.chronic_illness),
        "disability": sum(1 for m in members if m.disability),
        "employed": sum(1 for m in members if m.employment == Employment.employed),
        "unemployed": sum(1 for m in members if m.employment == Employment.unemployed),
        "white_collar": sum(1 for m in members if m.occupation in (Occupation.white_collar, Occupation.professional)),
        "manual_or_service": sum(1 for m in members if m.occupation in (Occupation.manual, Occupation.service)),
        "foreign_resident": household.foreign_resident,
        "non_chinese_speaker": any("zh" not in m.languages for m in members if m.age >= 6),
        "structure": household.structure.value,
        "tenure": household.tenure.value,
        "days_since_move_in": max(0, (as_of - household.move_in_date).days),
        "unknown_needs": len(household.needs.unknown_dimensions()),
        "interests": list(household.interests),
        "skills": list(household.skills),
        "availability": sorted(a.value for a in household.availability),
        "languages": languages,
    }


def derive_needs(household: Household) -> dict[str, int]:
    """Return `needs.*` as integers, with an explicit "unknown" as -1 so no rule reads it as a need."""
    return {
        d: UNKNOWN_NEED if getattr(household.needs, d) == "unknown" else getattr(household.needs, d)
        for d in NEED_DIMENSIONS
    }
