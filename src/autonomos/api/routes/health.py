"""Liveness, readiness and metrics (no key needed: they reveal no tenant data)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from autonomos.store import migrate

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready: the checks say what is not.",
                                         "content": {"application/json": {}}}})
def readyz(request: Request) -> JSONResponse:
    """Postgres and Redis reachable, migrations at head; 503 naming what is not."""
    rt = request.app.state.rt
    checks: dict[str, str] = {}
    try:
        rt.db.lookup(text("SELECT 1"), {})
        checks["postgres"] = "ok"
    except Exception as exc:  # noqa: BLE001 - readiness reports, never raises
        checks["postgres"] = f"unreachable: {type(exc).__name__}"
    try:
        rt.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"unreachable: {type(exc).__name__}"
    try:
        state = migrate.state(rt.database_url)
        checks["migrations"] = "ok" if state.current == state.head else f"at {state.current}, head {state.head}"
    except Exception as exc:  # noqa: BLE001
        checks["migrations"] = f"unknown: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                        status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
