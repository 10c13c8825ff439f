"""Tenant lifecycle: an operator's work, done through the maintenance path.

Deleting a tenant purges every row of it (foreign keys cascade from ``tenants``), its
vectors, and every Redis key under its prefix.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select, text

from autonomos.engines.redis import delete_prefix
from autonomos.errors import Conflict, NotFound
from autonomos.services import audit
from autonomos.runtime import Runtime
from autonomos.store.maintenance import maintenance_database
from autonomos.store.purge import purge_landed
from autonomos.store.tables import Tenant

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


@dataclass(frozen=True)
class TenantInfo:
    id: uuid.UUID
    slug: str
    name: str
    status: str


def _info(row: Tenant) -> TenantInfo:
    return TenantInfo(row.id, row.slug, row.name, row.status)


def create_tenant(rt: Runtime, slug: str, name: str | None = None, *, actor: str) -> TenantInfo:
    if not SLUG.match(slug):
        raise Conflict("tenant slug must be 2-63 lower-case letters, digits or dashes", slug=slug)
    with maintenance_database(rt).session() as session:
        if session.scalar(select(Tenant).where(Tenant.slug == slug)) is not None:
            raise Conflict("a tenant with this slug exists", slug=slug)
        row = Tenant(id=uuid.uuid4(), slug=slug, name=name or slug)
        session.add(row)
        session.flush()
        audit.record_platform(session, row.id, actor=actor, action="tenant.create", before=None,
                              after={"slug": slug, "name": row.name})
        return _info(row)


def list_tenants(rt: Runtime) -> list[TenantInfo]:
    with maintenance_database(rt).session() as session:
        return [_info(t) for t in session.scalars(select(Tenant).order_by(Tenant.created_at, Tenant.slug))]


def find_tenant(rt: Runtime, slug_or_id: str) -> TenantInfo:
    with maintenance_database(rt).session() as session:
        condition = Tenant.slug == slug_or_id
        try:
            condition = condition | (Tenant.id == uuid.UUID(slug_or_id))
        except ValueError:
            pass
        row = session.scalar(select(Tenant).where(condition))
        if row is None:
            raise NotFound("no such tenant", tenant=slug_or_id)
        return _info(row)


def ensure_tenant(rt: Runtime, slug: str, name: str | None = None, *, actor: str) -> TenantInfo:
    try:
        return find_tenant(rt, slug)
    except NotFound:
        return create_tenant(rt, slug, name, actor=actor)


def update_settings(rt: Runtime, slug_or_id: str, changes: dict, *, actor: str) -> dict:
    """Merge ``changes`` into a tenant's settings (concurrency limit, match keys, source precedence)."""
    tenant = find_tenant(rt, slug_or_id)
    with maintenance_database(rt).session() as session:
        row = session.scalar(select(Tenant).where(Tenant.id == tenant.id).with_for_update())
        before = dict(row.settings or {})
        row.settings = {**before, **changes}
        audit.record_platform(session, row.id, actor=actor, action="tenant.settings", before=before,
                              after=row.settings)
        return dict(row.settings)


@dataclass(frozen=True)
class PurgeReport:
    tenant: TenantInfo
    vectors: int
    redis_keys: int


def delete_tenant(rt: Runtime, slug_or_id: str, *, actor: str) -> PurgeReport:
    """Purge a tenant: its rows (cascade), its vectors, its Redis keys; recorded in the platform log."""
    tenant = find_tenant(rt, slug_or_id)
    with maintenance_database(rt).session() as session:
        vectors = _purge_vectors(session, tenant.id)
        purge_landed(session, tenant.id)
        session.execute(delete(Tenant).where(Tenant.id == tenant.id))
        audit.record_platform(session, tenant.id, actor=actor, action="tenant.delete",
                              before={"slug": tenant.slug, "name": tenant.name}, after=None)
    if rt.settings.vector_store == "pinecone":
        from autonomos.dcl.vectors.store import vector_store

        vector_store(rt).purge_tenant(tenant.id)  # the tenant's namespace in every index
    redis_keys = delete_prefix(rt.redis, rt.keys.tenant_prefix(tenant.id))
    return PurgeReport(tenant, vectors, redis_keys)


def _purge_vectors(session, tenant_id: uuid.UUID) -> int:
    # The pgvector table has no foreign key (it lives in its own migration tree), so it is
    # purged explicitly; the Pinecone backend drops the tenant's namespace instead.
    exists = session.execute(text("SELECT to_regclass('vector_items') IS NOT NULL")).scalar_one()
    if not exists:
        return 0
    return session.execute(text("DELETE FROM vector_items WHERE tenant_id = :t"), {"t": tenant_id}).rowcount
