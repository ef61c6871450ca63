"""`POST /v1/plans` (one household) and `POST /v1/plans/batch` (a list, with per-item errors)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, SkipValidation

from engine.errors import FieldProblem, InputError, RuleSetError
from engine.inputs import validate_household
from engine.messages import render
from engine.planner import Planner
from models.household import Household
from models.plan import Plan
from service.auth import Permission, require
from service.http_errors import ERROR_RESPONSES, ApiError, ErrorDetail, input_api_error, request_lang, rules_api_error
from service.state import PlannerRegistry, get_registry

logger = logging.getLogger(__name__)

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "households"
PERSONAL_FIELDS = ("contact_name", "contact_phone", "address")
MEMBER_PERSONAL_FIELDS = ("name", "phone", "id_number")

router = APIRouter(prefix="/v1", tags=["计划 plans"])


def household_examples() -> dict[str, dict[str, Any]]:
    """Load `fixtures/households/*.json` as OpenAPI examples, without personal fields."""
    examples: dict[str, dict[str, Any]] = {}
    for path in sorted(FIXTURES_DIR.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            logger.warning("skipped OpenAPI example %s: %s", path.name, exc)
            continue
        if isinstance(data, dict):
            examples[path.stem] = {"summary": path.stem, "value": _without_personal_data(data)}
    return examples


def _without_personal_data(data: dict[str, Any]) -> dict[str, Any]:
    cleaned = {k: v for k, v in data.items() if k not in PERSONAL_FIELDS}
    members = cleaned.get("members")
    if isinstance(members, list):
        cleaned["members"] = [{k: v for k, v in m.items() if k not in MEMBER_PERSONAL_FIELDS}
                              if isinstance(m, dict) else m for m in members]
    return cleaned


HOUSEHOLD_EXAMPLES = household_examples()
BATCH_EXAMPLES = {
    "two_households": {
        "summary": "两户家庭",
        "value": {"households": [example["value"] for example in list(HOUSEHOLD_EXAMPLES.values())[:2]]},
    },
} if HOUSEHOLD_EXAMPLES else {}


class BatchRequest(BaseModel):
    """Households to plan together; each one is checked on its own."""

    model_config = ConfigDict(extra="forbid")

    households: list[SkipValidation[Household]] = Field(
        min_length=1,
        description="家庭列表。每户单独校验：有错误的一户得到 error，其余各户照常得到 plan。"
                    "每次最多条数由 LINLI_BATCH_MAX_ITEMS 设定（默认 200）。",
    )


class BatchItem(BaseModel):
    """The outcome for the household at `index`: its plan, or the error that stopped it."""

    index: int = Field(description="在请求 households 列表中的位置（从 0 开始）")
    household_id: str | None = Field(default=None, description="户编号（输入中能读到时）")
    plan: Plan | None = None
    error: ErrorDetail | None = None


class BatchResponse(BaseModel):
    ruleset_version: str = Field(description="本批全部计划所用的规则版本")
    planned: int = Field(description="成功生成计划的户数")
    failed: int = Field(description="有错误的户数")
    results: list[BatchItem] = Field(description="与请求 households 一一对应，顺序相同")


@router.post(
    "/plans",
    response_model=Plan,
    responses=ERROR_RESPONSES,
    summary="为一户家庭生成融入计划",
    description="输入一户家庭的情况与需求匹配表，返回人群分类、推荐项目（含理由与得分构成）、"
                "跟进日程和触发的规则。与命令行 `linli plan` 的结果相同。联系人姓名、电话等个人信息不需要提供，"
                "提供了也不会被使用、记录或返回。",
    dependencies=[Depends(require(Permission.plan))],
)
async def create_plan(
    request: Request,
    household: Annotated[Household, Body(openapi_examples=HOUSEHOLD_EXAMPLES)],
    registry: PlannerRegistry = Depends(get_registry),
) -> Response:
    # Planned on the event loop, not in the thread pool. One plan takes about half a
    # millisecond of CPU under the engine lock, which is less than a hand-off to a worker
    # thread costs, and a thread would not run it sooner in a one-worker server.
    with registry.lease() as planner:
        plan = planner.plan(household)
    request.state.rule_version = plan.ruleset_version
    request.app.state.metrics.plans.labels(plan.segment.id).inc()
    return Response(plan.model_dump_json(), media_type="application/json")


@router.post(
    "/plans/batch",
    response_model=BatchResponse,
    responses=ERROR_RESPONSES,
    summary="批量生成融入计划",
    description="输入家庭列表，返回与之一一对应的结果：每户要么有 plan，要么有 error（含字段路径）。"
                "一户有错不影响其他户。户编号与前面某户重复的一项得到 error（duplicate_household），不生成计划。"
                "整批使用同一规则版本。条数超过上限时返回 413。",
    dependencies=[Depends(require(Permission.plan))],
)
def create_plans(
    request: Request,
    batch: Annotated[BatchRequest, Body(openapi_examples=BATCH_EXAMPLES)],
    registry: PlannerRegistry = Depends(get_registry),
) -> Response:
    limit = request.app.state.settings.batch_max_items
    if len(batch.households) > limit:
        raise ApiError(413, "batch_too_large", "http_batch_too_large", {"limit": limit, "count": len(batch.households)})

    lang = request_lang(request.headers)
    first_index: dict[str, int] = {}
    with registry.lease() as planner:
        results = [_plan_item(planner, index, raw, lang, first_index) for index, raw in enumerate(batch.households)]
        version = planner.version

    request.state.rule_version = version
    for item in results:
        if item.plan is not None:
            request.app.state.metrics.plans.labels(item.plan.segment.id).inc()
    failed = sum(1 for item in results if item.error is not None)
    body = BatchResponse(ruleset_version=version, planned=len(results) - failed, failed=failed, results=results)
    return Response(body.model_dump_json(), media_type="application/json")


def _plan_item(planner: Planner, index: int, raw: object, lang: str, first_index: dict[str, int]) -> BatchItem:
    """Plan one household of a batch; `first_index` maps each household id seen so far to its first index."""
    household_id = _readable_id(raw)
    duplicate = _duplicate_problem(index, household_id, first_index)
    try:
        household = validate_household(raw, ("households", index))
    except InputError as exc:
        error = InputError([*duplicate, *exc.problems], exc.code)
        return BatchItem(index=index, household_id=household_id, error=input_api_error(error).detail(lang))
    if duplicate:
        error = InputError(duplicate, "duplicate_household")
        return BatchItem(index=index, household_id=household_id, error=input_api_error(error).detail(lang))
    try:
        plan = planner.plan(household)
    except RuleSetError as exc:
        return BatchItem(index=index, household_id=household_id, error=rules_api_error(exc).detail(lang))
    return BatchItem(index=index, household_id=household.household_id, plan=plan)


def _duplicate_problem(index: int, household_id: str | None, first_index: dict[str, int]) -> list[FieldProblem]:
    """Return the problem of a household id that an earlier item of the batch has, as a list of none or one.

    As in `linli batch`, the first item keeps its id and every later one is an error, so no
    household is planned twice.
    """
    if household_id is None:
        return []
    first = first_index.setdefault(household_id, index)
    if first == index:
        return []
    params = {"value": household_id, "first": first}
    return [FieldProblem(f"households[{index}].household_id", "duplicate_household",
                         render("batch_duplicate_item", "zh", **params), render("batch_duplicate_item", "en", **params))]


def _readable_id(raw: object) -> str | None:
    """Echo the household id of an invalid item when it is a plain short string."""
    value = raw.get("household_id") if isinstance(raw, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= 64 else None
