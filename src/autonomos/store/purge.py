"""Explicit purges of bulk tables.

``raw_records`` and ``raw_record_heads`` carry no foreign keys (a per-row check cost about a
third of the landing's database time), so deleting a connection or a tenant removes their
rows here, in the same transaction as the delete that would otherwise have cascaded.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete
from sqlalchemy.orm import Session

from autonomos.store.tables import RawRecord, RawRecordHead

BULK_TABLES = (RawRecord, RawRecordHead)


def purge_landed(session: Session, tenant_id: uuid.UUID, connection_id: uuid.UUID | None = None) -> int:
    """Delete a tenant's (or one of its connections') landed records; returns rows removed."""
    removed = 0
    for table in BULK_TABLES:
        statement = delete(table).where(table.tenant_id == tenant_id)
        if connection_id is not None:
            statement = statement.where(table.connection_id == connection_id)
        removed += session.execute(statement).rowcount
    return removed
