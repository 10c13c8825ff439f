"""Profile a stream's landed records and store the schema snapshot they describe.

The sample is the latest version of each record key that is not deleted, up to
``sample_limit`` records, read in one tenant transaction; profiling then runs in an
ephemeral DuckDB with the configured memory limit, and the snapshot is written in a
second tenant transaction (no database transaction stays open while DuckDB works).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import distinct_on

from autonomos.dcl.profiling import SnapshotInfo, profile_records, store_snapshot
from autonomos.store.lookups import load_connection
from autonomos.errors import NotFound
from autonomos.runtime import Runtime
from autonomos.store.tables import RawRecord

DEFAULT_SAMPLE = 10_000


def profile_stream(
    rt: Runtime, tenant_id: uuid.UUID, connection: str, stream: str, *, sample_limit: int = DEFAULT_SAMPLE
) -> SnapshotInfo:
    with rt.db.tenant(tenant_id) as session:
        connection_id = _connection_id(session, tenant_id, connection)
        latest = (select(RawRecord.payload, RawRecord.is_deleted)
                  .where(RawRecord.tenant_id == tenant_id, RawRecord.connection_id == connection_id,
                         RawRecord.stream == stream)
                  .ext(distinct_on(RawRecord.record_key))
                  .order_by(RawRecord.record_key, RawRecord.version.desc())
                  .subquery())
        payloads = list(session.scalars(select(latest.c.payload).where(latest.c.is_deleted.is_(False))
                                        .limit(sample_limit)))
    if not payloads:
        raise NotFound("no landed records to profile", tenant=tenant_id, connection=connection, stream=stream)
    profile = profile_records(payloads, memory_limit=rt.settings.duckdb_memory_limit)
    with rt.db.tenant(tenant_id) as session:
        return store_snapshot(session, tenant_id, connection_id, stream, profile)


def _connection_id(session, tenant_id: uuid.UUID, connection: str) -> uuid.UUID:
    return load_connection(session, tenant_id, connection).id
