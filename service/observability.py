"""Request logs as JSON lines and Prometheus metrics.

One log line per request carries the request id, method, route template, status,
latency in milliseconds and the rule version. Bodies, query strings and headers other
than the request id are never logged, so no household data reaches the logs.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.messages import normalise_lang
from service.http_errors import ApiError, error_response, scope_header
from service.state import PlannerRegistry

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_UNMATCHED_ROUTE = "<unmatched>"


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object; fields passed as `extra={"fields": {...}}` are merged in."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(getattr(record, "fields", {}))
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def configure_json_logging(level: str = "INFO") -> None:
    """Send every log record, uvicorn's included, to standard error as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


class ServiceMetrics:
    """The service's Prometheus metrics, in a registry of its own so that apps do not share them."""

    def __init__(self, planners: PlannerRegistry):
        self.registry = CollectorRegistry()
        self.requests = Counter("linli_http_requests", "HTTP requests by route, method and status",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("linli_http_request_duration_seconds", "HTTP request latency by route",
                                 ["route", "method"], registry=self.registry,
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self.plans = Counter("linli_plans", "Plans made, by segment", ["segment"], registry=self.registry)
        self.registry.register(_RulesCollector(planners))

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)


class _RulesCollector(Collector):
    """Rule-set metrics read from the planner registry at scrape time."""

    def __init__(self, planners: PlannerRegistry):
        self.planners = planners

    def collect(self):
        status = self.planners.status()
        info = InfoMetricFamily("linli_rules", "The rule set being served")
        info.add_metric([], {"version": status.version or ""})
        yield info
        loaded = GaugeMetricFamily("linli_rules_loaded_timestamp_seconds", "When the serving rule set was loaded")
        loaded.add_metric([], status.loaded_at.timestamp() if status.loaded_at else 0.0)
        yield loaded
        reloads = CounterMetricFamily("linli_rules_reloads", "Rule reloads by outcome", labels=["outcome"])
        reloads.add_metric(["success"], status.reloads)
        reloads.add_metric(["failure"], status.failed_reloads)
        yield reloads
        failing = GaugeMetricFamily("linli_rules_last_reload_failed", "1 while the latest reload attempt failed")
        failing.add_metric([], 1.0 if status.last_error else 0.0)
        yield failing


class RequestLogMiddleware:
    """Give each request an id, log one JSON line for it, count it, and turn a crash into a 500.

    The request id comes from an `X-Request-ID` header when it is short and plain, else it
    is generated. It is echoed in the response and stored as `request.state.request_id`.
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, planners: PlannerRegistry):
        self.app = app
        self.metrics = metrics
        self.planners = planners

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        request_id = _request_id(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER.encode(), request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception("unhandled error in request %s", request_id,
                             extra={"fields": {"request_id": request_id, "route": _route(scope)}})
            if response_started:
                raise
            error = ApiError(500, "internal", "http_internal", {"request_id": request_id})
            await error_response(error, _lang(scope))(scope, receive, send_with_id)
        finally:
            self._finish(scope, state, request_id, status, time.perf_counter() - started)

    def _finish(self, scope: Scope, state: dict, request_id: str, status: int, seconds: float) -> None:
        route = _route(scope)
        self.metrics.observe(route, scope["method"], status, seconds)
        fields = {
            "request_id": request_id,
            "method": scope["method"],
            "route": route,
            "status": status,
            "latency_ms": round(seconds * 1000, 2),
            "rule_version": state.get("rule_version") or self.planners.version,
        }
        if "roles" in state:
            fields["roles"] = state["roles"]
        logger.info("request", extra={"fields": fields})


def _request_id(scope: Scope) -> str:
    given = scope_header(scope, REQUEST_ID_HEADER.encode())
    return given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex


def _route(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or _UNMATCHED_ROUTE


def _lang(scope: Scope) -> str:
    return normalise_lang(scope_header(scope, b"accept-language"))
