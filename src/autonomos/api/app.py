"""The FastAPI application: one per server process, over one ``Runtime``.

Every request gets a request id (the client's ``X-Request-Id`` if well-formed, else a new
one), echoed in the response and bound into the log context with the key id and tenant
once the key is verified; one JSON log line per request says method, route, status and
duration, never a header or a body. ``/docs`` is served from the package (no CDN).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles

from autonomos.api import openapi, problems
from autonomos.api.auth import KeyCache, RateLimiter, RevocationListener
from autonomos.api.context import RequestContext
from autonomos.api.routes import (catalogue, connections, drift, health, history, keys, mappings, notifications,
                                  ontology, proposals, quarantine, records, runs, settings, snapshots, tenants, webhooks)
from autonomos.console import create_console
from autonomos.runtime import Runtime


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
            await rt.db.reads.close()  # this loop's pipelined-read connections
            if close_runtime:
                rt.close()

    app = FastAPI(title="AutonomOS AAM/DCL", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Tenant-scoped access to connections, syncs, reviews, mappings and canonical data. "
                              "Authenticate with `Authorization: Bearer <key>` (`aos apikey create`).")
    app.state.rt = rt
    app.state.key_cache = KeyCache()
    app.state.key_verifications = {}  # verifications in flight, by (event loop, key fingerprint)
    app.state.rate_limiter = RateLimiter(rt)
    problems.install(app)
    # The record reads first: they are the busiest routes, and a request is matched against
    # the routes in order (no two routers share a path).
    for module in (records, health, connections, catalogue, snapshots, runs, quarantine, ontology, proposals, drift,
                   mappings, history, keys, settings, tenants, notifications, webhooks):
        app.include_router(module.router)
    openapi.install(app)
    _docs(app)
    app.mount("/console", create_console(rt), name="console")

    app.add_middleware(RequestContext)
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
