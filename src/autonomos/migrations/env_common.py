"""What both migration environments share: finding the URL and running online."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData, create_engine, pool


def owner_url() -> str:
    """The URL migrations run with: given by the caller, or the configured/embedded server."""
    config = context.config
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from autonomos.config import load_settings
    from autonomos.engines.runtime import resolve_database_url

    return resolve_database_url(load_settings())


def run(metadata: MetaData, version_table: str, include_object=None) -> None:
    if context.is_offline_mode():
        raise SystemExit("offline (SQL script) migrations are not supported; run them against a database")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run_on(connection, metadata, version_table, include_object)
        return
    engine = create_engine(owner_url(), poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run_on(conn, metadata, version_table, include_object)
    engine.dispose()


def _run_on(connection, metadata, version_table, include_object) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=version_table,
        include_object=include_object,
        compare_type=True,
        compare_server_default=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()
