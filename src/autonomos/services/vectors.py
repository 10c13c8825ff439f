"""The vector store as operators and the matcher use it: drain, rebuild, status, similar.

``drain`` and ``rebuild`` are background/operator work over every tenant, so they use the
maintenance path; ``similar`` is tenant work: it queries the store and resolves each hit
through the tenant's own rows, dropping hits whose row is gone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, update

from autonomos.dcl.matching.embedders import Embedder, get_embedder
from autonomos.dcl.vectors import outbox
from autonomos.dcl.vectors.sources import current_refs, enqueue, resolve
from autonomos.dcl.vectors.store import vector_store
from autonomos.dcl.vectors.typing import ResolvedHit
from autonomos.services import audit
from autonomos.runtime import Runtime
from autonomos.store.maintenance import maintenance_database
from autonomos.store.tables import EmbeddingOutbox, Tenant


def drain_outbox(rt: Runtime, *, tenant_id: uuid.UUID | None = None, embedder: Embedder | None = None,
                 batch_size: int = 256, budget_s: float | None = None) -> outbox.DrainReport:
    return outbox.drain(maintenance_database(rt), vector_store(rt), embedder or get_embedder(),
                        tenant_id=tenant_id, batch_size=batch_size, budget_s=budget_s)


@dataclass(frozen=True)
class RebuildReport:
    tenants: int
    enqueued: int
    drain: outbox.DrainReport


def rebuild(rt: Runtime, tenant_id: uuid.UUID | None = None, *, actor: str, embedder: Embedder | None = None
            ) -> RebuildReport:
    """Wipe the tenant's (or every tenant's) vectors and re-embed everything Postgres holds."""
    store = vector_store(rt)
    with maintenance_database(rt).session() as session:
        tenant_ids = [tenant_id] if tenant_id else list(session.scalars(select(Tenant.id).order_by(Tenant.created_at)))
    enqueued = 0
    for tid in tenant_ids:
        store.purge_tenant(tid)
        with maintenance_database(rt).session() as session:
            # Pending rows are covered by the full re-enqueue below.
            session.execute(update(EmbeddingOutbox)
                            .where(EmbeddingOutbox.tenant_id == tid, EmbeddingOutbox.processed_at.is_(None))
                            .values(processed_at=func.now(), error="superseded by rebuild"))
            refs = current_refs(session, tid)
            count = sum(enqueue(session, tid, kind, ids) for kind, ids in refs.items())
            audit.record(session, tid, actor=actor, action="vectors.rebuild", target_type="vectors",
                         after={"backend": store.name, "enqueued": count})
        enqueued += count
    report = drain_outbox(rt, tenant_id=tenant_id, embedder=embedder)
    return RebuildReport(len(tenant_ids), enqueued, report)


@dataclass(frozen=True)
class VectorStatus:
    tenant: str
    vectors: int
    pending: int
    failed: int


def status(rt: Runtime) -> list[VectorStatus]:
    """Per tenant: vectors stored, outbox rows pending, and pending rows that failed at least once."""
    with maintenance_database(rt).session() as session:
        tenants = session.execute(select(Tenant.id, Tenant.slug).order_by(Tenant.slug)).all()
        queue = {t: (p, f) for t, p, f in session.execute(
            select(EmbeddingOutbox.tenant_id, func.count(),
                   func.count().filter(EmbeddingOutbox.error.is_not(None)))
            .where(EmbeddingOutbox.processed_at.is_(None)).group_by(EmbeddingOutbox.tenant_id))}
    store = vector_store(rt)
    return [VectorStatus(slug, store.count(tid), *queue.get(tid, (0, 0))) for tid, slug in tenants]


def similar(
    rt: Runtime, tenant_id: uuid.UUID, text: str, *, k: int = 10, kind: str | None = None,
    embedder: Embedder | None = None,
) -> list[ResolvedHit]:
    """The tenant's items nearest to ``text``, as its Postgres rows say they are now."""
    embedder = embedder or get_embedder()
    hits = vector_store(rt).query(tenant_id, embedder.embed([text])[0].tolist(), k, model=embedder.model, kind=kind)
    with rt.db.tenant(tenant_id) as session:
        return resolve(session, tenant_id, hits)
