"""The FastAPI application: `create_app(settings)` wires routes, errors, auth, logs and metrics.

Other modules add endpoints by defining `router: fastapi.APIRouter` in one of
`OPTIONAL_ROUTERS`; `create_app` includes each one that exists. Their endpoints use
`service.state.get_registry` for the planner and `service.auth.require` for access control.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from service.auth import TokenStore
from service.http_errors import BodyLimitMiddleware, ErrorBody, install_error_handlers
from service.observability import RequestLogMiddleware, ServiceMetrics
from service.routes_plans import router as plans_router
from service.routes_rules import router as rules_router
from service.rules_watcher import RulesWatcher
from service.settings import Settings
from service.state import PlannerRegistry

logger = logging.getLogger(__name__)

OPTIONAL_ROUTERS = ("service.routes_batch", "service.routes_explain")

DESCRIPTION = """邻里（Linli）：为社区新居民生成融入计划。

除 /healthz、/readyz、/metrics 外，每个请求都要带 API 令牌：`Authorization: Bearer <令牌>`。
个案社工（caseworker）可以生成计划、查看目录与规则；规则管理员（rule_admin）可以查看、检查和重新加载规则。

错误一律返回 `{"error": {"code", "message", "field", "details"}}`，说明默认为中文；
请求头 `Accept-Language: en` 时为英文。
"""


class Health(BaseModel):
    status: str = Field(description="ok")


class Readiness(BaseModel):
    status: str = Field(description="ready")
    version: str = Field(description="正在使用的规则版本")


def create_app(settings: Settings) -> FastAPI:
    """Build the app: load the rules (raising `RuleSetError` if they are invalid) and wire everything.

    The rules watcher, when `settings.watch_rules` is on, runs while the app's lifespan runs
    (under uvicorn, or inside `with TestClient(app)`); the lifespan's end also closes the planners.
    """
    registry = PlannerRegistry(settings.rules_dir)
    registry.reload(source="startup")
    try:
        return _build_app(settings, registry)
    except BaseException:
        registry.close()
        raise


def _build_app(settings: Settings, registry: PlannerRegistry) -> FastAPI:
    app = FastAPI(title="邻里 Linli", version="0.1.0", description=DESCRIPTION, lifespan=_lifespan)
    app.state.settings = settings
    app.state.registry = registry
    app.state.tokens = TokenStore(settings.token_roles() if not settings.no_auth else {}, enabled=not settings.no_auth)
    app.state.metrics = ServiceMetrics(registry)
    app.state.watcher = RulesWatcher(registry, settings.watch_debounce_ms) if settings.watch_rules else None

    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(RequestLogMiddleware, metrics=app.state.metrics, planners=registry)

    app.include_router(plans_router)
    app.include_router(rules_router)
    _include_optional_routers(app)
    _add_probes(app)
    if settings.no_auth:
        logger.warning("authentication is off (--no-auth); serving on loopback host %s only", settings.host)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    watcher: RulesWatcher | None = app.state.watcher
    if watcher is not None:
        watcher.start()
    try:
        yield
    finally:
        if watcher is not None:
            watcher.stop()
        app.state.registry.close()


def _include_optional_routers(app: FastAPI) -> None:
    for name in OPTIONAL_ROUTERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            logger.debug("optional router %s is not installed", name)
            continue
        app.include_router(module.router)


def _add_probes(app: FastAPI) -> None:
    @app.get("/healthz", response_model=Health, tags=["运行状态 operations"], summary="存活检查")
    async def healthz() -> Health:
        return Health(status="ok")

    @app.get("/readyz", response_model=Readiness, tags=["运行状态 operations"], summary="就绪检查",
             description="规则已加载时返回 200，否则 503。",
             responses={503: {"model": ErrorBody, "description": "规则尚未加载"}})
    async def readyz(request: Request) -> Readiness:
        registry: PlannerRegistry = request.app.state.registry
        with registry.lease() as planner:
            return Readiness(status="ready", version=planner.version)

    @app.get("/metrics", tags=["运行状态 operations"], summary="Prometheus 指标",
             response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
    async def metrics(request: Request) -> Response:
        return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
