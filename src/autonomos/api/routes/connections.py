"""Connections: credentials are write-only (a response says only whether there are some)."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request, Response

from autonomos.api import idempotency
from autonomos.api.deps import RT, AdminTenant, Caller, Cursor, Limit, ReaderTenant
from autonomos.api.pagination import page_of
from autonomos.api.schemas import ConnectionCreate, ConnectionUpdate
from autonomos.services import connections
from autonomos.services.connections import ConnectionInfo

router = APIRouter(prefix="/connections", tags=["connections"])


def view(info: ConnectionInfo) -> dict[str, Any]:
    out = asdict(info)
    out.pop("tenant_id")
    return out


def _own(rt, tenant: uuid.UUID, connection_id: uuid.UUID) -> ConnectionInfo:
    # By id only: a name in the path would let one route answer for two objects.
    return connections.get_connection(rt, tenant, str(connection_id))


@router.get("")
def list_connections(rt: RT, tenant: ReaderTenant, cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    page = page_of(connections.list_connections(rt, tenant), lambda c: (c.name, c.id), cursor, limit)
    return {**page, "items": [view(c) for c in page["items"]]}


@router.post("", status_code=201)
def create_connection(body: ConnectionCreate, request: Request, rt: RT, who: Caller, tenant: AdminTenant):
    def work():
        info = connections.create_connection(rt, tenant, provider=body.provider, name=body.name, config=body.config,
                                             credentials=body.credentials, schedule=body.schedule, actor=who.actor)
        return 201, view(info)

    return idempotency.run(request, rt, who, body.model_dump(), work)


@router.get("/{connection_id}")
def show_connection(connection_id: uuid.UUID, rt: RT, tenant: ReaderTenant) -> dict[str, Any]:
    return view(_own(rt, tenant, connection_id))


@router.patch("/{connection_id}")
def update_connection(connection_id: uuid.UUID, body: ConnectionUpdate, rt: RT, who: Caller,
                      tenant: AdminTenant) -> dict[str, Any]:
    _own(rt, tenant, connection_id)
    info = None
    changes = body.model_dump(exclude_unset=True, exclude={"credentials"})
    if changes:
        info = connections.update_connection(rt, tenant, str(connection_id), actor=who.actor, **changes)
    if body.credentials is not None:
        connections.set_credentials(rt, tenant, str(connection_id), body.credentials, actor=who.actor)
    return view(_own(rt, tenant, connection_id) if body.credentials is not None or info is None else info)


@router.delete("/{connection_id}", status_code=204)
def delete_connection(connection_id: uuid.UUID, rt: RT, who: Caller, tenant: AdminTenant) -> Response:
    _own(rt, tenant, connection_id)
    connections.delete_connection(rt, tenant, str(connection_id), actor=who.actor)
    return Response(status_code=204)
