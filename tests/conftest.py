"""Shared fixtures: real servers, one throwaway database per test session, fresh tenants.

Which servers: ``AOS_TEST_DATABASE_URL`` / ``AOS_TEST_REDIS_URL`` name existing ones (CI's
second pass points them at the machine's PostgreSQL 15 and Redis 7); otherwise the suite
starts the embedded PostgreSQL (18 + pgvector) and Redis (6.2) in a temporary data dir and
stops them at the end. Either way each session migrates a database of its own
(``aos_test_<random>``) and drops it, roles included, afterwards; Redis keys live under a
namespace of the session's own and are deleted afterwards.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from autonomos.config import Settings
from autonomos.engines.postgres import EmbeddedPostgres, drop_database, ensure_database, to_sqlalchemy_url
from autonomos.engines.redis import EmbeddedRedis, connect, delete_prefix
from autonomos.services import tenants
from autonomos.runtime import Runtime
from autonomos.store import migrate

TEST_SECRET_KEY = "test-secret-key-not-for-production"


def wait_for(predicate, timeout: float = 120, every: float = 0.05, *, tolerate_errors: bool = False):
    """Poll ``predicate`` until it returns something true (a bounded wait, never a timed assertion);
    ``tolerate_errors``: an exception counts as not yet (a server is down on purpose)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:
            if not tolerate_errors:
                raise
            value = None
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not reached in time")


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[URL]:
    """Admin URL of the PostgreSQL server the session uses (its ``postgres`` database)."""
    configured = os.environ.get("AOS_TEST_DATABASE_URL")
    if configured:
        yield to_sqlalchemy_url(configured).set(database="postgres")
        return
    embedded = EmbeddedPostgres(tmp_path_factory.mktemp("pg"))
    url = to_sqlalchemy_url(embedded.start())
    yield url.set(database="postgres")
    embedded.stop()


@pytest.fixture(scope="session")
def source_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[URL]:
    """Admin URL of a PostgreSQL server for source databases, never the platform's (its own embedded
    server, in CI's second pass too), so connectors read sources the way a deployment does."""
    embedded = EmbeddedPostgres(tmp_path_factory.mktemp("srcpg"), "sources-postgres", tuned=False)
    url = to_sqlalchemy_url(embedded.start())
    yield url.set(database="postgres")
    embedded.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("AOS_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    embedded = EmbeddedRedis(tmp_path_factory.mktemp("rd"))
    yield embedded.start()
    embedded.stop()


def fresh_database(server_url: URL, prefix: str = "aos_test") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    ensure_database(server_url, name)
    return server_url.set(database=name).render_as_string(hide_password=False)


def discard_database(server_url: URL, url: str) -> None:
    migrate.downgrade_all(url)  # drops the per-database roles too
    drop_database(server_url, to_sqlalchemy_url(url).database)


@contextlib.contextmanager
def migrated_database(server_url: URL, prefix: str = "aos_test") -> Iterator[str]:
    """A new database on ``server_url`` migrated to head, downgraded and dropped afterwards
    (the downgrade checks, in passing, that it works on a database full of data)."""
    url = fresh_database(server_url, prefix)
    migrate.upgrade(url)
    yield url
    discard_database(server_url, url)


@pytest.fixture(scope="session")
def database_url(server_url: URL) -> Iterator[str]:
    """A migrated database for the whole session (core, plus vectors where pgvector exists)."""
    with migrated_database(server_url) as url:
        yield url


@pytest.fixture
def isolated_database_url(server_url: URL) -> Iterator[str]:
    """A migrated database of this test's own, for work that spans every tenant (key rotation)."""
    with migrated_database(server_url, "aos_iso") as url:
        yield url


@pytest.fixture(scope="session")
def namespace() -> str:
    return f"aostest{uuid.uuid4().hex[:8]}"


def make_settings(database_url: str, redis_url: str, data_dir: Path, namespace: str, **extra: str) -> Settings:
    values = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "AOS_DATA_DIR": str(data_dir),
        "AOS_SECRET_KEY": TEST_SECRET_KEY,
        "AOS_REDIS_NAMESPACE": namespace,
        "AOS_ALLOW_PRIVATE_SOURCES": "127.0.0.1/32",  # exactly 127.0.0.1: test traffic never leaves loopback
        **extra,
    }
    return Settings.from_mapping(values)


def tenant_files(rt: Runtime, tenant: object) -> Path:
    """The tenant's files folder (``<data dir>/sources/<slug>``), where its files connections may read."""
    slug = getattr(tenant, "slug", None) or tenants.find_tenant(rt, str(tenant)).slug
    folder = Path(rt.settings.data_dir).resolve() / "sources" / slug
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def subprocess_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment an ``aos`` subprocess needs to use the same servers as ``settings``."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(settings.data_dir),
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "AOS_DATA_DIR": str(settings.data_dir),
        "AOS_SECRET_KEY": TEST_SECRET_KEY,
        "AOS_REDIS_NAMESPACE": settings.redis_namespace,
        "AOS_ALLOW_PRIVATE_SOURCES": settings.allow_private_sources,
        "VECTOR_STORE": settings.vector_store,
        **extra,
    }
    if settings.pinecone_api_key:
        env["PINECONE_API_KEY"] = settings.pinecone_api_key.get_secret_value()
    return env


@pytest.fixture(scope="session")
def settings(database_url: str, redis_url: str, namespace: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(database_url, redis_url, tmp_path_factory.mktemp("data"), namespace)


@pytest.fixture(scope="session")
def rt(settings: Settings, redis_url: str, namespace: str) -> Iterator[Runtime]:
    runtime = Runtime(settings)
    yield runtime
    delete_prefix(runtime.redis, f"{namespace}:")
    runtime.close()


@pytest.fixture
def make_tenant(rt: Runtime):
    """Create tenants with unique slugs; they stay until the session's database is dropped."""

    def create(prefix: str = "t") -> tenants.TenantInfo:
        return tenants.create_tenant(rt, f"{prefix}-{uuid.uuid4().hex[:8]}", actor="test")

    return create


@pytest.fixture
def redis_client(redis_url: str):
    client = connect(redis_url)
    yield client
    client.close()
