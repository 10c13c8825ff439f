"""Connections: credentials are write-only (a response says only whether there are some);
``test`` asks the connector, ``reset`` forgets cursors, ``streams`` lists what was read."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request, Response

from autonomos.api import idempotency
from autonomos.api.deps import RT, AdminTenant, Caller, Cursor, Limit, ReaderTenant
from autonomos.api.models import Connection, ConnectionTest, CursorReset, Page, Stream
from autonomos.api.pagination import page_of
from autonomos.api.schemas import ConnectionCreate, ConnectionUpdate
from autonomos.api.schemas import CursorReset as CursorResetBody
from autonomos.services import connections, drift, streams, sync
from autonomos.services.connections import ConnectionInfo

router = APIRouter(prefix="/connections", tags=["connections"])


def view(info: ConnectionInfo) -> dict[str, Any]:
    out = asdict(info)
    out.pop("tenant_id")
    return out


def _own(rt, tenant: uuid.UUID, connection_id: uuid.UUID) -> ConnectionInfo:
    # By id only: a name in the path would let one route answer for two objects.
    return connections.get_connection(rt, tenant, str(connection_id))


@router.get("", response_model=Page[Connection])
def list_connections(rt: RT, tenant: ReaderTenant, cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    page = page_of(connections.list_connections(rt, tenant), lambda c: (c.name, c.id), cursor, limit)
    return {**page, "items": [view(c) for c in page["items"]]}


@router.post("", status_code=201, response_model=Connection)
def create_connection(body: ConnectionCreate, request: Request, rt: RT, who: Caller, tenant: AdminTenant):
    def work():
        info = connections.create_connection(rt, tenant, provider=body.provider, name=body.name, config=body.config,
                                             credentials=body.credentials, schedule=body.schedule, actor=who.actor)
        return 201, view(info)

    return idempotency.run(request, rt, who, body.model_dump(), work)


@router.get("/{connection_id}", response_model=Connection)
def show_connection(connection_id: uuid.UUID, rt: RT, tenant: ReaderTenant) -> dict[str, Any]:
    return view(_own(rt, tenant, connection_id))


@router.patch("/{connection_id}", response_model=Connection)
def update_connection(connection_id: uuid.UUID, body: ConnectionUpdate, rt: RT, who: Caller,
                      tenant: AdminTenant) -> dict[str, Any]:
    """Change config, credentials (write-only), schedule or drift policy (streams the new policy
    no longer holds are released and applied)."""
    _own(rt, tenant, connection_id)
    info = None
    changes = body.model_dump(exclude_unset=True, exclude={"credentials", "drift_policy"})
    if changes:
        info = connections.update_connection(rt, tenant, str(connection_id), actor=who.actor, **changes)
    if body.credentials is not None:
        connections.set_credentials(rt, tenant, str(connection_id), body.credentials, actor=who.actor)
    if body.drift_policy is not None:
        drift.set_policy(rt, tenant, str(connection_id), body.drift_policy, actor=who.actor)
    stale = body.credentials is not None or body.drift_policy is not None or info is None
    return view(_own(rt, tenant, connection_id) if stale else info)


@router.delete("/{connection_id}", status_code=204, response_class=Response)
def delete_connection(connection_id: uuid.UUID, rt: RT, who: Caller, tenant: AdminTenant) -> Response:
    _own(rt, tenant, connection_id)
    connections.delete_connection(rt, tenant, str(connection_id), actor=who.actor)
    return Response(status_code=204)


@router.post("/{connection_id}/test", response_model=ConnectionTest)
def test_connection(connection_id: uuid.UUID, rt: RT, tenant: AdminTenant) -> dict[str, Any]:
    """Ask the connector whether it can connect (an unreachable source is ``ok: false``, not an error)."""
    result = connections.test_connection(rt, tenant, str(_own(rt, tenant, connection_id).id))
    return {"ok": result.ok, "message": result.message}


@router.post("/{connection_id}/reset", response_model=CursorReset)
def reset_cursors(connection_id: uuid.UUID, body: CursorResetBody, rt: RT, who: Caller,
                  tenant: AdminTenant) -> dict[str, Any]:
    """Forget the cursors (all streams or one): the next sync reads from the start (409 while a sync is active)."""
    info = _own(rt, tenant, connection_id)
    removed = sync.reset_sync(rt, tenant, info.id, stream=body.stream, actor=who.actor)
    return {"connection_id": info.id, "stream": body.stream, "cursors_removed": removed}


@router.get("/{connection_id}/streams", response_model=Page[Stream])
def list_streams(connection_id: uuid.UUID, rt: RT, tenant: ReaderTenant, cursor: Cursor = None,
                 limit: Limit = 100) -> dict[str, Any]:
    """The connection's streams: cursor, latest schema fingerprint and snapshot count."""
    info = _own(rt, tenant, connection_id)
    return page_of(streams.list_streams(rt, tenant, info.id), lambda s: s["stream"], cursor, limit)
