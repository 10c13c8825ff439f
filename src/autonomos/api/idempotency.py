"""``Idempotency-Key`` on POSTs that create or trigger: the first response is kept in
Postgres for 24 hours (table ``idempotency_keys``), a replay returns it, and the same key
with another body is refused with 422. Redis plays no part, so a flush changes nothing.

The key is claimed (a row without a response) before the work runs, so two concurrent
requests with one key do the work once; the loser gets 409 until the first one finishes.
A claim left behind by a crashed server is taken over after ``STALE_CLAIM``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import delete, func, text
from sqlalchemy.dialects.postgresql import insert

from autonomos.api.problems import ApiProblem
from autonomos.runtime import Runtime
from autonomos.services.apikeys import Principal
from autonomos.store.tables import IdempotencyKey

HEADER = "Idempotency-Key"
KEEP = "24 hours"
STALE_CLAIM = "5 minutes"


def _body_hash(request: Request, body: Any) -> str:
    payload = orjson.dumps([request.method, request.url.path, jsonable_encoder(body)], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(payload).hexdigest()


def run(request: Request, rt: Runtime, who: Principal, body: Any,
        work: Callable[[], tuple[int, Any]]) -> JSONResponse:
    """Do ``work`` (returning status and JSON body) once per ``Idempotency-Key``."""
    key = request.headers.get(HEADER)
    if key is None:
        status, content = work()
        return JSONResponse(jsonable_encoder(content), status_code=status)
    if not key or len(key) > 255:
        raise ApiProblem(422, "Idempotency-Key must be 1-255 characters", kind="validation",
                         errors=[{"field": "header.Idempotency-Key", "message": "1-255 characters", "type": "value"}])
    tenant, digest = who.tenant_id, _body_hash(request, body)
    table = IdempotencyKey.__table__
    with rt.db.tenant(tenant) as session:
        # The tenant's expired keys go (so the table holds one day of POSTs), and so does a
        # claim of this key abandoned by a crashed server.
        session.execute(delete(table).where(
            table.c.tenant_id == tenant, table.c.created_at < func.now() - text(f"interval '{KEEP}'")))
        session.execute(delete(table).where(
            table.c.tenant_id == tenant, table.c.key == key, table.c.status_code.is_(None),
            table.c.created_at < func.now() - text(f"interval '{STALE_CLAIM}'")))
        claimed = session.execute(insert(table).values(
            tenant_id=tenant, key=key, api_key_id=who.key_id, method=request.method, path=request.url.path,
            body_hash=digest).on_conflict_do_nothing().returning(table.c.key)).first()
        existing = None if claimed else session.execute(
            table.select().where(table.c.tenant_id == tenant, table.c.key == key)).mappings().first()
    if existing is not None:
        if existing["body_hash"] != digest:
            raise ApiProblem(422, "this Idempotency-Key was used with a different request", kind="idempotency-mismatch")
        if existing["status_code"] is None:
            raise ApiProblem(409, "a request with this Idempotency-Key is still in progress", kind="idempotency-in-progress")
        return JSONResponse(existing["response"], status_code=existing["status_code"],
                            headers={"Idempotent-Replayed": "true"})
    try:
        status, content = work()
    except BaseException:
        with rt.db.tenant(tenant) as session:
            session.execute(delete(table).where(table.c.tenant_id == tenant, table.c.key == key))
        raise
    encoded = jsonable_encoder(content)
    with rt.db.tenant(tenant) as session:
        session.execute(table.update().where(table.c.tenant_id == tenant, table.c.key == key)
                        .values(status_code=status, response=encoded))
    return JSONResponse(encoded, status_code=status)
