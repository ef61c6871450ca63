"""One JSON error shape for the whole service, and the one place that maps errors to HTTP.

Every error body is `{"error": {"code", "message", "field", "details"}}`. `code` is a
stable English code, and `message` is Chinese, or English when `Accept-Language` prefers it.
`field` is the path of the first fault (`members[0].age`) or null. `details` has one entry
per fault (field problems, or rule problems with file, line and column) or is null.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.errors import FieldProblem, InputError, Problem, RuleSetError, dotted_path, translate_field_error
from engine.inputs import load_json
from engine.messages import normalise_lang, render

logger = logging.getLogger(__name__)


class Detail(Protocol):
    def to_dict(self, lang: str = "zh") -> dict[str, object]: ...


class ErrorDetail(BaseModel):
    """The body of one error: also used for one failed item of a batch."""

    code: str = Field(description="错误代码（英文，稳定不变），如 invalid_household、unauthorized")
    message: str = Field(description="错误说明：默认中文，Accept-Language 为 en 时英文")
    field: str | None = Field(default=None, description="第一处错误的字段路径，如 members[0].age")
    details: list[dict[str, Any]] | None = Field(default=None, description="每处错误一项：字段路径或 文件:行:列")


class ErrorBody(BaseModel):
    """Every error response of the service has this shape."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "请求体无法解析（例如不是 UTF-8）"},
    401: {"model": ErrorBody, "description": "缺少 API 令牌或令牌无效"},
    403: {"model": ErrorBody, "description": "令牌的角色无权执行此操作"},
    413: {"model": ErrorBody, "description": "请求体或批量条数超过上限"},
    415: {"model": ErrorBody, "description": "请求体不是 JSON"},
    422: {"model": ErrorBody, "description": "输入有错误：error.field 为第一处错误的字段路径，details 列出每一处"},
}


class ApiError(Exception):
    """An error response: HTTP `status`, a stable `code` and the catalogue message `message_code`.

    `params` fill the message; `params_en`, when given, replace them in English, for a
    parameter that is itself a message (the first problem's text).
    """

    def __init__(self, status: int, code: str, message_code: str, params: dict[str, object] | None = None,
                 field: str | None = None, details: Sequence[Detail] = (), headers: dict[str, str] | None = None,
                 params_en: dict[str, object] | None = None):
        self.status = status
        self.code = code
        self.message_code = message_code
        self.params = params or {}
        self.params_en = params_en or self.params
        self.field = field
        self.details = list(details)
        self.headers = headers
        super().__init__(f"{code}: {render(message_code, 'en', **self.params_en)}")

    def detail(self, lang: str) -> ErrorDetail:
        return ErrorDetail(
            code=self.code,
            message=render(self.message_code, lang, **(self.params_en if lang == "en" else self.params)),
            field=self.field,
            details=[d.to_dict(lang) for d in self.details] or None,
        )


class BodyTooLarge(StarletteHTTPException):
    """Raised while reading a request body past the limit.

    It subclasses HTTPException because FastAPI's body parsing re-raises those to the
    exception handlers, and turns any other exception into a bare 400.
    """

    def __init__(self, limit: int):
        super().__init__(status_code=413, detail=f"request body larger than {limit} bytes")
        self.limit = limit


# Building errors from engine exceptions


def input_api_error(exc: InputError) -> ApiError:
    first = exc.problems[0]
    params = {"count": len(exc.problems), "field": first.path}
    return ApiError(422, exc.code, "http_invalid_input", {**params, "detail": first.message_zh}, first.path,
                    exc.problems, params_en={**params, "detail": first.message_en})


def rules_api_error(exc: RuleSetError, message_code: str = "http_rules_invalid", **params: object) -> ApiError:
    """Describe an invalid rule set; `details` lists errors first, then warnings."""
    problems = sorted(exc.problems, key=lambda p: p.severity != "error")
    first = problems[0] if problems else Problem("internal", {"detail": "no problem reported"})
    errors = sum(1 for p in problems if p.severity == "error")
    params = {"count": errors, "location": first.location(), **params}
    return ApiError(422, "rules_invalid", message_code, {**params, "detail": first.message("zh")}, first.path,
                    problems, params_en={**params, "detail": first.message("en")})


def request_lang(headers: Any) -> str:
    return normalise_lang(headers.get("accept-language"))


def error_response(error: ApiError, lang: str) -> JSONResponse:
    body = ErrorBody(error=error.detail(lang))
    return JSONResponse(body.model_dump(mode="json"), status_code=error.status, headers=error.headers)


# Validation errors of FastAPI's request parsing


def validation_api_error(exc: RequestValidationError) -> ApiError:
    """Turn FastAPI's request validation errors into field problems with Chinese messages."""
    errors = list(exc.errors())
    json_error = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if json_error is not None:
        return _json_syntax_error(json_error, getattr(exc, "body", None))

    if any(_is_raw_body(e) for e in errors):
        return ApiError(415, "unsupported_media_type", "http_media_type")

    problems = [_field_problem(e) for e in errors]
    return input_api_error(InputError(problems, code="invalid_request"))


def _is_raw_body(error: dict) -> bool:
    """FastAPI passes the raw bytes on when the Content-Type is not JSON."""
    return tuple(error.get("loc", ())) == ("body",) and isinstance(error.get("input"), bytes)


def _field_problem(error: dict) -> FieldProblem:
    loc = tuple(error.get("loc", ()))
    if loc[:1] == ("body",):
        loc = loc[1:]
    chinese, english = translate_field_error({**error, "input": _short(error.get("input"))})
    return FieldProblem(dotted_path(loc), error["type"], chinese, english)


def _short(value: object) -> object:
    """Shorten long inputs so that an error message never echoes a whole household back."""
    if isinstance(value, (dict, list, tuple, bytes)):
        return type(value).__name__
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _json_syntax_error(error: dict, document: object) -> ApiError:
    """Describe a JSON syntax error as `linli plan` does, by parsing the body again with the engine's reader."""
    text = document if isinstance(document, str) else ""
    try:
        load_json(text)
    except InputError as exc:
        return input_api_error(exc)

    # FastAPI did not hand over the text it failed to parse, so only its position is known.
    position = error["loc"][1] if len(error.get("loc", ())) > 1 else 0
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    detail = (error.get("ctx") or {}).get("error", "JSON decode error")
    params = {"line": line, "column": column, "detail": detail, "detail_zh": detail}
    problem = FieldProblem("$", "json_invalid", render("input_json", "zh", **params), render("input_json", "en", **params))
    return input_api_error(InputError([problem], code="invalid_json"))


# HTTP errors raised by Starlette itself (routing, body limit)


def http_api_error(exc: StarletteHTTPException, request: Request) -> ApiError:
    headers = dict(exc.headers) if exc.headers else None
    if isinstance(exc, BodyTooLarge):
        return ApiError(413, "body_too_large", "http_body_too_large", {"limit": exc.limit})
    if exc.status_code == 400 and exc.__cause__ is not None:
        # FastAPI reports a body it cannot decode (not UTF-8, for example) as a bare 400.
        detail = type(exc.__cause__).__name__
        return ApiError(400, "invalid_body", "http_invalid_body", {"detail": detail})
    if exc.status_code == 404:
        return ApiError(404, "not_found", "http_not_found", {"path": request.url.path}, headers=headers)
    if exc.status_code == 405:
        return ApiError(405, "method_not_allowed", "http_method_not_allowed",
                        {"path": request.url.path, "method": request.method}, headers=headers)
    return ApiError(exc.status_code, "http_error", "http_error", {"status": exc.status_code, "detail": exc.detail},
                    headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the exception handlers that map every known error to the JSON error shape."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc, request_lang(request.headers))

    @app.exception_handler(InputError)
    async def _input_error(request: Request, exc: InputError) -> JSONResponse:
        return error_response(input_api_error(exc), request_lang(request.headers))

    @app.exception_handler(RuleSetError)
    async def _rules_error(request: Request, exc: RuleSetError) -> JSONResponse:
        return error_response(rules_api_error(exc), request_lang(request.headers))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(validation_api_error(exc), request_lang(request.headers))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(http_api_error(exc, request), request_lang(request.headers))


class BodyLimitMiddleware:
    """Reject request bodies above `limit` bytes with 413, before or while they are read.

    A declared Content-Length above the limit gets the 413 response at once, without reading
    the body. A chunked body is counted as it arrives, and reading stops with `BodyTooLarge`.
    """

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            error = ApiError(413, "body_too_large", "http_body_too_large", {"limit": self.limit})
            lang = normalise_lang(scope_header(scope, b"accept-language"))
            await error_response(error, lang)(scope, receive, send)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, limited_receive, send)


def scope_header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _content_length(scope: Scope) -> int | None:
    value = scope_header(scope, b"content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
