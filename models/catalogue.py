"""Catalogue models: the services, resources, groups, tasks and events a plan can point to.

These validate `rules/catalogue/*.yaml`. Unknown keys are rejected so that a typo in a
rule author's file is an error, not an ignored field.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.household import NEED_DIMENSIONS

ItemId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
Coverage = Annotated[int, Field(ge=0, le=3)]


class ItemKind(StrEnum):
    service = "service"
    resource = "resource"
    interest_group = "interest_group"
    volunteer_task = "volunteer_task"
    event = "event"


KIND_LABELS_ZH: dict[ItemKind, str] = {
    ItemKind.service: "生活服务",
    ItemKind.resource: "社区资源",
    ItemKind.interest_group: "兴趣小组",
    ItemKind.volunteer_task: "志愿任务",
    ItemKind.event: "社区活动",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Eligibility(_Strict):
    """Eligibility limits of an item.

    `min_age`/`max_age` hold when at least one member's age is in the range. `when` is a
    condition in the rule language over household features, for example
    `household.children_3_6 >= 1`.
    """

    min_age: int | None = Field(default=None, ge=0, le=120)
    max_age: int | None = Field(default=None, ge=0, le=120)
    when: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Eligibility:
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            raise ValueError("min_age must not exceed max_age")
        return self


class CatalogueItem(_Strict):
    id: ItemId
    kind: ItemKind
    name: str = Field(min_length=1, description="中文名称")
    name_en: str | None = None
    description: str | None = None
    coverage: dict[str, Coverage] = Field(default_factory=dict, description="对各需求维度的覆盖程度 0–3")
    eligibility: Eligibility = Eligibility()
    capacity: int | None = Field(default=None, ge=0, description="名额；不限名额时省略")
    schedule: str | None = None
    procedure: str | None = None
    contact: str | None = None
    phase: str | None = Field(default=None, pattern=r"^(preparation|guidance|consolidation)$")

    @model_validator(mode="after")
    def _known_dimensions(self) -> CatalogueItem:
        unknown = sorted(set(self.coverage) - set(NEED_DIMENSIONS))
        if unknown:
            raise ValueError(f"unknown need dimension in coverage: {', '.join(unknown)}")
        return self

    def coverage_of(self, dimension: str) -> int:
        return self.coverage.get(dimension, 0)


class CatalogueFile(_Strict):
    """One `rules/catalogue/*.yaml` file."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    items: list[CatalogueItem] = Field(min_length=1)
