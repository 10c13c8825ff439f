"""The embedding outbox drainer: Postgres changes -> embeddings -> the vector store.

Changes enqueue outbox rows in their own transactions (``sources.enqueue``; publishing a
mapping version calls ``enqueue_mapping_examples``); this
background job takes pending rows across tenants through the maintenance path with
``FOR UPDATE SKIP LOCKED`` (so several drainers can run), builds each item's text from
Postgres, embeds the batch, writes the store and marks the rows processed. A row that fails
keeps ``processed_at`` NULL with ``attempts`` and ``error`` set, and follows ``store.attempts``:
a transient error is retried by a later drain after a backoff (``next_attempt_at``) until
``MAX_ATTEMPTS``; an engine outage (the store or a database unreachable) waits with backoff
without spending an attempt; a terminal error (a malformed reference, an unknown kind) ends
the row at once (its attempts are set to the limit). Nothing is ever deleted from the outbox
here. Store writes are idempotent upserts, so a crash between the store write and the commit
only repeats work.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from autonomos.dcl.matching.embedders import Embedder
from autonomos.dcl.vectors.sources import enqueue, example_names, load_items, make_ref, split_ref
from autonomos.dcl.vectors.store import VectorStore
from autonomos.dcl.vectors.typing import ItemSource, VectorRecord
from autonomos.errors import AutonomosError
from autonomos.store import attempts
from autonomos.store.maintenance import MaintenanceDatabase
from autonomos.store.tables import EmbeddingOutbox, MappingVersion

MAX_ATTEMPTS = 5
"""After this many failed attempts a row stays pending for a person to look at (``aos vectors status``)."""
OUTBOX_BACKOFF_S = 2.0
"""First wait before a row that failed transiently is tried again (doubling per attempt)."""


def enqueue_mapping_examples(session: Session, tenant_id: uuid.UUID, mapping_version_id: uuid.UUID) -> int:
    """Queue a just-published mapping version's approved examples for memory, in the caller's transaction.

    Its pairs are upserted; the examples of the mapping's older published versions are
    deleted, since only the newest published version speaks for the mapping. Returns the rows added.
    """
    version = session.scalar(select(MappingVersion).where(MappingVersion.tenant_id == tenant_id,
                                                          MappingVersion.id == mapping_version_id))
    if version is None or version.published_at is None:
        raise AutonomosError("only a published mapping version feeds memory", tenant=tenant_id,
                             mapping_version=mapping_version_id)
    older = session.scalars(select(MappingVersion).where(
        MappingVersion.tenant_id == tenant_id, MappingVersion.mapping_id == version.mapping_id,
        MappingVersion.id != version.id, MappingVersion.published_at.is_not(None)))
    stale = [make_ref(old.id, name) for old in older for name, _, _ in example_names(old.fields)]
    fresh = [make_ref(version.id, name) for name, _, _ in example_names(version.fields)]
    return enqueue(session, tenant_id, "mapping_example", stale, "delete") + enqueue(
        session, tenant_id, "mapping_example", fresh)


@dataclass
class DrainReport:
    processed: int = 0
    upserted: int = 0
    deleted: int = 0
    failed: int = 0
    more: bool = False
    """True when the call stopped at its time budget with rows possibly left (call again)."""


def drain(
    maintenance: MaintenanceDatabase, store: VectorStore, embedder: Embedder, *,
    batch_size: int = 256, tenant_id: uuid.UUID | None = None, budget_s: float | None = None,
) -> DrainReport:
    """Process pending rows in id order until none are left; each row is tried once per call.
    ``budget_s``: start no new batch after that many seconds (``report.more`` says rows may be
    left), so a backlog never holds up whatever else the caller does (a worker's upkeep)."""
    report = DrainReport()
    last_id = 0
    started, batches = time.monotonic(), 0
    while True:
        if budget_s is not None and batches and time.monotonic() - started >= budget_s:
            report.more = True
            return report
        with maintenance.session() as session:
            query = (select(EmbeddingOutbox)
                     .where(EmbeddingOutbox.processed_at.is_(None), EmbeddingOutbox.attempts < MAX_ATTEMPTS,
                            EmbeddingOutbox.next_attempt_at.is_(None) | (EmbeddingOutbox.next_attempt_at <= func.now()),
                            EmbeddingOutbox.id > last_id)
                     .order_by(EmbeddingOutbox.id).limit(batch_size).with_for_update(skip_locked=True))
            if tenant_id is not None:
                query = query.where(EmbeddingOutbox.tenant_id == tenant_id)
            rows = list(session.scalars(query))
            if not rows:
                return report
            last_id = rows[-1].id
            _process(session, rows, store, embedder, report)
        batches += 1


def _process(session: Session, rows: list[EmbeddingOutbox], store: VectorStore, embedder: Embedder,
             report: DrainReport) -> None:
    # The newest row per item wins; older ones in the batch are superseded by it.
    latest: dict[tuple[uuid.UUID, str, str], EmbeddingOutbox] = {}
    for row in rows:
        latest[(row.tenant_id, row.item_kind, row.item_id)] = row
    upserts: dict[tuple[uuid.UUID, str], list[EmbeddingOutbox]] = defaultdict(list)
    deletes: dict[uuid.UUID, list[EmbeddingOutbox]] = defaultdict(list)
    for row in latest.values():
        try:
            split_ref(row.item_kind, row.item_id)
        except AutonomosError as exc:
            _fail(row, exc, report)
            continue
        (deletes[row.tenant_id] if row.action == "delete" else upserts[(row.tenant_id, row.item_kind)]).append(row)

    pending: list[tuple[EmbeddingOutbox, ItemSource]] = []
    for (tenant_id, kind), group in upserts.items():
        found = load_items(session, tenant_id, kind, [r.item_id for r in group])
        for row in group:
            if row.item_id in found:
                pending.append((row, found[row.item_id]))
            else:  # its row is gone: the mirror drops it too
                deletes[tenant_id].append(row)
    for tenant_id, group in deletes.items():
        _run(lambda: store.delete(tenant_id, refs=[(r.item_kind, r.item_id) for r in group]), group, report)
        report.deleted += sum(1 for r in group if r.processed_at is not None)
    if pending:
        def write() -> None:
            vectors = embedder.embed([item.text for _, item in pending])
            store.upsert([_record(row.tenant_id, item, embedder.model, vector)
                          for (row, item), vector in zip(pending, vectors, strict=True)])
        _run(write, [row for row, _ in pending], report)
        report.upserted += sum(1 for row, _ in pending if row.processed_at is not None)
    for row in rows:
        if row.processed_at is None and latest[(row.tenant_id, row.item_kind, row.item_id)] is not row:
            _done(row, report)


def _run(action, group: list[EmbeddingOutbox], report: DrainReport) -> None:
    try:
        action()
    except Exception as exc:  # any failure is kept on the rows, to be retried
        for row in group:
            _fail(row, exc, report)
        return
    for row in group:
        _done(row, report)


def _done(row: EmbeddingOutbox, report: DrainReport) -> None:
    row.attempts += 1
    row.error = None
    row.next_attempt_at = None
    row.processed_at = func.now()
    report.processed += 1


def _fail(row: EmbeddingOutbox, exc: Exception, report: DrainReport) -> None:
    kind = attempts.classify(exc)
    if kind == "terminal":
        row.attempts = max(row.attempts + 1, MAX_ATTEMPTS)  # retrying cannot help: ends now
    elif kind == "transient":
        row.attempts += 1
    step = row.attempts if kind == "transient" else 1
    row.next_attempt_at = None if kind == "terminal" else (
        dt.datetime.now(dt.UTC) + dt.timedelta(seconds=attempts.backoff_s(step, OUTBOX_BACKOFF_S)))
    row.error = f"{kind}: {type(exc).__name__}: {exc}"[:2000]
    report.failed += 1


def _record(tenant_id: uuid.UUID, item: ItemSource, model: str, vector) -> VectorRecord:
    digest = hashlib.sha256(f"{model}\n{item.text}".encode()).hexdigest()
    return VectorRecord(tenant_id, item.kind, item.ref_id, model, vector.tolist(), digest, item.source_system,
                        item.object_type, item.field_name, item.mapping_id)
