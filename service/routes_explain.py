"""`POST /v1/explain`: why an item is, or is not, in one household's plan (as `linli explain`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from engine.errors import RuleSetError
from engine.explain import Explanation, UnknownItemError, explain_item
from models.catalogue import ItemId
from models.household import Household
from service.auth import Permission, require
from service.http_errors import ERROR_RESPONSES, ApiError, ErrorBody, request_lang, rules_api_error
from service.routes_plans import HOUSEHOLD_EXAMPLES
from service.state import PlannerRegistry, get_registry

router = APIRouter(prefix="/v1", tags=["计划 plans"])


class ExplainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    household: Household = Field(description="家庭，与 POST /v1/plans 的输入相同")
    item_id: ItemId = Field(description="要说明的项目 id，如 grp_weekend_hiking")


def _examples() -> dict[str, dict]:
    cases = {"elderly-alone": ("grp_weekend_hiking", "独居老人为什么没有周末徒步（被规则排除）"),
             "young-professional": ("grp_yoga_meditation", "年轻白领为什么得到瑜伽冥想工作坊")}
    return {f"{name}:{item}": {"summary": summary, "value": {"household": HOUSEHOLD_EXAMPLES[name]["value"], "item_id": item}}
            for name, (item, summary) in cases.items() if name in HOUSEHOLD_EXAMPLES}


@router.post(
    "/explain",
    response_model=Explanation,
    responses={**ERROR_RESPONSES, 404: {"model": ErrorBody, "description": "目录中没有该项目"}},
    summary="说明项目为什么在（或不在）计划中",
    description="逐条列出可推荐或排除该项目的规则（是否触发、读取的家庭取值、不成立的部分）、得分构成"
                "（规则、需求匹配、相似家庭）、适用条件和同类名次。与命令行 `linli explain` 的结果相同；"
                "text 为逐行说明，默认中文，Accept-Language 为 en 时英文。",
    dependencies=[Depends(require(Permission.plan))],
)
def explain(
    request: Request,
    body: Annotated[ExplainRequest, Body(openapi_examples=_examples())],
    registry: PlannerRegistry = Depends(get_registry),
) -> Response:
    lang = request_lang(request.headers)
    with registry.lease() as planner:
        try:
            explanation = explain_item(planner, body.household, body.item_id, lang)
        except UnknownItemError as exc:
            params = {"item": exc.item_id, "close": "、".join(exc.close) or "-"}
            raise ApiError(404, "unknown_item", "explain_unknown_item", params, "item_id",
                           params_en={**params, "close": ", ".join(exc.close) or "-"}) from None
        except RuleSetError as exc:
            raise rules_api_error(exc) from None
    request.state.rule_version = explanation.ruleset_version
    return Response(explanation.model_dump_json(), media_type="application/json")
