"""Batch matching settings: `rules/batch.yaml`, read by `engine.allocation.load_batch_settings`.

Structure only. Whether each tag and segment named here exists is checked against the
loaded rule base afterwards, with the file, line and column of the name.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.catalogue import ItemKind
from models.rules import Name

SCORE_UNITS = 10_000
"""Scores are rounded to 4 decimals, so the allocator counts them in units of 1/10,000."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriorityWeight(_Strict):
    """A factor on every score of the households that carry `tag` or fall into `segment`.

    Exactly one of `tag` and `segment` is set. A household that matches several entries
    gets the largest factor, so two reasons to give priority never multiply.
    """

    tag: Name | None = None
    segment: Name | None = None
    weight: float = Field(gt=0, le=10, description="得分乘数；大于 1 表示优先")
    reason: str = Field(min_length=1, description="优先理由（中文），写进分配表")

    @model_validator(mode="after")
    def _one_target(self) -> PriorityWeight:
        if (self.tag is None) == (self.segment is None):
            raise ValueError("set exactly one of tag and segment")
        return self


class Indicator(_Strict):
    """A projected indicator: the share of households that get at least one item of `kind`.

    `measure` is "allocated" (a seat given by the allocation) or "recommended" (the item is
    in the plan, for kinds without seats). `target` is the share the method aims for, or
    null when it gives none.
    """

    id: Name
    name: str = Field(min_length=1, description="指标名称（中文）")
    name_en: str = Field(min_length=1)
    kind: ItemKind
    measure: Literal["allocated", "recommended"]
    target: float | None = Field(default=None, ge=0, le=1)
    note: str | None = Field(default=None, description="目标的出处或含义（中文）")


class BatchSettings(_Strict):
    """`rules/batch.yaml`: which kinds have seats, how many per household, who goes first.

    `seats_per_household` lists the kinds the allocator assigns (interest groups and
    volunteer tasks in the bundled file) and the most items of each kind one household gets.
    `labels` maps the Chinese words a caseworker types in the interests and skills columns
    to the words rules test, for example 阅读 → reading; a word not listed passes unchanged.
    """

    seats_per_household: dict[ItemKind, int] = Field(
        default_factory=lambda: {ItemKind.interest_group: 1, ItemKind.volunteer_task: 1})
    priority: list[PriorityWeight] = Field(default_factory=list)
    indicators: list[Indicator] = Field(default_factory=list)
    top_items_in_sheet: int = Field(default=3, ge=1, le=10, description="计划表中每类列出的项目数")
    interest_labels: dict[str, str] = Field(default_factory=dict)
    skill_labels: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _positive_seats(self) -> BatchSettings:
        for kind, count in self.seats_per_household.items():
            if not 1 <= count <= 10:
                raise ValueError(f"seats_per_household.{kind.value} must be 1-10, got {count}")
        return self

    def weight_for(self, tags: list[str], segment: str) -> tuple[float, str | None]:
        """Return the priority factor of a household and the reason for it (None at 1.0)."""
        hits = [e for e in self.priority if (e.tag in tags if e.tag else e.segment == segment)]
        if not hits:
            return 1.0, None
        best = max(hits, key=lambda e: e.weight)
        return best.weight, best.reason
