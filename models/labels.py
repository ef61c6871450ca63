"""Chinese words caseworkers write for the household model's enumerated values.

The first word of each tuple is the one templates show. JSON input, batch sheets and any
page read the same table, so 单人 means `single` everywhere.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

E = TypeVar("E", bound=StrEnum)

STRUCTURE: dict[str, tuple[str, ...]] = {
    "single": ("单人", "独居", "单身"),
    "couple": ("夫妻", "夫妇"),
    "nuclear_family": ("核心家庭", "夫妻带子女", "父母与子女"),
    "single_parent": ("单亲家庭", "单亲"),
    "three_generation": ("三代同堂", "三代"),
    "elderly_couple": ("老年夫妇", "老年夫妻"),
    "shared": ("合租",),
    "other": ("其他",),
}
TENURE: dict[str, tuple[str, ...]] = {
    "owner": ("自有住房", "自有", "自购", "业主"),
    "tenant": ("租房", "租住", "租户"),
    "employer_housing": ("单位宿舍", "单位住房", "员工宿舍"),
}
AVAILABILITY: dict[str, tuple[str, ...]] = {
    "weekday_daytime": ("工作日白天", "工作日日间"),
    "weekday_evening": ("工作日晚上", "工作日晚间"),
    "weekend": ("周末",),
}
RELATION: dict[str, tuple[str, ...]] = {
    "head": ("户主", "本人"),
    "spouse": ("配偶", "妻子", "丈夫"),
    "child": ("子女", "儿子", "女儿", "孩子"),
    "parent": ("父母", "父亲", "母亲"),
    "grandchild": ("孙子女", "孙子", "孙女", "外孙", "外孙女"),
    "grandparent": ("祖父母", "爷爷", "奶奶", "外公", "外婆"),
    "other_relative": ("其他亲属", "亲属"),
    "flatmate": ("室友", "合租人"),
}
OCCUPATION: dict[str, tuple[str, ...]] = {
    "white_collar": ("白领", "职员"),
    "professional": ("专业技术", "专业技术人员"),
    "manual": ("体力劳动", "工人"),
    "service": ("服务业",),
    "self_employed": ("个体", "个体户", "自由职业"),
    "student": ("学生",),
    "retired": ("退休",),
    "none": ("无职业", "无业"),
    "other": ("其他职业",),
}
EMPLOYMENT: dict[str, tuple[str, ...]] = {
    "employed": ("在业", "在职", "就业"),
    "unemployed": ("失业", "待业"),
    "retired": ("已退休",),
    "student": ("在校",),
    "homemaker": ("料理家务", "全职家庭"),
    "not_applicable": ("不适用",),
}

LABEL_TABLES: tuple[dict[str, tuple[str, ...]], ...] = (STRUCTURE, TENURE, AVAILABILITY, RELATION, OCCUPATION, EMPLOYMENT)


def enum_labels(enum: type[E], table: dict[str, tuple[str, ...]]) -> dict[E, tuple[str, ...]]:
    """Key a label table by the enum's members, in the enum's order."""
    return {member: table[member.value] for member in enum}


def value_for_label(table: dict[str, tuple[str, ...]], text: object) -> object:
    """Return the model value a Chinese label stands for, or `text` unchanged when it is none."""
    if not isinstance(text, str):
        return text
    word = text.strip()
    for value, words in table.items():
        if word in words:
            return value
    return text
