"""Input models: one household as a caseworker registers it, with its needs matrix.

Personal data (names, phone numbers, ID numbers) is accepted so that a registration
form can be stored whole, but those fields are excluded from `repr`, from every
serialisation and from every log line, and nothing in the engine reads them.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from models import labels
from models.labels import value_for_label

NEED_DIMENSIONS: tuple[str, ...] = (
    "housing",
    "child_education",
    "health",
    "daily_living",
    "employment",
    "social",
    "culture_leisure",
    "elder_care",
    "civic_affairs",
    "safety",
)
"""The ten need dimensions. The keys are API names and never change; their labels live in rules/dimensions.yaml."""

UNKNOWN = "unknown"



def _check_need(value: object) -> int | str:
    """Accept an integer 0–4 (also written as "3") or the word "unknown"; reject anything else."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text == UNKNOWN:
            return UNKNOWN
        if text.isdigit():
            value = int(text)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 4:
        raise PydanticCustomError("need_score", "need score must be an integer 0-4 or \"unknown\", got {value}", {"value": value})
    return value


_DATE_TEXT = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")


def _normalise_date(value: object) -> object:
    """Accept the ways dates are written on Chinese forms: 2026/3/5, 2026.3.5, 2026年3月5日.

    Anything else passes unchanged, so pydantic reports it with its usual date error.
    """
    if isinstance(value, str):
        match = _DATE_TEXT.match(value)
        if match:
            year, month, day = match.groups()
            return f"{year}-{int(month):02d}-{int(day):02d}"
    return value


FormDate = Annotated[date, BeforeValidator(_normalise_date)]

NeedValue = Annotated[int | Literal["unknown"], BeforeValidator(_check_need)]


class Relation(StrEnum):
    head = "head"
    spouse = "spouse"
    child = "child"
    parent = "parent"
    grandchild = "grandchild"
    grandparent = "grandparent"
    other_relative = "other_relative"
    flatmate = "flatmate"


class Occupation(StrEnum):
    white_collar = "white_collar"
    professional = "professional"
    manual = "manual"
    service = "service"
    self_employed = "self_employed"
    student = "student"
    retired = "retired"
    none = "none"
    other = "other"


class Employment(StrEnum):
    employed = "employed"
    unemployed = "unemployed"
    retired = "retired"
    student = "student"
    homemaker = "homemaker"
    not_applicable = "not_applicable"


class Structure(StrEnum):
    single = "single"
    couple = "couple"
    nuclear_family = "nuclear_family"
    single_parent = "single_parent"
    three_generation = "three_generation"
    elderly_couple = "elderly_couple"
    shared = "shared"
    other = "other"


class Tenure(StrEnum):
    owner = "owner"
    tenant = "tenant"
    employer_housing = "employer_housing"


class Availability(StrEnum):
    weekday_daytime = "weekday_daytime"
    weekday_evening = "weekday_evening"
    weekend = "weekend"


def _labelled(enum: type, table: dict[str, tuple[str, ...]]):
    """Annotate an enum field so it also accepts the Chinese words of `models.labels`."""
    return Annotated[enum, BeforeValidator(lambda value: value_for_label(table, value))]


StructureField = _labelled(Structure, labels.STRUCTURE)
TenureField = _labelled(Tenure, labels.TENURE)
AvailabilityField = _labelled(Availability, labels.AVAILABILITY)
RelationField = _labelled(Relation, labels.RELATION)
OccupationField = _labelled(Occupation, labels.OCCUPATION)
EmploymentField = _labelled(Employment, labels.EMPLOYMENT)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Member(_Strict):
    """One person in the household."""

    age: int = Field(ge=0, le=120, description="年龄（周岁）")
    relation: RelationField = Field(description="与户主关系")
    occupation: OccupationField = Occupation.none
    employment: EmploymentField = Employment.not_applicable
    chronic_illness: bool = False
    disability: bool = False
    languages: tuple[str, ...] = ("zh",)

    name: str | None = Field(default=None, repr=False, exclude=True)
    phone: str | None = Field(default=None, repr=False, exclude=True)
    id_number: str | None = Field(default=None, repr=False, exclude=True)


class NeedsMatrix(_Strict):
    """Scores 0–4 on each of the ten dimensions, or "unknown" when the survey left it open.

    A missing key is an input error. The caseworker writes "unknown" explicitly, so a skipped
    question never turns into a silent zero.
    """

    housing: NeedValue
    child_education: NeedValue
    health: NeedValue
    daily_living: NeedValue
    employment: NeedValue
    social: NeedValue
    culture_leisure: NeedValue
    elder_care: NeedValue
    civic_affairs: NeedValue
    safety: NeedValue

    def score(self, dimension: str) -> int:
        """Return the score of one dimension, counting "unknown" as 0."""
        value = getattr(self, dimension)
        return 0 if value == UNKNOWN else value

    def unknown_dimensions(self) -> list[str]:
        return [d for d in NEED_DIMENSIONS if getattr(self, d) == UNKNOWN]


class Household(_Strict):
    """A newly arrived household: profile plus needs matrix."""

    household_id: str = Field(min_length=1, max_length=64, description="户编号（不含个人信息）")
    community_id: str = Field(min_length=1, max_length=64, description="社区编号")
    structure: StructureField
    tenure: TenureField
    move_in_date: FormDate
    married_on: FormDate | None = Field(default=None, description="结婚登记日期，用于判断新婚（两年内）")
    foreign_resident: bool = False
    members: tuple[Member, ...] = Field(min_length=1, max_length=30)
    interests: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    availability: tuple[AvailabilityField, ...] = ()
    needs: NeedsMatrix

    contact_name: str | None = Field(default=None, repr=False, exclude=True)
    contact_phone: str | None = Field(default=None, repr=False, exclude=True)
    address: str | None = Field(default=None, repr=False, exclude=True)

    @field_validator("interests", "skills")
    @classmethod
    def _normalise_words(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        words = (v.strip().lower() for v in values)
        return tuple(dict.fromkeys(w for w in words if w))

    @model_validator(mode="after")
    def _one_head(self) -> Household:
        heads = sum(1 for m in self.members if m.relation == Relation.head)
        if heads != 1:
            raise PydanticCustomError(
                "head_count",
                "members must contain exactly one head (relation=head), found {count}",
                {"count": heads},
            )
        return self
