"""The landing's SQL (see ``landing``): every statement a batch runs, in one place.

All of them run in the caller's tenant transaction, so RLS applies; staging rows are selected by
their batch id and deleted before the commit.
"""

from __future__ import annotations

from sqlalchemy import text

_NEXT_RAW_ID = "nextval('raw_records_id_seq'::regclass)"

RESERVE_IDS = text(f"SELECT array_agg({_NEXT_RAW_ID}) FROM generate_series(1, :n)")
"""A batch's raw record ids, drawn before it is written so a head always names its row and ids
grow with commit order (a batch's unchanged records leave their ids unused: gaps only)."""

INSERT_VERSIONS = text(
    """
    WITH batch AS MATERIALIZED (
        -- One row per key: the lander keeps only a key's last occurrence in a batch.
        SELECT record_key, content_hash, payload, is_deleted, raw_record_id
        FROM landing_staging WHERE batch_id = :batch
    ), heads AS (
        -- The head's primary key is the ON CONFLICT arbiter: one index probe per key, and no
        -- write at all for a record whose content and deleted flag are unchanged.
        INSERT INTO raw_record_heads AS h
            (tenant_id, connection_id, stream, record_key, version, content_hash, is_deleted, raw_record_id)
        SELECT :tenant, :connection, :stream, record_key, 1, content_hash, is_deleted, raw_record_id FROM batch
        ON CONFLICT (tenant_id, connection_id, stream, record_key) DO UPDATE
            SET version = h.version + 1, content_hash = excluded.content_hash, is_deleted = excluded.is_deleted,
                raw_record_id = excluded.raw_record_id
            WHERE h.content_hash <> excluded.content_hash OR h.is_deleted <> excluded.is_deleted
        RETURNING h.record_key, h.version, h.raw_record_id
    ), inserted AS (
        INSERT INTO raw_records
            (id, tenant_id, connection_id, stream, record_key, version, content_hash, payload, is_deleted,
             sync_run_id)
        SELECT hd.raw_record_id, :tenant, :connection, :stream, b.record_key, hd.version, b.content_hash,
               b.payload::jsonb, b.is_deleted, :run
        FROM heads hd JOIN batch b USING (record_key)
        RETURNING is_deleted
    )
    SELECT count(*) FILTER (WHERE NOT is_deleted), count(*) FILTER (WHERE is_deleted),
           (SELECT count(*) FROM batch)
    FROM inserted
    """
)

INSERT_FIRST_VERSIONS = text(
    """
    WITH batch AS MATERIALIZED (
        SELECT record_key, content_hash, payload, is_deleted, raw_record_id
        FROM landing_staging WHERE batch_id = :batch
    ), heads AS (
        -- Keys the stream has never had: plain inserts, no arbitration (a key that does exist
        -- makes a unique key refuse the whole statement, and the caller falls back).
        INSERT INTO raw_record_heads
            (tenant_id, connection_id, stream, record_key, version, content_hash, is_deleted, raw_record_id)
        SELECT :tenant, :connection, :stream, record_key, 1, content_hash, is_deleted, raw_record_id FROM batch
    ), inserted AS (
        INSERT INTO raw_records
            (id, tenant_id, connection_id, stream, record_key, version, content_hash, payload, is_deleted,
             sync_run_id)
        SELECT raw_record_id, :tenant, :connection, :stream, record_key, 1, content_hash, payload::jsonb,
               is_deleted, :run
        FROM batch
        RETURNING is_deleted
    )
    SELECT count(*) FILTER (WHERE NOT is_deleted), count(*) FILTER (WHERE is_deleted), count(*)
    FROM inserted
    """
)

KEY_EXISTS = {"pk_raw_record_heads", "uq_raw_records_tenant_id_connection_id_stream_record_ke_cfa1"}
"""Constraints a plain first-version insert runs into when a key already has a version."""

STREAM_HAS_HEADS = text(
    """
    SELECT EXISTS (SELECT 1 FROM raw_record_heads
                   WHERE tenant_id = :tenant AND connection_id = :connection AND stream = :stream)
    """
)

REMEMBER_KEYS = text(
    """
    INSERT INTO sync_run_keys (tenant_id, sync_run_id, stream, record_key)
    SELECT :tenant, :run, :stream, record_key FROM landing_staging WHERE batch_id = :batch
    ON CONFLICT DO NOTHING
    """
)

CLEAR_STAGING = text("DELETE FROM landing_staging WHERE batch_id = :batch")

RECORD_MISSING_AS_DELETED = text(
    f"""
    WITH missing AS (
        SELECT record_key, raw_record_id AS previous_id FROM raw_record_heads h
        WHERE h.tenant_id = :tenant AND h.connection_id = :connection AND h.stream = :stream
          AND NOT h.is_deleted
          AND NOT EXISTS (
            SELECT 1 FROM sync_run_keys k
            WHERE k.tenant_id = :tenant AND k.sync_run_id = :run AND k.stream = :stream
              AND k.record_key = h.record_key)
    ), gone AS (
        UPDATE raw_record_heads h
        SET version = h.version + 1, is_deleted = true, raw_record_id = {_NEXT_RAW_ID}
        FROM missing m
        WHERE h.tenant_id = :tenant AND h.connection_id = :connection AND h.stream = :stream
          AND h.record_key = m.record_key
        RETURNING h.record_key, h.version, h.raw_record_id, m.previous_id
    ), inserted AS (
        -- The deleted version repeats the last known content, fetched by the head's row id.
        INSERT INTO raw_records
            (id, tenant_id, connection_id, stream, record_key, version, content_hash, payload, is_deleted,
             sync_run_id)
        SELECT g.raw_record_id, :tenant, :connection, :stream, g.record_key, g.version, r.content_hash,
               r.payload, true, :run
        FROM gone g CROSS JOIN LATERAL (
            SELECT content_hash, payload FROM raw_records
            WHERE tenant_id = :tenant AND connection_id = :connection AND stream = :stream
              AND id = g.previous_id OFFSET 0) r
        RETURNING 1
    )
    SELECT count(*) FROM inserted
    """
)
