"""Output models: the plan a caseworker reads, and everything that explains it."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from models.catalogue import ItemKind
from models.rules import Phase


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ScoreTerm(_Out):
    """One addend of a recommendation's score, with where it came from."""

    source: str = Field(description="rule | needs | peer")
    value: float
    rule_id: str | None = None
    rule_file: str | None = None
    rule_line: int | None = None
    reason: str = Field(description="中文说明")


class Recommendation(_Out):
    item_id: str
    kind: ItemKind
    name: str
    rank: int
    score: float
    rules: list[str] = Field(description="推荐此项的规则 id")
    reasons: list[str] = Field(description="中文理由")
    terms: list[ScoreTerm]
    procedure: str | None = None
    contact: str | None = None
    schedule: str | None = None


class Removed(_Out):
    """An item kept out of the plan, and why (ineligible or excluded by a rule)."""

    item_id: str
    cause: str = Field(description="ineligible | excluded")
    reason: str
    rule_id: str | None = None


class FollowUpStep(_Out):
    due: date
    phase: Phase
    task: str
    rule_id: str
    item_id: str | None = None


class SegmentResult(_Out):
    id: str
    name: str
    source: str = Field(description="rule | model | default")
    rule_id: str | None = None
    confidence: float | None = None


class FiredRule(_Out):
    id: str
    name: str
    file: str
    line: int
    priority: int


class Plan(_Out):
    household_id: str
    community_id: str
    segment: SegmentResult
    tags: list[str]
    recommendations: dict[ItemKind, list[Recommendation]]
    follow_up: list[FollowUpStep]
    fired_rules: list[FiredRule]
    removed: list[Removed]
    unknown_needs: list[str] = Field(description="调查中标记为未知的需求维度")
    ruleset_version: str
    model_version: str | None = None
