"""Explicit purges of bulk tables.

The bulk tables carry no foreign keys (a per-row check cost about a third of the landing's
database time and a sixth of the apply's), so deleting a connection or a tenant removes their
rows here, in the same transaction as the delete that would otherwise have cascaded:

* ``raw_records`` and ``raw_record_heads`` belong to a connection: purged with it or with the tenant;
* ``canonical_events``, ``canonical_records`` and ``change_log`` belong to the tenant only (a
  connection's canonical history outlives the connection, as it did under the cascade from
  ``tenants``): purged with the tenant.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete
from sqlalchemy.orm import Session

from autonomos.store.tables import CanonicalEvent, CanonicalRecord, ChangeLog, RawRecord, RawRecordHead

BULK_TABLES = (RawRecord, RawRecordHead)
"""Bulk tables of a connection."""

TENANT_BULK_TABLES = (CanonicalEvent, CanonicalRecord, ChangeLog)
"""Bulk tables of a tenant (not of any one connection)."""


def purge_landed(session: Session, tenant_id: uuid.UUID, connection_id: uuid.UUID | None = None) -> int:
    """Delete a tenant's bulk rows (or one of its connections' landed records); returns rows removed."""
    removed = 0
    for table in BULK_TABLES:
        statement = delete(table).where(table.tenant_id == tenant_id)
        if connection_id is not None:
            statement = statement.where(table.connection_id == connection_id)
        removed += session.execute(statement).rowcount
    if connection_id is None:
        for table in TENANT_BULK_TABLES:
            removed += session.execute(delete(table).where(table.tenant_id == tenant_id)).rowcount
    return removed
