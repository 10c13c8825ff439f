"""Lookups several layers share: rows named by a person (by name or by id)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from autonomos.errors import NotFound
from autonomos.store.tables import Connection


def load_connection(session: Session, tenant_id: uuid.UUID, connection: str) -> Connection:
    """A tenant's connection by name or id; NotFound otherwise."""
    condition = Connection.name == connection
    try:
        condition = condition | (Connection.id == uuid.UUID(str(connection)))
    except ValueError:
        pass
    row = session.scalar(select(Connection).where(Connection.tenant_id == tenant_id, condition))
    if row is None:
        raise NotFound("no such connection", tenant=tenant_id, connection=connection)
    return row
