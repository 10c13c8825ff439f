"""The Postgres side of one micro-batch: COPY into ``apply_staging``, then one statement that
writes events, current records and change log together (inside the caller's transaction).

A record gets an event only when its canonical output differs from the current record (or
it appears, or is deleted); the event id is deterministic and inserted with ``ON CONFLICT DO
NOTHING``, and the record and change-log rows are written only for events actually inserted,
so applying the same batch twice changes nothing. Records that failed coercion go to
quarantine (stage ``apply``) with their reason, once per open reason, and leave their
current canonical record as it was.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

_WRITE = text(
    """
    WITH s AS MATERIALIZED (
        SELECT seq, raw_record_id, record_key, record_id, event_id, is_deleted,
               CASE WHEN is_deleted THEN NULL ELSE jsonb_strip_nulls(data::jsonb) END AS data
        FROM apply_staging WHERE batch_id = :batch AND error IS NULL
    ), cur AS MATERIALIZED (
        SELECT s.*, c.id AS existing_id, c.data AS before, c.is_deleted AS was_deleted
        -- One probe of the natural key: every column of the only tenant-leading index of
        -- canonical_records is bound, so no statistics (stale on a fast-growing table) can
        -- talk the planner into scanning a tenant's records per row (OFFSET 0: keep it a probe).
        FROM s LEFT JOIN LATERAL (SELECT id, data, is_deleted FROM canonical_records
                                  WHERE tenant_id = :tenant AND entity = :entity AND connection_id = :connection
                                    AND stream = :stream AND record_key = s.record_key OFFSET 0) c ON true
    ), changed AS MATERIALIZED (
        SELECT cur.*, coalesce(existing_id, record_id) AS rid,
               CASE WHEN existing_id IS NULL OR was_deleted THEN NULL ELSE before END AS old
        FROM cur
        WHERE CASE WHEN is_deleted THEN existing_id IS NOT NULL AND NOT was_deleted
                   ELSE existing_id IS NULL OR was_deleted OR before IS DISTINCT FROM data END
    ), ev AS (
        INSERT INTO canonical_events AS e
            (id, tenant_id, entity, record_id, op, data, unknown_fields, source_system, connection_id, stream,
             record_key, raw_record_id, schema_fingerprint, mapping_version_id, trace_id)
        SELECT ch.event_id, :tenant, :entity, ch.rid, CASE WHEN ch.is_deleted THEN 'delete' ELSE 'upsert' END,
               coalesce(ch.data, '{}'::jsonb),
               CASE WHEN ch.is_deleted THEN '{}'::jsonb ELSE r.payload - CAST(:mapped AS text[]) END,
               :source_system, :connection, :stream, ch.record_key, ch.raw_record_id, :fingerprint, :version, :trace
        FROM changed ch CROSS JOIN LATERAL (
            SELECT payload FROM raw_records  -- every indexed column bound: any index the planner picks is a probe
            WHERE tenant_id = :tenant AND connection_id = :connection AND stream = :stream
              AND record_key = ch.record_key AND id = ch.raw_record_id OFFSET 0) r
        ORDER BY ch.seq
        ON CONFLICT (id) DO NOTHING
        RETURNING e.id
    ), written AS MATERIALIZED (
        SELECT ch.* FROM changed ch JOIN ev ON ev.id = ch.event_id
    ), rec AS (
        INSERT INTO canonical_records AS c
            (id, tenant_id, entity, connection_id, stream, record_key, data, is_deleted, version, last_event_id,
             mapping_version_id)
        SELECT rid, :tenant, :entity, :connection, :stream, record_key, coalesce(data, before), is_deleted, 1,
               event_id, :version
        FROM written
        ON CONFLICT (tenant_id, entity, connection_id, stream, record_key) DO UPDATE
            SET data = excluded.data, is_deleted = excluded.is_deleted, version = c.version + 1,
                last_event_id = excluded.last_event_id, mapping_version_id = excluded.mapping_version_id,
                updated_at = now()
        RETURNING 1
    ), log AS (
        INSERT INTO change_log (tenant_id, record_id, event_id, entity, before, after, diff)
        SELECT :tenant, w.rid, w.event_id, :entity, w.old, w.data,
               (SELECT coalesce(jsonb_object_agg(k, jsonb_build_object('before', w.old -> k, 'after', w.data -> k)),
                                '{}'::jsonb)
                FROM (SELECT jsonb_object_keys(coalesce(w.old, '{}'::jsonb))
                      UNION SELECT jsonb_object_keys(coalesce(w.data, '{}'::jsonb))) AS keys(k)
                WHERE (w.old -> k) IS DISTINCT FROM (w.data -> k))
        FROM written w
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM rec), (SELECT count(*) FROM log),
           (SELECT count(*) FROM written WHERE is_deleted)
    """
)

_QUARANTINE = text(
    """
    INSERT INTO quarantine (tenant_id, connection_id, stream, stage, reason, record_key, payload)
    SELECT :tenant, :connection, :stream, 'apply', s.error || ' (mapping version ' || :number || ')',
           s.record_key, r.payload
    FROM apply_staging s JOIN raw_records r ON r.id = s.raw_record_id
    WHERE s.batch_id = :batch AND s.error IS NOT NULL
      AND NOT EXISTS (
        SELECT 1 FROM quarantine q
        WHERE q.tenant_id = :tenant AND q.connection_id = :connection AND q.stream = :stream
          AND q.stage = 'apply' AND q.status = 'open' AND q.record_key = s.record_key
          AND q.reason = s.error || ' (mapping version ' || :number || ')')
    """
)

_CLEAR = text("DELETE FROM apply_staging WHERE batch_id = :batch")


@dataclass
class WriteResult:
    """What one batch wrote (summed into the apply run's counts)."""

    read: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    quarantined: int = 0

    def add(self, other: WriteResult) -> None:
        self.read += other.read
        self.changed += other.changed
        self.unchanged += other.unchanged
        self.deleted += other.deleted
        self.quarantined += other.quarantined

    def as_dict(self) -> dict[str, int]:
        return {"read": self.read, "changed": self.changed, "unchanged": self.unchanged, "deleted": self.deleted,
                "quarantined": self.quarantined}


@dataclass(frozen=True)
class Target:
    """Everything the statement needs to know about the mapping version being applied."""

    tenant_id: uuid.UUID
    entity: str
    connection_id: uuid.UUID
    stream: str
    source_system: str
    mapping_version_id: uuid.UUID
    version: int
    mapped_keys: tuple[str, ...]
    fingerprint: str | None
    trace_id: str | None


def write_batch(session: Session, target: Target, batch_id: uuid.UUID, copy_text: str, failed: int,
                read: int) -> WriteResult:
    """COPY the batch in and write its events, records, change log and quarantine rows."""
    if not copy_text:
        return WriteResult()
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(
        "COPY apply_staging (batch_id, seq, raw_record_id, record_key, record_id, event_id, data, is_deleted, error)"
        " FROM STDIN"
    ) as copy:
        copy.write(copy_text)
    params = {"batch": batch_id, "tenant": target.tenant_id, "entity": target.entity,
              "connection": target.connection_id, "stream": target.stream, "source_system": target.source_system,
              "version": target.mapping_version_id, "mapped": list(target.mapped_keys),
              "fingerprint": target.fingerprint, "trace": target.trace_id}
    # The batch's CTEs and sort stay in memory. The planner believes each CTE holds a row or two
    # and would join thousands of events pairwise; the LATERAL probes stay nested loops anyway.
    session.execute(text("SET LOCAL work_mem = '256MB'"))
    session.execute(text("SET LOCAL enable_nestloop = off"))
    good, records, logged, deleted = session.execute(_WRITE, params).one()
    session.execute(text("SET LOCAL enable_nestloop = on"))
    if failed:
        session.execute(_QUARANTINE, {**params, "number": str(target.version)})
    session.execute(_CLEAR, {"batch": batch_id})
    if records != logged:  # one statement wrote both; a mismatch would be a bug worth stopping for
        raise RuntimeError(f"apply wrote {records} records but {logged} change-log rows")
    return WriteResult(read=read, changed=records, unchanged=good - records, deleted=deleted, quarantined=failed)
