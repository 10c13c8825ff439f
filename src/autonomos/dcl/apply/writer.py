"""The Postgres side of apply: COPY each micro-batch into a temporary table, then one statement
that writes its events, current records and change log together.

``write_batches`` writes a run's batches on up to ``writers`` connections at once
(``OrderedWriters``, as the sync landing does): batches in flight never share a record, and
each commits only after every earlier one, so a record's events commit in order and a crash
or a newer publish leaves a committed prefix. Each batch's event ``seq`` values are drawn in
read order before it is written, so ``seq`` also grows with commit order and a consumer's
cursor never passes an event that commits later. The run holds the mapping's advisory lock
(in a transaction of its own that only waits) while it writes: no other apply of the mapping
writes meanwhile, which is what makes the natural-key probe below exact.

A record gets an event only when its canonical output differs from the current record (or
it appears, or is deleted); the event id is deterministic and written only if absent, and
the record and change-log rows are written with their events, so applying the same batch
twice changes nothing. Batches are read ahead of the transaction that writes them, so a
row is written only if its raw record version is still the record's head (a newer landed
version is applied by a later run; an older one is never written over it). Records that
failed coercion go to quarantine (stage ``apply``) with their reason, once per open reason,
and leave their current canonical record as it was; a record that applies closes its open
apply-stage items (a later version fixed what an earlier one could not map).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from autonomos.dcl.apply.exceptions import ApplyError
from autonomos.ordered_writers import OrderedWriters, WaitTurn
from autonomos.store.database import Database

_STAGE = text(
    "CREATE TEMP TABLE apply_batch (seq integer NOT NULL, raw_record_id bigint NOT NULL, raw_version integer NOT NULL,"
    " record_key text NOT NULL, record_id uuid NOT NULL, event_id uuid NOT NULL, data text, is_deleted boolean NOT NULL,"
    " error text, unknown_fields text) ON COMMIT DROP"
)
"""The batch's rows, COPYed in: private to the transaction and dropped with it (no index to
maintain, no rows to delete, no dead rows left for VACUUM)."""

# The heads and current records of a batch's rows. An incremental batch holds any keys: each is
# a LATERAL probe of a unique index with all its columns bound (OFFSET 0 keeps it a per-row
# probe the planner cannot turn into a join: row estimates for fast-growing tables are
# meaningless, and a misjudged join here scans a whole table per row). A backfill batch holds
# every head of one key range, read in key order: both are one index range scan over
# [first, last], hash-joined, at a fraction of a probe's cost per row.
_PROBES = """
        CROSS JOIN LATERAL (SELECT version FROM raw_record_heads
                            WHERE tenant_id = :tenant AND connection_id = :connection AND stream = :stream
                              AND record_key = st.record_key OFFSET 0) h
        LEFT JOIN LATERAL (SELECT id, data, is_deleted FROM canonical_records
                           WHERE tenant_id = :tenant AND entity = :entity AND connection_id = :connection
                             AND stream = :stream AND record_key = st.record_key OFFSET 0) c ON true
"""
_RANGES = """
        JOIN (SELECT record_key, version FROM raw_record_heads
              WHERE tenant_id = :tenant AND connection_id = :connection AND stream = :stream
                AND record_key >= :first AND record_key <= :last) h ON h.record_key = st.record_key
        LEFT JOIN (SELECT record_key, id, data, is_deleted FROM canonical_records
                   WHERE tenant_id = :tenant AND entity = :entity AND connection_id = :connection
                     AND stream = :stream AND record_key >= :first AND record_key <= :last) c
          ON c.record_key = st.record_key
"""

# Events are checked by their primary key through ON CONFLICT, never by a planned probe: with a
# new tenant's stale statistics the planner once chose the (tenant, entity, seq) index for
# ``id = ...`` and scanned the tenant's events per row. The advisory lock makes the natural-key
# lookup exact, so a new record is a plain INSERT (ON CONFLICT's speculative insertion costs
# about a fifth of an insert) and only an existing one goes through ON CONFLICT ... DO UPDATE.
_WRITE = """
    WITH s AS MATERIALIZED (
        SELECT st.seq, st.raw_record_id, st.record_key, st.record_id, st.event_id, st.is_deleted,
               st.unknown_fields, CASE WHEN st.is_deleted THEN NULL ELSE jsonb_strip_nulls(st.data::jsonb) END AS data,
               c.id AS existing_id, c.data AS before, c.is_deleted AS was_deleted
        FROM apply_batch st
        {lookups}
        WHERE st.error IS NULL AND h.version = st.raw_version
    ), candidates AS MATERIALIZED (
        SELECT s.*, coalesce(existing_id, record_id) AS rid,
               CASE WHEN existing_id IS NULL OR was_deleted THEN NULL ELSE before END AS old
        FROM s
        WHERE CASE WHEN is_deleted THEN existing_id IS NOT NULL AND NOT was_deleted
                   ELSE existing_id IS NULL OR was_deleted OR before IS DISTINCT FROM data END
    ), ev AS (
        INSERT INTO canonical_events
            (id, seq, tenant_id, entity, record_id, op, data, unknown_fields, source_system, connection_id, stream,
             record_key, raw_record_id, schema_fingerprint, mapping_version_id, trace_id)
        SELECT event_id, (SELECT CAST(:seqs AS bigint[]))[seq + 1], :tenant, :entity, rid,
               CASE WHEN is_deleted THEN 'delete' ELSE 'upsert' END,
               coalesce(data, '{}'::jsonb),
               CASE WHEN is_deleted THEN '{}'::jsonb ELSE coalesce(unknown_fields::jsonb, '{}'::jsonb) END,
               :source_system, :connection, :stream, record_key, raw_record_id, :fingerprint, :version, :trace
        FROM candidates
        ORDER BY seq
        ON CONFLICT (id) DO NOTHING
        RETURNING id
    ), changed AS MATERIALIZED (  -- hash-joined (the caller turns nested loops off for CTE joins)
        SELECT c.* FROM candidates c JOIN ev ON ev.id = c.event_id
    ), created AS (
        INSERT INTO canonical_records
            (id, tenant_id, entity, connection_id, stream, record_key, data, is_deleted, version, last_event_id,
             mapping_version_id)
        SELECT rid, :tenant, :entity, :connection, :stream, record_key, data, false, 1, event_id, :version
        FROM changed WHERE existing_id IS NULL
        RETURNING 1
    ), updated AS (
        INSERT INTO canonical_records AS c
            (id, tenant_id, entity, connection_id, stream, record_key, data, is_deleted, version, last_event_id,
             mapping_version_id)
        SELECT rid, :tenant, :entity, :connection, :stream, record_key, coalesce(data, before), is_deleted, 1,
               event_id, :version
        FROM changed WHERE existing_id IS NOT NULL
        ON CONFLICT (tenant_id, entity, connection_id, stream, record_key) DO UPDATE
            SET data = excluded.data, is_deleted = excluded.is_deleted, version = c.version + 1,
                last_event_id = excluded.last_event_id, mapping_version_id = excluded.mapping_version_id,
                updated_at = now()
        RETURNING 1
    ), log AS (
        -- The event holds the after; an update also stores its changed fields, a creation or
        -- a deletion (every field changed) stores nothing more.
        INSERT INTO change_log (tenant_id, record_id, event_id, entity, diff)
        SELECT :tenant, rid, event_id, :entity,
               CASE WHEN old IS NOT NULL AND data IS NOT NULL THEN (
                   SELECT jsonb_object_agg(k, jsonb_build_object('before', old -> k, 'after', data -> k))
                   FROM (SELECT jsonb_object_keys(old) UNION SELECT jsonb_object_keys(data)) AS keys(k)
                   WHERE (old -> k) IS DISTINCT FROM (data -> k)) END
        FROM changed
        ORDER BY seq
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM changed), (SELECT count(*) FROM created) + (SELECT count(*) FROM updated),
           (SELECT count(*) FROM log), (SELECT count(*) FROM changed WHERE is_deleted)
"""
_WRITE_PROBED = text(_WRITE.replace("{lookups}", _PROBES))
_WRITE_RANGED = text(_WRITE.replace("{lookups}", _RANGES))

_QUARANTINE = text(
    """
    INSERT INTO quarantine (tenant_id, connection_id, stream, stage, reason, record_key, payload)
    SELECT :tenant, :connection, :stream, 'apply', s.error || ' (mapping version ' || :number || ')',
           s.record_key, r.payload
    FROM apply_batch s JOIN raw_records r ON r.id = s.raw_record_id
    WHERE s.error IS NOT NULL
      AND NOT EXISTS (
        SELECT 1 FROM quarantine q
        WHERE q.tenant_id = :tenant AND q.connection_id = :connection AND q.stream = :stream
          AND q.stage = 'apply' AND q.status = 'open' AND q.record_key = s.record_key
          AND q.reason = s.error || ' (mapping version ' || :number || ')')
    """
)

_CLOSE_APPLIED = text(
    """
    UPDATE quarantine q SET status = 'resolved', resolved_at = now()
    FROM apply_batch s
    WHERE s.error IS NULL
      AND q.tenant_id = :tenant AND q.connection_id = :connection AND q.stream = :stream
      AND q.status = 'open' AND q.stage = 'apply' AND q.record_key = s.record_key
    """
)
"""Apply-stage items of records this batch applied (an earlier version's failures, now moot)."""

_RESERVE_SEQS = text(
    "SELECT CAST(array_agg(nextval('canonical_events_seq_seq'::regclass)) AS text) FROM generate_series(1, :n)")
"""Event ``seq`` values for a batch's rows (by row position), drawn before it is written; a row
that gets no event leaves its value unused (gaps only). Kept as the array's text: the client only
passes it back, never looks inside."""

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:m, 0))")


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


@dataclass(frozen=True)
class ReadBatch:
    """One batch as read and transformed: COPY text for ``apply_batch`` and its record keys."""

    batch_id: uuid.UUID
    copy_text: str
    failed: int
    read: int
    keys: frozenset[str]
    last: int | str = 0
    """Position after the batch (its last raw record id, or record key for a backfill)."""
    key_range: tuple[str, str] | None = None
    """A backfill batch's first and last record key: it holds every head between them."""


class Superseded(ApplyError):
    """A newer version became current while the run was writing (its later batches roll back)."""


class RunLost(ApplyError):
    """The run was taken over by another worker while writing (its later batches roll back)."""


Progress = Callable[[Session, "ReadBatch", WriteResult], bool]
"""Saves a batch's position and counts in its own transaction; False when the run was lost."""


def reserve_seqs(session: Session, n: int) -> str:
    """``n`` event ``seq`` values, drawn now (callers draw them in read order), as array text."""
    return session.execute(_RESERVE_SEQS, {"n": n}).scalar_one() or "{}" if n else "{}"


def write_batches(db: Database, target: Target, lock_key: str, batches: Iterable[ReadBatch], *, writers: int,
                  counts: WriteResult, is_current: Callable[[Session], bool], progress: Progress | None = None) -> str:
    """Write ``batches`` on up to ``writers`` connections, committed in read order, summing into
    ``counts``: ``succeeded``, ``superseded`` once ``is_current`` says the version is not, or
    ``lost`` once ``progress`` (called in commit order, in each batch's transaction) says so."""
    ordered = OrderedWriters(writers, name="apply")
    with db.tenant(target.tenant_id) as guard:  # holds the mapping's lock until every writer has ended
        guard.execute(_LOCK, {"m": lock_key})
        try:
            for batch in batches:
                with db.tenant(target.tenant_id) as session:  # seq values in read order = commit order
                    seqs = reserve_seqs(session, batch.read if batch.copy_text else 0)
                ordered.submit(batch.keys, functools.partial(_write_one, db, target, batch, seqs, counts, is_current,
                                                             progress))
            ordered.drain()
        except BaseException as exc:
            ordered.abort(exc)
            if isinstance(exc, Superseded):
                return "superseded"
            if isinstance(exc, RunLost):
                return "lost"
            raise
        finally:
            ordered.close()
    return "succeeded"


def _write_one(db: Database, target: Target, batch: ReadBatch, seqs: str, counts: WriteResult,
               is_current: Callable[[Session], bool], progress: Progress | None, wait_turn: WaitTurn) -> None:
    with db.tenant(target.tenant_id) as session:
        # A batch commit does not wait for its WAL flush: batches are idempotent, and the run's
        # final status commit is synchronous, so it flushes every batch before it (a crash
        # before that leaves the run unfinished; the next apply repeats the work).
        session.execute(text("SET LOCAL synchronous_commit = off"))
        result = write_batch(session, target, batch, seqs)
        wait_turn()  # every earlier batch has committed
        if not is_current(session):  # checked in commit order: the committed batches stay a prefix
            raise Superseded(str(target.mapping_version_id))
        total = WriteResult(**counts.as_dict())
        total.add(result)
        if progress is not None and not progress(session, batch, total):
            raise RunLost(str(target.mapping_version_id))
        counts.add(result)


def write_batch(session: Session, target: Target, batch: ReadBatch, seqs: str) -> WriteResult:
    """COPY the batch in and write its events (the i-th of ``seqs`` for row i), records, change
    log and quarantine rows."""
    if not batch.copy_text:
        return WriteResult()
    session.execute(_STAGE)
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(
        "COPY apply_batch (seq, raw_record_id, raw_version, record_key, record_id, event_id, data, is_deleted, error,"
        " unknown_fields) FROM STDIN"
    ) as copy:
        copy.write(batch.copy_text)
    failed, read = batch.failed, batch.read
    params = {"tenant": target.tenant_id, "entity": target.entity, "connection": target.connection_id,
              "stream": target.stream, "source_system": target.source_system, "version": target.mapping_version_id,
              "fingerprint": target.fingerprint, "trace": target.trace_id, "seqs": seqs}
    # The batch's CTEs and sorts stay in memory. The planner believes each CTE holds a row or two
    # and would join thousands of events pairwise; the LATERAL probes stay nested loops anyway.
    session.execute(text("SET LOCAL work_mem = '256MB'"))
    session.execute(text("SET LOCAL enable_nestloop = off"))
    if batch.key_range is None:
        statement = _WRITE_PROBED
    else:  # the ranges are index scans, never a scan of a whole shared table
        statement = _WRITE_RANGED
        params["first"], params["last"] = batch.key_range
        session.execute(text("SET LOCAL enable_seqscan = off"))
    events, records, logged, deleted = session.execute(statement, params).one()
    session.execute(text("SET LOCAL enable_nestloop = on"))
    session.execute(text("SET LOCAL enable_seqscan = on"))
    if failed:
        session.execute(_QUARANTINE, {**params, "number": str(target.version)})
    if read > failed:
        session.execute(_CLOSE_APPLIED, params)
    if not events == records == logged:  # one statement wrote all three; a mismatch is a bug worth stopping for
        raise ApplyError(f"apply wrote {events} events, {records} records and {logged} change-log rows",
                         tenant=target.tenant_id, mapping_version=target.mapping_version_id)
    good = read - failed
    return WriteResult(read=read, changed=records, unchanged=good - records, deleted=deleted, quarantined=failed)
