"""The request context: a request id, metrics and one log line per request.

A plain ASGI middleware rather than Starlette's ``BaseHTTPMiddleware``: that one runs every
request through a task group and memory streams, which cost more server time per request
than some of the routes themselves.
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from prometheus_client import Counter, Histogram
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from autonomos import logs
from autonomos.api import problems

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
REQUESTS = Counter("aos_api_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("aos_api_request_seconds", "HTTP request duration", ["method", "route"])
log = logs.get_logger("autonomos.api")


class RequestContext:
    """Gives each HTTP request an id (the client's ``X-Request-Id`` if well-formed, else a new
    one), echoes it, and counts, times and logs the request (ids only, never a header or body)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        sent = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status, sent = message["status"], True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:  # the problem answer carries the request id too
                log.error("unexpected error", error=type(exc).__name__, exc_info=exc)
                if sent:
                    raise
                status = 500
                await problems.problem(Request(scope), 500, "the server could not complete the request",
                                       kind="internal")(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(elapsed)
            who = state.get("principal")
            log.info("request", method=method, route=route, status=status, duration_ms=round(elapsed * 1000, 1),
                     key_id=str(who.key_id) if who else None, tenant_id=str(who.tenant_id) if who else None)
            structlog.contextvars.clear_contextvars()
