"""``aos doctor``: check every engine and say, for each problem, the concrete fix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import create_engine, pool, text

from autonomos.engines.duckdb import ephemeral_duckdb
from autonomos.engines.postgres import to_sqlalchemy_url
from autonomos.runtime import Runtime
from autonomos.store import migrate as migrations
from autonomos.store.roles import roles_for_database

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


def run_checks(rt: Runtime) -> list[Check]:
    checks: list[Check] = []
    for probe in (_postgres, _redis, _duckdb, _vector_store, _secret_key, _secrets_in_configs):
        try:
            checks.extend(probe(rt))
        except Exception as exc:  # a doctor reports; it does not crash on what it diagnoses
            checks.append(Check(probe.__name__.strip("_"), "fail", f"{type(exc).__name__}: {exc}",
                                _GENERIC_FIX.get(probe, "see the README's Configuration section")))
    return checks


def _postgres(rt: Runtime) -> list[Check]:
    url = rt.database_url
    engine = create_engine(to_sqlalchemy_url(url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        version_num = int(conn.execute(text("SHOW server_version_num")).scalar_one())
        version = conn.execute(text("SHOW server_version")).scalar_one()
        database = conn.execute(text("SELECT current_database()")).scalar_one()
        roles = roles_for_database(database)
        role_rows = {
            r.rolname: r
            for r in conn.execute(
                text("SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname IN (:a, :m)"),
                {"a": roles.app, "m": roles.maintenance},
            )
        }
    engine.dispose()
    where = "embedded" if rt.settings.embedded_postgres else "DATABASE_URL"
    checks = [
        Check("postgres", "ok" if version_num >= 150000 else "fail", f"PostgreSQL {version} ({where})",
              "" if version_num >= 150000 else "use PostgreSQL 15 or newer"),
    ]
    core = migrations.state(url, migrations.CORE)
    checks.append(Check("migrations", "ok" if core.at_head else "fail",
                        f"core schema at {core.current or 'nothing'} (head {core.head})",
                        "" if core.at_head else "run `aos migrate`"))
    app = role_rows.get(roles.app)
    if app is None or roles.maintenance not in role_rows:
        checks.append(Check("roles", "fail", f"roles {roles.app} / {roles.maintenance} missing", "run `aos migrate`"))
    elif app.rolsuper or app.rolbypassrls:
        checks.append(Check("roles", "fail", f"{roles.app} is superuser or bypasses RLS",
                            f'ALTER ROLE "{roles.app}" NOSUPERUSER NOBYPASSRLS'))
    else:
        checks.append(Check("roles", "ok", f"app role {roles.app} is subject to row-level security"))
    return checks


def _redis(rt: Runtime) -> list[Check]:
    info = rt.redis.info("server")
    where = "embedded" if rt.settings.embedded_redis else "REDIS_URL"
    version = info.get("redis_version", "?")
    major = int(str(version).split(".")[0]) if str(version)[0].isdigit() else 0
    status: Status = "ok" if major >= 6 else "fail"
    return [Check("redis", status, f"Redis {version} ({where})", "" if status == "ok" else "use Redis 6.2 or newer")]


def _duckdb(rt: Runtime) -> list[Check]:
    import duckdb

    with ephemeral_duckdb(rt.settings.duckdb_memory_limit) as conn:
        limit = conn.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        conn.execute("SELECT 42").fetchone()
    return [Check("duckdb", "ok", f"DuckDB {duckdb.__version__} in memory, memory limit {limit}")]


def _vector_store(rt: Runtime) -> list[Check]:
    if rt.settings.vector_store == "pinecone":
        if not rt.settings.pinecone_api_key:
            return [Check("vectors", "fail", "VECTOR_STORE=pinecone but PINECONE_API_KEY is unset",
                          "set PINECONE_API_KEY, or VECTOR_STORE=pgvector")]
        try:
            import pinecone  # noqa: F401
        except ImportError:
            return [Check("vectors", "fail", "the pinecone SDK is not installed", "pip install 'autonomos[pinecone]'")]
        return [Check("vectors", "ok", "Pinecone (one namespace per tenant)")]
    url = rt.database_url
    if not migrations.pgvector_available(url):
        return [Check("vectors", "fail", "VECTOR_STORE=pgvector but this PostgreSQL has no `vector` extension",
                      "install pgvector on the server (e.g. apt install postgresql-15-pgvector), "
                      "unset DATABASE_URL to use the embedded PostgreSQL with pgvector, or set VECTOR_STORE=pinecone")]
    state = migrations.state(url, migrations.VECTORS)
    if not state.at_head:
        return [Check("vectors", "fail", "pgvector store tables are not created", "run `aos migrate`")]
    return [Check("vectors", "ok", "pgvector (HNSW, cosine) in PostgreSQL")]


def _secret_key(rt: Runtime) -> list[Check]:
    rt.cipher  # noqa: B018  (loads or generates the key)
    if rt.settings.secret_key is None:
        return [Check("secret key", "warn", f"generated key in {rt.settings.data_dir} (embedded mode)",
                      "production must set AOS_SECRET_KEY (and keep it out of the data dir)")]
    return [Check("secret key", "ok", "AOS_SECRET_KEY is set")]


_GENERIC_FIX: dict[Callable, str] = {
    _postgres: "check DATABASE_URL (or unset it for the embedded server) and that the server runs",
    _redis: "check REDIS_URL (or unset it for the embedded server) and that the server runs",
    _duckdb: "reinstall the duckdb package (pip install -e .)",
    _vector_store: "check VECTOR_STORE and its settings",
    _secret_key: "set AOS_SECRET_KEY, or make AOS_DATA_DIR writable",
}


def _secrets_in_configs(rt: Runtime) -> list[Check]:
    """Connections stored (before this check existed) with a secret in their clear-text config."""
    from sqlalchemy import select

    from autonomos.services.sandbox import config_secrets
    from autonomos.store.maintenance import maintenance_database
    from autonomos.store.tables import Connection, Tenant

    with maintenance_database(rt).session() as session:
        rows = session.execute(select(Tenant.slug, Connection.name, Connection.provider_id, Connection.config)
                               .join(Tenant, Tenant.id == Connection.tenant_id)).all()
    flagged = []
    for slug, name, provider, config in rows:
        try:
            found = config_secrets(provider, config or {})
        except Exception:  # an unknown provider's spec: judge by the common secret names only
            from autonomos.aam.connectors.secrets import secrets_in_config

            found = secrets_in_config(config or {})
        if found:
            flagged.append(f"{slug}/{name} ({', '.join(found)})")
    if not flagged:
        return [Check("connection secrets", "ok", "no connection keeps a secret in its config")]
    return [Check("connection secrets", "fail", "secrets in clear-text config: " + "; ".join(flagged[:20]),
                  "move each into the credentials and out of the config: `aos connection update NAME --credentials ... "
                  "--config ...`")]
