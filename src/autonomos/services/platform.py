"""Engines and schema: start/stop the embedded servers, apply migrations, provision roles."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from autonomos.config import Settings
from autonomos.engines.postgres import EmbeddedPostgres, ServiceStatus, libpq_dsn
from autonomos.engines.redis import EmbeddedRedis
from autonomos.runtime import Runtime
from autonomos.store import migrate as migrations
from autonomos.store.roles import roles_for_database

DEMO_SOURCE_SERVER = "demo-sources-postgres"
"""Folder (under the data dir) of the demo's own source server; started and stopped with the others."""


def embedded_servers(settings: Settings) -> list[EmbeddedPostgres | EmbeddedRedis]:
    """The embedded servers this configuration uses (none when both URLs are set)."""
    servers: list[EmbeddedPostgres | EmbeddedRedis] = []
    if settings.embedded_postgres:
        servers.append(EmbeddedPostgres(settings.data_dir))
    if settings.embedded_redis:
        servers.append(EmbeddedRedis(settings.data_dir))
    if (settings.data_dir / DEMO_SOURCE_SERVER).is_dir():  # the demo's billing source, once the demo ran
        servers.append(EmbeddedPostgres(settings.data_dir, DEMO_SOURCE_SERVER, tuned=False))
    return servers


def services_status(settings: Settings) -> list[ServiceStatus]:
    statuses = [server.status() for server in embedded_servers(settings)]
    if not settings.embedded_postgres:
        statuses.append(ServiceStatus("postgres", True, "DATABASE_URL", "configured (not managed here)"))
    if not settings.embedded_redis:
        statuses.append(ServiceStatus("redis", True, "REDIS_URL", "configured (not managed here)"))
    return statuses


def start_services(settings: Settings) -> list[ServiceStatus]:
    for server in embedded_servers(settings):
        server.start()
    return services_status(settings)


def stop_services(settings: Settings) -> list[str]:
    return [type(s).__name__ for s in embedded_servers(settings) if s.stop()]


@dataclass(frozen=True)
class MigrationReport:
    applied: list[str]
    vectors_skipped_reason: str | None


def migrate(rt: Runtime) -> MigrationReport:
    """Apply the core tree and, where pgvector is selected and installable, the vectors tree."""
    url = rt.database_url
    reason = None
    with_vectors = rt.settings.vector_store == "pgvector"
    if with_vectors and not migrations.pgvector_available(url):
        with_vectors = False
        reason = "the PostgreSQL server has no `vector` extension"
    elif not with_vectors:
        reason = f"VECTOR_STORE={rt.settings.vector_store}"
    applied = migrations.upgrade(url, with_vectors=with_vectors)
    if rt.settings.db_role_password:
        set_role_passwords(url, rt.settings.db_role_password.get_secret_value())
    return MigrationReport(applied, reason)


def set_role_passwords(owner_url: str, password: str) -> None:
    """Give both application roles the configured password (servers with password auth)."""
    with psycopg.connect(libpq_dsn(owner_url), autocommit=True) as conn:
        database = conn.execute("SELECT current_database()").fetchone()[0]
        roles = roles_for_database(database)
        for role in (roles.app, roles.maintenance):
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
