"""Applying one published mapping version to landed records, in micro-batches.

Two modes, one path:

* **backfill** (after a publish or rollback): every record's latest landed version, read from
  ``raw_record_heads`` in record-key order, never from the source;
* **incremental** (after a sync): only record versions landed since the mapping's last
  successful apply of this version (raw record ids above its ``high_water``).

Batches are read and transformed ahead of the writers, on a thread of their own (its own
connection and short read transactions; DuckDB and the driver release the GIL), so reading
and transforming overlaps writing. ``writers`` connections write batches at once, committed
in read order, while the run holds the mapping's advisory lock (``writer.write_batches``).
Each write is one tenant transaction that writes events, records and change log together,
only for rows whose raw record version is still the head, and commits only if the version is
still the current one (a newer publish supersedes a running apply). Because
events are keyed deterministically and written only on change, a crash or a repeat only
repeats work. The run, its counts and the position after its last committed batch are kept
in ``apply_runs`` (``runs``): an interrupted run is claimed again and continues from there.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from autonomos.dcl.apply import runs
from autonomos.dcl.apply.exceptions import ApplyError
from autonomos.dcl.apply.batch import BatchTransformer
from autonomos.dcl.apply.writer import ReadBatch, Target, WriteResult, write_batches
from autonomos.dcl.mappings.exceptions import MappingError
from autonomos.dcl.mappings.paths import split_path
from autonomos.dcl.mappings.transforms import compile_fields, normalise_steps
from autonomos.dcl.mappings.versions import current_version
from autonomos.engines.duckdb import ephemeral_duckdb
from autonomos.read_ahead import read_ahead
from autonomos.store import attempts
from autonomos.store.database import Database
from autonomos.store.tables import (
    ApplyRun,
    CanonicalSchemaVersion,
    Connection,
    Mapping,
    MappingVersion,
    SchemaSnapshot,
)

logger = logging.getLogger(__name__)

DEFAULT_BATCH = 20_000
HEARTBEAT_INTERVAL_S = 5.0

# The backfill reads one range of heads in key order, then their raw records by (record key,
# version) within the same key range: one range scan of the (tenant, connection, stream, record
# key, version) index, hash-joined, instead of a probe per head (nested loops are turned off for it: with the stale statistics of a fast-growing table
# the planner once chose a plan that scanned a whole stream per record).
_BACKFILL = """
    WITH h AS MATERIALIZED (
        SELECT record_key, version FROM raw_record_heads
        WHERE tenant_id = %(tenant)s AND connection_id = %(connection)s AND stream = %(stream)s
          AND record_key > %(after)s
        ORDER BY record_key LIMIT %(limit)s)
    SELECT r.id, r.version, h.record_key, r.payload::text, r.is_deleted,
           (r.payload - CAST(%(mapped)s AS text[]))::text
    FROM h JOIN raw_records r ON r.record_key = h.record_key AND r.version = h.version
    WHERE r.tenant_id = %(tenant)s AND r.connection_id = %(connection)s AND r.stream = %(stream)s
      AND r.record_key >= (SELECT min(record_key) FROM h) AND r.record_key <= (SELECT max(record_key) FROM h)
    ORDER BY h.record_key
"""

# The incremental read probes each row's head through EXISTS (OFFSET 0 keeps the planner from
# flattening it into a join).
_INCREMENTAL = """
    SELECT r.id, r.version, r.record_key, r.payload::text, r.is_deleted,
           (r.payload - CAST(%(mapped)s AS text[]))::text
    FROM raw_records r
    WHERE r.tenant_id = %(tenant)s AND r.connection_id = %(connection)s AND r.stream = %(stream)s
      AND r.id > %(after)s AND r.id <= %(high)s
      AND EXISTS (SELECT 1 FROM raw_record_heads h
                  WHERE h.tenant_id = %(tenant)s AND h.connection_id = %(connection)s AND h.stream = %(stream)s
                    AND h.record_key = r.record_key AND h.version = r.version OFFSET 0)
    ORDER BY r.id LIMIT %(limit)s
"""


@dataclass
class ApplyReport:
    """What one apply run did."""

    run_id: uuid.UUID
    mapping_version_id: uuid.UUID
    entity: str
    status: str
    counts: WriteResult = field(default_factory=WriteResult)
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class _Plan:
    target: Target
    mapping_id: uuid.UUID
    fields: list
    types: dict[str, str]


def entity_types(content: dict, entity: str) -> dict[str, str]:
    """Canonical field -> type of one entity in an ontology version."""
    for spec in content.get("tables", []):
        if spec["name"] == entity:
            return {f["name"]: f.get("type", "string") for f in spec.get("fields", [])}
    raise MappingError("the ontology version has no such entity", entity=entity)


def mapped_keys(fields: list) -> tuple[str, ...]:
    """Top-level source keys a version reads (the rest of a payload is the event's unknown fields)."""
    keys = {split_path(f["source_field"])[0] for f in fields}
    for f in fields:
        for step in normalise_steps(f.get("transform")):
            keys.update(split_path(name)[0] for name in step.get("with", []))
    return tuple(sorted(keys))


def _plan(session: Session, tenant_id: uuid.UUID, version_id: uuid.UUID, trace_id: str | None) -> _Plan:
    row = session.execute(
        select(MappingVersion, Mapping, Connection.provider_id, CanonicalSchemaVersion.content)
        .join(Mapping, (Mapping.tenant_id == MappingVersion.tenant_id) & (Mapping.id == MappingVersion.mapping_id))
        .join(Connection, (Connection.tenant_id == Mapping.tenant_id) & (Connection.id == Mapping.connection_id))
        .join(CanonicalSchemaVersion, (CanonicalSchemaVersion.tenant_id == MappingVersion.tenant_id)
              & (CanonicalSchemaVersion.id == MappingVersion.ontology_version_id))
        .where(MappingVersion.tenant_id == tenant_id, MappingVersion.id == version_id)).one_or_none()
    if row is None:
        raise MappingError("no such mapping version", tenant=tenant_id, mapping_version=version_id)
    version, mapping, provider, content = row
    if version.published_at is None:
        raise MappingError("only published versions are applied", tenant=tenant_id, mapping_version=version_id)
    fingerprint = session.scalar(select(SchemaSnapshot.fingerprint).where(
        SchemaSnapshot.tenant_id == tenant_id, SchemaSnapshot.connection_id == mapping.connection_id,
        SchemaSnapshot.stream == mapping.stream).order_by(SchemaSnapshot.observed_at.desc()).limit(1))
    target = Target(tenant_id, mapping.canonical_entity, mapping.connection_id, mapping.stream, provider,
                    version.id, version.version, mapped_keys(version.fields), fingerprint, trace_id)
    return _Plan(target, mapping.id, version.fields, entity_types(content, mapping.canonical_entity))


def start_apply(db: Database, tenant_id: uuid.UUID, version_id: uuid.UUID, *, trigger: str,
                incremental: bool = False) -> uuid.UUID:
    """Create the pending apply run of a published version (backfill, or what landed since its
    last successful apply); ``execute_apply`` or a worker runs it."""
    with db.tenant(tenant_id) as session:
        return create_apply_run(session, tenant_id, version_id, trigger=trigger, incremental=incremental)


def create_apply_run(session: Session, tenant_id: uuid.UUID, version_id: uuid.UUID, *, trigger: str,
                     incremental: bool = False, not_before_s: float = 0.0) -> uuid.UUID:
    """``start_apply`` inside the caller's transaction; ``not_before_s`` keeps the run from other
    workers for that long (the creator runs it first, and others take it only if it cannot)."""
    plan = _plan(session, tenant_id, version_id, None)
    t = plan.target
    high = session.execute(text(
        "SELECT coalesce(max(id), 0) FROM raw_records WHERE tenant_id = :t AND connection_id = :c AND stream = :s"),
        {"t": tenant_id, "c": t.connection_id, "s": t.stream}).scalar_one()
    after: int | str = ""
    if incremental:
        after = session.scalar(select(func.max(ApplyRun.high_water)).where(
            ApplyRun.tenant_id == tenant_id, ApplyRun.mapping_id == plan.mapping_id,
            ApplyRun.mapping_version_id == version_id, ApplyRun.status == "succeeded")) or 0
    run_id = runs.create(session, tenant_id, plan.mapping_id, version_id, trigger=trigger, incremental=incremental,
                         after=after, high_water=high)
    if not_before_s > 0:
        runs.defer(session, tenant_id, [run_id], not_before_s)
    return run_id


def worker_id() -> str:
    """Who runs an apply in this process (stored on the runs it claims)."""
    return f"apply:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def execute_apply(db: Database, tenant_id: uuid.UUID, run_id: uuid.UUID, *, worker: str | None = None,
                  batch_size: int = DEFAULT_BATCH, memory_limit: str = "1GB", writers: int = 1,
                  trace_id: str | None = None, backoff_s: float = attempts.BACKOFF_BASE_S,
                  heartbeat_s: float = HEARTBEAT_INTERVAL_S) -> ApplyReport | None:
    """Claim the run and apply it from its last committed batch; None if it was not claimable.

    A failure is recorded through ``store.attempts`` (retry later, ``failed`` or ``abandoned``,
    in ``report.status`` and ``report.error``) and raised again.
    """
    worker = worker or worker_id()
    with db.tenant(tenant_id) as session:
        row = runs.claim(session, tenant_id, run_id, worker)
        if row is None:
            return None
        plan = _plan(session, tenant_id, row.mapping_version_id, trace_id)
        after: int | str = int(row.resume_after or 0) if row.incremental else row.resume_after
        high, version_id = row.high_water, row.mapping_version_id
        report = ApplyReport(run_id, version_id, plan.target.entity, "running", WriteResult(**(row.counts or {})))
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(db, tenant_id, run_id, worker, heartbeat_s, stop), daemon=True,
                            name="apply-heartbeat")
    beat.start()
    try:
        with ephemeral_duckdb(memory_limit) as duck:
            transformer = BatchTransformer(duck, compile_fields(plan.fields, plan.types), tenant_id=tenant_id,
                                           entity=plan.target.entity, connection_id=plan.target.connection_id,
                                           stream=plan.target.stream, mapping_version_id=version_id)
            report.status = _loop(db, plan, transformer, report, run_id, worker, after, high, batch_size,
                                  writers)
    except Exception as exc:
        stop.set()
        outcome = attempts.record_failure_durably(db, ApplyRun, tenant_id, run_id, exc, worker_id=worker,
                                                  base_s=backoff_s, values={"counts": report.counts.as_dict()})
        report.status = outcome.status if outcome else "lost"
        logger.warning("apply attempt failed (%s): %s: %s", report.status, type(exc).__name__, exc,
                       extra={"tenant_id": str(tenant_id), "apply_run_id": str(run_id)})
        report.error = outcome.error if outcome else attempts.error_record(exc)
        raise
    finally:
        stop.set()
    if report.status != "lost":
        with db.tenant(tenant_id) as session:
            runs.finish(session, tenant_id, run_id, report.status, report.counts.as_dict())
    return report


def apply_version(db: Database, tenant_id: uuid.UUID, version_id: uuid.UUID, *, trigger: str,
                  incremental: bool = False, batch_size: int = DEFAULT_BATCH, memory_limit: str = "1GB",
                  writers: int = 1, trace_id: str | None = None, backoff_s: float = attempts.BACKOFF_BASE_S,
                  heartbeat_s: float = HEARTBEAT_INTERVAL_S) -> ApplyReport:
    """Apply a published version now, in this process (backfill, or only what landed since its last apply)."""
    run_id = start_apply(db, tenant_id, version_id, trigger=trigger, incremental=incremental)
    report = execute_apply(db, tenant_id, run_id, batch_size=batch_size, memory_limit=memory_limit,
                           writers=writers, trace_id=trace_id, backoff_s=backoff_s, heartbeat_s=heartbeat_s)
    assert report is not None  # just created, so claimable
    return report


def _heartbeat(db: Database, tenant_id: uuid.UUID, run_id: uuid.UUID, worker: str, every_s: float,
               stop: threading.Event) -> None:
    while not stop.wait(every_s):
        try:
            with db.tenant(tenant_id) as session:
                runs.heartbeat(session, tenant_id, run_id, worker)
        except Exception:  # a missed heartbeat is harmless; the next one retries
            logger.warning("apply heartbeat failed", extra={"apply_run_id": str(run_id)})


def _batches(db: Database, plan: _Plan, transformer: BatchTransformer, after: int | str, high: int,
             batch_size: int) -> Iterator[ReadBatch]:
    """Read (each in a short transaction of its own) and transform the run's batches in order."""
    t = plan.target
    incremental = isinstance(after, int)
    while True:
        with db.tenant(t.tenant_id) as session:
            raw = session.connection().connection.driver_connection
            params = {"tenant": t.tenant_id, "connection": t.connection_id, "stream": t.stream, "after": after,
                      "high": high, "limit": batch_size, "mapped": list(t.mapped_keys)}
            if not incremental:  # the range join of the backfill, on indexes only
                raw.execute("SET LOCAL enable_nestloop = off")
                raw.execute("SET LOCAL enable_seqscan = off")
            rows = raw.execute(_INCREMENTAL if incremental else _BACKFILL, params).fetchall()
        if not rows:
            return
        ids, versions, keys, payloads, deleted, unknown = zip(*rows)
        batch_id = uuid.uuid4()
        copy_text, failed = transformer.run(ids, versions, keys, payloads, deleted, unknown)
        yield ReadBatch(batch_id, copy_text, failed, len(rows), frozenset(keys),
                        ids[-1] if incremental else keys[-1], None if incremental else (keys[0], keys[-1]))
        if len(rows) < batch_size:
            return
        after = ids[-1] if incremental else keys[-1]


def _loop(db: Database, plan: _Plan, transformer: BatchTransformer, report: ApplyReport, run_id: uuid.UUID,
          worker: str, after: int | str, high: int, batch_size: int,
          writers: int) -> str:
    t = plan.target

    def is_current(session: Session) -> bool:  # a newer publish supersedes a running apply
        current = current_version(session, t.tenant_id, plan.mapping_id)
        return current is not None and current.id == t.mapping_version_id

    with read_ahead(_batches(db, plan, transformer, after, high, batch_size), name="apply-read-ahead") as batches:
        def progress(session: Session, batch: ReadBatch, counts: WriteResult) -> bool:
            return runs.save_progress(session, t.tenant_id, run_id, worker, batch.last, counts.as_dict())

        return write_batches(db, t, str(plan.mapping_id), batches, writers=writers, counts=report.counts,
                             is_current=is_current, progress=progress)

