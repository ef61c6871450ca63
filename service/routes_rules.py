"""Catalogue, dimensions and rules: read the loaded rule base, check a rule file, reload."""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from engine.errors import Problem, RuleSetError
from engine.loader import RuleBase, check_directory, directory_version, rule_file_name
from engine.yaml_loader import MAX_FILE_BYTES
from models.catalogue import CatalogueItem, ItemKind
from models.rules import Dimension
from service.auth import Permission, require
from service.http_errors import ERROR_RESPONSES, request_lang, rules_api_error
from service.state import PlannerRegistry, ReloadFailure, get_registry

router = APIRouter(prefix="/v1", tags=["目录与规则 catalogue and rules"])

RULE_FOLDERS = {"ruleset": "rulesets", "catalogue": "catalogue"}
READ_RESPONSES = {code: ERROR_RESPONSES[code] for code in (401, 403, 422)}


class ProblemOut(BaseModel):
    """One error or warning in a rule file, at `file:line:column`."""

    code: str
    severity: Literal["error", "warning"]
    message: str
    file: str | None = Field(default=None, description="相对规则目录的文件名，如 rulesets/modules.yaml")
    line: int | None = None
    column: int | None = None
    path: str | None = Field(default=None, description="文件内的键路径，如 rules[3].when")


def problems_out(problems: list[Problem], lang: str) -> list[ProblemOut]:
    return [ProblemOut.model_validate(p.to_dict(lang)) for p in problems]


class CatalogueResponse(BaseModel):
    version: str = Field(description="规则版本（规则目录全部 YAML 的内容哈希）")
    count: int
    items: list[CatalogueItem]


class DimensionsResponse(BaseModel):
    version: str
    levels: dict[int, str] = Field(description="需求分值 0–4 的含义")
    dimensions: list[Dimension]


class RuleSummary(BaseModel):
    id: str
    name: str
    priority: int
    line: int


class RuleSetSummary(BaseModel):
    ruleset: str
    file: str
    rules: list[RuleSummary]


class SegmentSummary(BaseModel):
    id: str
    name: str


class RulesResponse(BaseModel):
    version: str
    model_version: str | None = Field(description="聚类分群模型的版本；未使用模型时为 null")
    loaded_at: datetime | None
    rule_count: int
    item_count: int
    rulesets: list[RuleSetSummary]
    segments: list[SegmentSummary]
    tags: list[str]
    warnings: list[ProblemOut]


class ReloadErrorOut(BaseModel):
    at: datetime
    source: str = Field(description="startup | api | watch")
    problems: list[ProblemOut]


class RulesStatusResponse(BaseModel):
    version: str | None = Field(description="正在使用的规则版本")
    model_version: str | None = Field(description="正在使用的聚类分群模型版本；未使用模型时为 null")
    loaded_at: datetime | None
    source: str | None = Field(description="加载方式：startup | api | watch")
    reloads: int = Field(description="成功加载次数（含启动）")
    failed_reloads: int
    watching: bool = Field(description="是否在监视规则目录并自动重新加载")
    last_error: ReloadErrorOut | None = Field(description="最近一次失败的加载；之后加载成功时清空")


RULE_FILE_NAME = r"^[a-z0-9][a-z0-9_-]{0,63}\.yaml$"


def _check_rule_file_name(name: str) -> str:
    """Accept a plain file name matching `RULE_FILE_NAME`; the error type carries a message that spells the pattern out."""
    if re.fullmatch(RULE_FILE_NAME, name) is None:
        raise PydanticCustomError(
            "rule_file_name",
            "the file name must start with a lowercase letter or a digit, contain only lowercase letters, digits, "
            "'_' and '-', end in .yaml and have at most 64 characters before .yaml, e.g. modules.yaml")
    return name


class ValidateRequest(BaseModel):
    kind: Literal["ruleset", "catalogue"] = Field(description="ruleset：规则文件；catalogue：目录文件")
    # The pattern goes into the schema only: pydantic's own pattern check would report it as a bare regex.
    name: Annotated[str, AfterValidator(_check_rule_file_name)] = Field(
        json_schema_extra={"pattern": RULE_FILE_NAME},
        description="文件名，如 modules.yaml：小写英文字母或数字开头，只含小写字母、数字、_ 和 -，以 .yaml 结尾；"
                    "与现有文件同名时视为修改该文件，否则视为新增")
    text: str = Field(max_length=MAX_FILE_BYTES, description="YAML 全文（UTF-8）")


class ValidateResponse(BaseModel):
    valid: bool = Field(description="没有错误时为 true（可以有警告）")
    file: str = Field(description="被检查的文件，相对规则目录")
    version: str | None = Field(description="换入此文件后规则集的版本；有错误时为 null")
    loaded_version: str | None = Field(description="服务正在使用的规则版本")
    base_matches_loaded: bool = Field(description="规则目录中的文件是否就是正在使用的版本")
    errors: int
    warnings: int
    problems: list[ProblemOut]


class ReloadResponse(BaseModel):
    changed: bool = Field(description="规则或模型有变化并已换用新版本时为 true")
    version: str
    model_version: str | None
    previous_version: str | None
    loaded_at: datetime
    warnings: list[ProblemOut]


# Reading the loaded rule base


@router.get("/catalogue", response_model=CatalogueResponse, responses=READ_RESPONSES,
            summary="服务与活动目录", description="列出当前规则版本中的全部目录项目，可按类别筛选。",
            dependencies=[Depends(require(Permission.read))])
async def get_catalogue(kind: ItemKind | None = Query(default=None, description="只列出这一类项目"),
                        registry: PlannerRegistry = Depends(get_registry)) -> CatalogueResponse:
    with registry.lease() as planner:
        items = [item for item in planner.rulebase.items.values() if kind is None or item.kind == kind]
        return CatalogueResponse(version=planner.version, count=len(items), items=items)


@router.get("/dimensions", response_model=DimensionsResponse, responses=READ_RESPONSES,
            summary="需求匹配表的十个维度", dependencies=[Depends(require(Permission.read))])
async def get_dimensions(registry: PlannerRegistry = Depends(get_registry)) -> DimensionsResponse:
    with registry.lease() as planner:
        dimensions = planner.rulebase.dimensions
        return DimensionsResponse(version=planner.version, levels=dimensions.levels, dimensions=dimensions.dimensions)


@router.get("/rules", response_model=RulesResponse, responses=READ_RESPONSES,
            summary="已加载的规则集与版本", dependencies=[Depends(require(Permission.read))])
async def get_rules(request: Request, registry: PlannerRegistry = Depends(get_registry)) -> RulesResponse:
    with registry.lease() as planner:
        model_version = planner.segmenter.version if planner.segmenter is not None else None
        loaded_at = registry.loaded_at(planner)
        return _rules_summary(planner.rulebase, model_version, loaded_at, request_lang(request.headers))


def _rules_summary(rulebase: RuleBase, model_version: str | None, loaded_at: datetime | None,
                   lang: str) -> RulesResponse:
    rulesets: dict[str, RuleSetSummary] = {}
    for compiled in rulebase.rules:
        summary = rulesets.setdefault(compiled.ruleset, RuleSetSummary(ruleset=compiled.ruleset, file=compiled.file, rules=[]))
        summary.rules.append(RuleSummary(id=compiled.id, name=compiled.rule.name, priority=compiled.rule.priority,
                                         line=compiled.line))
    return RulesResponse(
        version=rulebase.version,
        model_version=model_version,
        loaded_at=loaded_at,
        rule_count=len(rulebase.rules),
        item_count=len(rulebase.items),
        rulesets=list(rulesets.values()),
        segments=[SegmentSummary(id=s.id, name=s.name) for s in rulebase.segments.segments],
        tags=list(rulebase.tags),
        warnings=problems_out(rulebase.warnings, lang),
    )


@router.get("/rules/status", response_model=RulesStatusResponse, responses=READ_RESPONSES,
            summary="规则加载状态", description="正在使用的版本、加载时间，以及最近一次失败加载的错误（文件:行:列）。",
            dependencies=[Depends(require(Permission.read))])
async def get_rules_status(request: Request, registry: PlannerRegistry = Depends(get_registry)) -> RulesStatusResponse:
    status = registry.status()
    lang = request_lang(request.headers)
    return RulesStatusResponse(
        version=status.version,
        model_version=status.model_version,
        loaded_at=status.loaded_at,
        source=status.source,
        reloads=status.reloads,
        failed_reloads=status.failed_reloads,
        watching=request.app.state.watcher is not None,
        last_error=_error_out(status.last_error, lang),
    )


def _error_out(failure: ReloadFailure | None, lang: str) -> ReloadErrorOut | None:
    if failure is None:
        return None
    return ReloadErrorOut(at=failure.at, source=failure.source, problems=problems_out(failure.problems, lang))


# Checking and reloading


@router.post("/rules/validate", response_model=ValidateResponse, responses=ERROR_RESPONSES,
             summary="检查一个规则或目录文件",
             description="把提交的 YAML 放入当前规则目录的副本中，与其余文件一起检查，返回每个错误和警告的行号与列号。"
                         "不会改动正在使用的规则。",
             dependencies=[Depends(require(Permission.manage_rules))])
def validate_rule_file(request: Request, body: ValidateRequest,
                       registry: PlannerRegistry = Depends(get_registry)) -> ValidateResponse:
    relative = f"{RULE_FOLDERS[body.kind]}/{body.name}"
    rulebase, problems = check_rule_file(registry.rules_dir, relative, body.text)
    loaded_version = registry.version
    errors = sum(1 for p in problems if p.severity == "error")
    return ValidateResponse(
        valid=rulebase is not None,
        file=relative,
        version=rulebase.version if rulebase else None,
        loaded_version=loaded_version,
        base_matches_loaded=_disk_version(registry.rules_dir) == loaded_version,
        errors=errors,
        warnings=len(problems) - errors,
        problems=problems_out(problems, request_lang(request.headers)),
    )


def check_rule_file(rules_dir: Path, relative: str, text: str) -> tuple[RuleBase | None, list[Problem]]:
    """Check the rules directory with `relative` replaced by (or added as) `text`.

    The check runs on a copy in a temporary directory with the engine's own checker, so the
    result is what `linli rules check` would report after saving the file. Problem file names
    are given relative to the rules directory.
    """
    with tempfile.TemporaryDirectory(prefix="linli-validate-") as temp:
        copy = Path(temp) / "rules"
        shutil.copytree(rules_dir, copy, ignore=shutil.ignore_patterns(".*", "__pycache__"))
        target = copy / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))
        rulebase, problems = check_directory(copy)
        prefix = rule_file_name(copy, copy) + "/"
    return rulebase, [_relative_to_rules(p, prefix) for p in problems]


def _relative_to_rules(problem: Problem, prefix: str) -> Problem:
    if problem.file and problem.file.startswith(prefix):
        return dataclasses.replace(problem, file=problem.file[len(prefix):])
    return problem


def _disk_version(rules_dir: Path) -> str | None:
    try:
        return directory_version(rules_dir)
    except OSError:
        return None


@router.post("/rules/reload", response_model=ReloadResponse, responses=ERROR_RESPONSES,
             summary="重新加载规则",
             description="重新读取并检查规则目录。全部通过才换用新版本，正在处理的请求仍用旧版本完成；"
                         "有错误时返回 422 和每个错误的位置，原版本继续服务。",
             dependencies=[Depends(require(Permission.manage_rules))])
def reload_rules(request: Request, registry: PlannerRegistry = Depends(get_registry)) -> ReloadResponse:
    lang = request_lang(request.headers)
    try:
        outcome = registry.reload(source="api")
    except RuleSetError as exc:
        raise rules_api_error(exc, "http_reload_failed", version=registry.version) from None
    request.state.rule_version = outcome.version
    return ReloadResponse(changed=outcome.changed, version=outcome.version, model_version=outcome.model_version,
                          previous_version=outcome.previous_version,
                          loaded_at=outcome.loaded_at, warnings=problems_out(outcome.warnings, lang))
