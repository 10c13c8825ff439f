"""The FastAPI application: one per server process, over one ``Runtime``.

Every request gets a request id (the client's ``X-Request-Id`` if well-formed, else a new
one), echoed in the response and bound into the log context with the key id and tenant
once the key is verified; one JSON log line per request says method, route, status and
duration, never a header or a body. ``/docs`` is served from the package (no CDN).
"""

from __future__ import annotations

import re
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from prometheus_client import Counter, Histogram

from autonomos import logs
from autonomos.api import openapi, problems
from autonomos.api.auth import KeyCache, RevocationListener
from autonomos.api.routes import (catalogue, connections, health, history, keys, mappings, notifications, ontology,
                                  proposals, quarantine, records, runs, settings, snapshots, tenants, webhooks)
from autonomos.console import create_console
from autonomos.runtime import Runtime

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
REQUESTS = Counter("aos_api_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("aos_api_request_seconds", "HTTP request duration", ["method", "route"])
log = logs.get_logger("autonomos.api")


def _swagger_dir() -> Path | None:
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    return Path(swagger_ui_path)


def create_app(rt: Runtime, *, listen_for_revocations: bool = True, close_runtime: bool = False) -> FastAPI:
    """The application over ``rt``; ``close_runtime`` hands ``rt`` to it (closed at shutdown)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        listener = RevocationListener(rt, app.state.key_cache) if listen_for_revocations else None
        if listener:
            listener.start()
        try:
            yield
        finally:
            if listener:
                listener.stop()
            if close_runtime:
                rt.close()

    app = FastAPI(title="AutonomOS AAM/DCL", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Tenant-scoped access to connections, syncs, reviews, mappings and canonical data. "
                              "Authenticate with `Authorization: Bearer <key>` (`aos apikey create`).")
    app.state.rt = rt
    app.state.key_cache = KeyCache()
    problems.install(app)
    for module in (health, connections, catalogue, snapshots, runs, quarantine, ontology, proposals, mappings,
                   records, history, keys, settings, tenants, notifications, webhooks):
        app.include_router(module.router)
    openapi.install(app)
    _docs(app)
    app.mount("/console", create_console(rt), name="console")

    @app.middleware("http")
    async def request_context(request: Request, call_next):
        given = request.headers.get("x-request-id", "")
        request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        request.state.request_id = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        try:
            try:
                response = await call_next(request)
            except Exception as exc:  # the problem answer carries the request id too
                log.error("unexpected error", error=type(exc).__name__, exc_info=exc)
                response = problems.problem(request, 500, "the server could not complete the request",
                                            kind="internal")
            status = response.status_code
            response.headers["X-Request-Id"] = request_id
            return response
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(request.scope.get("route"), "path", "unmatched")
            REQUESTS.labels(request.method, route, str(status)).inc()
            LATENCY.labels(request.method, route).observe(elapsed)
            who = getattr(request.state, "principal", None)
            log.info("request", method=request.method, route=route, status=status,
                     duration_ms=round(elapsed * 1000, 1),
                     key_id=str(who.key_id) if who else None, tenant_id=str(who.tenant_id) if who else None)
            structlog.contextvars.clear_contextvars()

    return app


def _docs(app: FastAPI) -> None:
    assets = _swagger_dir()
    if assets is not None:
        app.mount("/docs/assets", StaticFiles(directory=assets), name="docs-assets")

        @app.get("/docs", include_in_schema=False)
        def docs():
            return get_swagger_ui_html(openapi_url="/openapi.json", title="AutonomOS API",
                                       swagger_js_url="/docs/assets/swagger-ui-bundle.js",
                                       swagger_css_url="/docs/assets/swagger-ui.css",
                                       swagger_favicon_url="/docs/assets/favicon-32x32.png")
