"""Rule-file models: what a rule author writes in `rules/rulesets/*.yaml` and beside it.

Structure only. Cross-references (condition fields, item ids, segments, tags) are checked
afterwards by `engine.checker`, which checks them against the whole rule set.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from models.catalogue import ItemId

RuleId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class Phase(StrEnum):
    preparation = "preparation"
    guidance = "guidance"
    consolidation = "consolidation"


PHASE_LABELS_ZH: dict[Phase, str] = {
    Phase.preparation: "前期准备",
    Phase.guidance: "中期引导",
    Phase.consolidation: "后期巩固",
}


class Repeat(StrEnum):
    once = "once"
    monthly = "monthly"
    quarterly = "quarterly"
    half_yearly = "half_yearly"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Recommend(_Strict):
    item: ItemId
    weight: float = Field(default=1.0, gt=0, le=10)
    reason: str = Field(min_length=1, description="推荐理由（中文）")


class Exclude(_Strict):
    item: ItemId
    reason: str = Field(min_length=1)


class FollowUp(_Strict):
    """One step of the follow-up schedule, dated from the move-in date.

    `after_days` gives the first date. `day_of_month` moves each date to that day of its
    month (the newcomer forum on the 5th), and `repeat` repeats it until the plan horizon.
    """

    task: str = Field(min_length=1, description="跟进事项（中文）")
    phase: Phase
    after_days: int = Field(default=0, ge=0, le=3650)
    day_of_month: int | None = Field(default=None, ge=1, le=28)
    repeat: Repeat = Repeat.once
    item: ItemId | None = None


class Action(_Strict):
    """One action. Exactly one key is set, as rule authors write it: `- recommend: {...}`."""

    set_segment: Name | None = None
    add_tag: Name | None = None
    recommend: Recommend | None = None
    exclude: Exclude | None = None
    follow_up: FollowUp | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Action:
        keys = [k for k, v in self.__dict__.items() if v is not None]
        if len(keys) != 1:
            raise PydanticCustomError("one_action", "an action sets exactly one key, got {keys}",
                                      {"keys": ", ".join(keys) or "none"})
        return self

    def kind(self) -> str:
        return next(k for k, v in self.__dict__.items() if v is not None)


class Rule(_Strict):
    id: RuleId
    name: str = Field(min_length=1, description="规则名称（中文）")
    priority: int = Field(default=0, ge=-1000, le=1000)
    when: str = Field(min_length=1, description="条件表达式")
    then: list[Action] = Field(min_length=1)
    description: str | None = None


class RuleSetFile(_Strict):
    """One `rules/rulesets/*.yaml` file."""

    ruleset: Name
    name: str = Field(min_length=1)
    description: str | None = None
    rules: list[Rule] = Field(min_length=1)


class Segment(_Strict):
    id: Name
    name: str = Field(min_length=1)
    description: str | None = None
    prototype: dict[str, float] = Field(
        default_factory=dict, description="聚类原型：特征名或需求维度 → 典型值"
    )


class SegmentsFile(_Strict):
    default: Name
    segments: list[Segment] = Field(min_length=1)


class Dimension(_Strict):
    id: str
    name: str
    name_en: str
    description: str | None = None


class DimensionsFile(_Strict):
    levels: dict[int, str]
    dimensions: list[Dimension] = Field(min_length=10, max_length=10)


class ScoringConfig(_Strict):
    """`rules/scoring.yaml`: how rule weights and the needs matrix combine into one score."""

    needs_weight: float = Field(default=2.0, ge=0)
    min_need_match: float = Field(default=0.5, ge=0, description="无规则推荐时，需求匹配分至少达到此值才列入")
    top_n: dict[str, int] = Field(default_factory=dict)
    schedule_horizon_months: int = Field(default=6, ge=1, le=36)
    peer_weight: float = Field(default=1.0, ge=0)
