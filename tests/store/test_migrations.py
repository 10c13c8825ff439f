"""Migrations go up, down and up again, and agree with the SQLAlchemy metadata."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, pool, text

import autonomos.store.tables  # noqa: F401
from autonomos.engines.postgres import to_sqlalchemy_url
from autonomos.store import migrate
from autonomos.store.base import Base
from autonomos.store.roles import roles_for_database
from autonomos.store.vector_tables import VectorBase
from tests.conftest import discard_database, fresh_database


def _tables(url: str) -> set[str]:
    """The tables, partitions not counted (those of ``vector_items`` are checked on their own)."""
    engine = create_engine(to_sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return set(conn.scalars(text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition")))
    finally:
        engine.dispose()


def _roles(url: str) -> set[str]:
    engine = create_engine(to_sqlalchemy_url(url), poolclass=pool.NullPool)
    roles = roles_for_database(to_sqlalchemy_url(url).database)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT rolname FROM pg_roles WHERE rolname IN (%(a)s, %(m)s)", {"a": roles.app, "m": roles.maintenance}
            )
            return {r[0] for r in rows}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(server_url):
    url = fresh_database(server_url, "aos_migr")
    try:
        vectors = migrate.pgvector_available(url)
        expected = set(Base.metadata.tables) | ({"vector_items"} if vectors else set())
        migrate.upgrade(url)
        assert _tables(url) - {"alembic_version", "alembic_version_vectors"} == expected  # nothing stray
        assert len(_roles(url)) == 2
        migrate.downgrade_all(url)
        assert _tables(url) <= {"alembic_version", "alembic_version_vectors"}
        assert _roles(url) == set()
        migrate.upgrade(url)
        assert expected <= _tables(url)
        assert migrate.state(url).at_head
        assert migrate.state(url, migrate.VECTORS).at_head is vectors
    finally:
        discard_database(server_url, url)


def test_0019_downgrade_restores_the_apply_staging_table(server_url):
    """The table apply no longer uses comes back as 0009 and 0010 left it, and goes again."""
    url = fresh_database(server_url, "aos_migr")
    try:
        migrate.upgrade(url, with_vectors=False)
        assert "apply_staging" not in _tables(url)
        command.downgrade(migrate.alembic_config(url, migrate.CORE), "0018")
        engine = create_engine(to_sqlalchemy_url(url), poolclass=pool.NullPool)
        try:
            columns = [c["name"] for c in inspect(engine).get_columns("apply_staging")]
        finally:
            engine.dispose()
        assert columns == ["batch_id", "seq", "raw_record_id", "record_key", "record_id", "event_id", "data",
                           "is_deleted", "error", "raw_version", "unknown_fields"]
        migrate.upgrade(url, with_vectors=False)
        assert "apply_staging" not in _tables(url)
    finally:
        discard_database(server_url, url)


def _vector_items(conn) -> tuple[str, int, list[tuple]]:
    """(relkind, partitions, rows ordered by id) of ``vector_items``."""
    kind = conn.scalar(text("SELECT relkind::text FROM pg_class WHERE oid = 'vector_items'::regclass"))
    parts = conn.scalar(text("SELECT count(*) FROM pg_inherits WHERE inhparent = 'vector_items'::regclass"))
    rows = conn.execute(text("SELECT id, tenant_id, ref_id, embedding::text FROM vector_items ORDER BY id")).all()
    return kind, parts, [tuple(r) for r in rows]


def _add_vector(conn, tenant_id: uuid.UUID, ref: str) -> None:
    conn.execute(text("INSERT INTO vector_items (tenant_id, kind, ref_id, model, dimensions, embedding, content_hash) "
                      "VALUES (:t, 'canonical_field', :r, 'm', 3, '[1,2,3]', 'h')"), {"t": tenant_id, "r": ref})


def test_v002_partitions_vector_items_by_tenant_and_carries_every_row_both_ways(server_url):
    url = fresh_database(server_url, "aos_migr")
    try:
        if not migrate.pgvector_available(url):
            pytest.skip("server has no pgvector extension; the vectors tree applies only where it exists")
        migrate.upgrade(url, with_vectors=False)
        vectors = migrate.alembic_config(url, migrate.VECTORS)
        command.upgrade(vectors, "v001")
        engine = create_engine(to_sqlalchemy_url(url), poolclass=pool.NullPool)
        tenants = [uuid.uuid4() for _ in range(20)]
        try:
            with engine.begin() as conn:
                for i, tenant_id in enumerate(tenants):
                    _add_vector(conn, tenant_id, f"r{i}")
                _, _, before = _vector_items(conn)
            command.upgrade(vectors, "head")
            with engine.begin() as conn:
                kind, parts, rows = _vector_items(conn)
                assert (kind, parts, rows) == ("p", 16, before)
                spread = conn.scalar(text("SELECT count(DISTINCT tableoid) FROM vector_items"))
                assert spread > 1  # 20 tenants over 16 partitions
                _add_vector(conn, tenants[0], "new")  # ids continue after the carried rows
                before = _vector_items(conn)[2]
                assert before[-1][0] > before[-2][0]
            command.downgrade(vectors, "v001")
            with engine.begin() as conn:
                assert _vector_items(conn) == ("r", 0, before)
                _add_vector(conn, tenants[1], "after-downgrade")
                assert _vector_items(conn)[2][-1][0] > before[-1][0]
            command.upgrade(vectors, "head")
            with engine.begin() as conn:
                assert _vector_items(conn)[:2] == ("p", 16) and len(_vector_items(conn)[2]) == 22
        finally:
            engine.dispose()
    finally:
        discard_database(server_url, url)


def _diff(url: str, metadata, version_table: str) -> list:
    engine = create_engine(to_sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "compare_server_default": True,
                    "version_table": version_table,
                    "include_object": lambda obj, name, type_, reflected, compare_to: (
                        type_ != "table" or name in metadata.tables
                    ),
                },
            )
            return compare_metadata(ctx, metadata)
    finally:
        engine.dispose()


def test_metadata_and_core_migrations_agree(database_url):
    assert _diff(database_url, Base.metadata, "alembic_version") == []


def test_metadata_and_vector_migrations_agree(database_url):
    if not migrate.pgvector_available(database_url):
        # Stated reason: this server has no pgvector, so the vectors tree is not applied here;
        # the embedded-server pass of the suite covers it.
        pytest.skip("server has no pgvector extension; the vectors tree applies only where it exists")
    diff = [d for d in _diff(database_url, VectorBase.metadata, "alembic_version_vectors")
            if not (d[0] == "remove_index" and d[1].name.startswith("ix_vector_items_hnsw_"))]
    assert diff == []
