"""Errors as ``application/problem+json`` (RFC 9457): one mapping from the exception tree to
HTTP statuses, validation errors with the failing fields, and never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from autonomos.aam.connectors.sandbox import SourceRefused
from autonomos.errors import (
    AutonomosError,
    ConfigurationError,
    Conflict,
    EngineUnavailable,
    NotFound,
    TenantContextMissing,
)

logger = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://autonomos.dev/problems/"

STATUS_OF: list[tuple[type[AutonomosError], int]] = [
    (NotFound, 404),
    (Conflict, 409),
    (TenantContextMissing, 400),
    (EngineUnavailable, 503),
    (SourceRefused, 422),  # a connection config reaching outside the tenant's sandbox: the caller's input
    (ConfigurationError, 500),
]
"""First match wins (most specific first); any other product error is the caller's input: 422."""

TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
          405: "Method not allowed", 409: "Conflict", 415: "Unsupported media type",
          422: "Unprocessable content", 429: "Too many requests", 500: "Internal server error",
          503: "Service unavailable"}


class ApiProblem(AutonomosError):
    """Raised by routes and dependencies for an HTTP-level refusal (401, 403, 429, 422...)."""

    def __init__(self, status: int, detail: str, *, kind: str | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.detail, self.kind, self.headers, self.extra = status, detail, kind, headers or {}, extra


def problem(request: Request, status: int, detail: str, *, kind: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    title = TITLES.get(status, "Error")
    body = {"type": TYPE_BASE + (kind or title.lower().replace(" ", "-")), "title": title, "status": status,
            "detail": detail, "instance": request.url.path, **extra}
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def status_of(exc: AutonomosError) -> int:
    for cls, status in STATUS_OF:
        if isinstance(exc, cls):
            return status
    return 503 if exc.transient else 422


def _fields(exc: RequestValidationError) -> list[dict[str, Any]]:
    # The failing input itself is left out: it may be a credential.
    return [{"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", ""),
             "type": e.get("type", "")} for e in exc.errors()]


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem(request, exc.status, exc.detail, kind=exc.kind, headers=exc.headers, **exc.extra)

    @app.exception_handler(AutonomosError)
    async def _product_error(request: Request, exc: AutonomosError) -> JSONResponse:
        status = status_of(exc)
        if status >= 500:
            logger.warning("request failed: %s", type(exc).__name__, extra={"error": exc.message})
            detail = exc.message if status == 503 else "the server could not complete the request"
        else:
            detail = exc.message
        # an internal error's context names server internals: only the caller's own errors carry it
        context = {k: str(v) for k, v in exc.context.items() if k not in ("tenant",)} if status < 500 else {}
        return problem(request, status, detail, kind=type(exc).__name__, **({"context": context} if context else {}))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _fields(exc)
        if any(e["type"] == "json_invalid" for e in errors):
            return problem(request, 400, "the request body is not valid JSON", kind="malformed-json", errors=errors)
        return problem(request, 422, "the request has invalid fields", kind="validation", errors=errors)

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> JSONResponse:
        # Postgres refused a value the request carried (a NUL character in a string, a number
        # out of its column's range): the caller's input, not a server fault.
        logger.info("request value refused by the store: %s", type(exc.orig).__name__)
        return problem(request, 422, "the request holds a value that cannot be stored (e.g. a NUL character "
                                     "or a number out of range)", kind="validation")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
        return problem(request, exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("unexpected error: %s", type(exc).__name__, exc_info=exc)
        return problem(request, 500, "the server could not complete the request", kind="internal")
