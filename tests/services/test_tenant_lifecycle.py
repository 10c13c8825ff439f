"""Creating, listing and deleting tenants; deletion purges rows, vectors and Redis keys."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, text

import autonomos.store.tables  # noqa: F401
from autonomos.errors import Conflict, NotFound
from autonomos.services import connections, tenants
from autonomos.store.base import Base, tenant_tables
from autonomos.store.maintenance import maintenance_database
from autonomos.store.tables import PlatformAuditLog
from tests.conftest import tenant_files


def test_create_list_and_reject_duplicates(rt):
    slug = f"acme-{uuid.uuid4().hex[:6]}"
    created = tenants.create_tenant(rt, slug, "Acme", actor="test")
    assert slug in [t.slug for t in tenants.list_tenants(rt)]
    assert tenants.find_tenant(rt, str(created.id)).slug == slug
    with pytest.raises(Conflict):
        tenants.create_tenant(rt, slug, actor="test")
    with pytest.raises(Conflict):
        tenants.create_tenant(rt, "Not A Slug!", actor="test")


def test_delete_purges_rows_vectors_and_redis_keys(rt, make_tenant):
    doomed = make_tenant("doomed")
    survivor = make_tenant("survivor")
    for tenant in (doomed, survivor):
        connections.create_connection(rt, tenant.id, provider="files", name="f", config={"path": str(tenant_files(rt, tenant) / "x.csv")},
                                      credentials={"token": "t"}, actor="test")
        connections.get_connection(rt, tenant.id, "f")  # fills the Redis cache
        rt.redis.set(rt.keys.tenant(tenant.id, "ratelimit", "f"), "5")
    with maintenance_database(rt).session() as session:
        has_vectors = session.execute(text("SELECT to_regclass('vector_items') IS NOT NULL")).scalar_one()
        if has_vectors:
            for tenant in (doomed, survivor):
                session.execute(text(
                    "INSERT INTO vector_items (tenant_id, kind, ref_id, model, dimensions, embedding, content_hash)"
                    " VALUES (:t, 'source_field', 'f.x', 'test', 3, '[1,2,3]', 'h')"), {"t": tenant.id})

    report = tenants.delete_tenant(rt, doomed.slug, actor="test")

    assert report.redis_keys >= 2
    assert report.vectors == (1 if has_vectors else 0)
    assert list(rt.redis.scan_iter(match=rt.keys.tenant_prefix(doomed.id) + "*")) == []
    assert list(rt.redis.scan_iter(match=rt.keys.tenant_prefix(survivor.id) + "*")) != []
    with maintenance_database(rt).session() as session:
        for table in tenant_tables(Base.metadata):
            left = session.scalar(select(func.count()).select_from(table).where(table.c.tenant_id == doomed.id))
            assert left == 0, table.name
        assert session.scalar(select(func.count()).select_from(Base.metadata.tables["connections"])
                              .where(Base.metadata.tables["connections"].c.tenant_id == survivor.id)) == 1
        actions = session.scalars(select(PlatformAuditLog.action).where(PlatformAuditLog.tenant_id == doomed.id))
        assert sorted(actions) == ["tenant.create", "tenant.delete"]
        if has_vectors:
            assert session.execute(text("SELECT count(*) FROM vector_items WHERE tenant_id = :t"),
                                   {"t": doomed.id}).scalar_one() == 0
    with pytest.raises(NotFound):
        tenants.find_tenant(rt, doomed.slug)
