"""Tenant-scoped access to the system of record.

Request handling reaches Postgres only through ``Database.tenant(tenant_id)``: a session
connected as the app role (row-level security applies to it) inside one transaction whose
``app.tenant_id`` setting is the given tenant. Repositories take that session, and pass the
tenant explicitly in their queries as well: the policy is the second wall, not the only one.
A lost or refused connection leaves a session as ``EngineUnavailable`` (``engines.boundary``).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import orjson
import psycopg

from sqlalchemy import Engine, Executable, TextClause, create_engine, func, select
from sqlalchemy.engine import URL, RowMapping
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from autonomos.engines.boundary import engine_boundary
from autonomos.engines.postgres import libpq_dsn, to_sqlalchemy_url
from autonomos.errors import EngineUnavailable, TenantContextMissing
from autonomos.store.base import TENANT_SETTING
from autonomos.store.roles import Roles, roles_for_database
from autonomos.store.tenant_reads import TenantReads


def role_url(owner_url: str | URL, role: str, password: str | None) -> URL:
    """The owner's URL (same host, socket and database) logging in as ``role``."""
    return to_sqlalchemy_url(owner_url).set(username=role, password=password)


_LONG_DIGITS = re.compile(rb"\d{19}")


def loads_json(text: str | bytes) -> Any:
    """jsonb as Python: orjson (several times faster on wide records) unless the text holds a
    run of 19 or more digits: orjson reads an integer beyond 64 bits as a float, and jsonb
    keeps such numbers exactly, so those (rare) documents go through the standard library."""
    raw = text.encode() if isinstance(text, str) else bytes(text)
    if _LONG_DIGITS.search(raw):
        return json.loads(raw)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:  # e.g. 1e400, which the standard library reads as inf
        return json.loads(raw)


def make_engine(url: URL, *, pool_size: int = 5, pre_ping: bool = True) -> Engine:
    # prepare_threshold=None: no server-side prepared statements. Their generic plans ignore
    # the parameter values, and for the landing's per-key probes that meant a scan of the
    # whole stream per key once a statement had run five times.
    return create_engine(url, pool_size=pool_size, max_overflow=5, pool_pre_ping=pre_ping,
                         connect_args={"prepare_threshold": None}, json_deserializer=loads_json)


class Database:
    """The app-role engine and tenant transactions."""

    def __init__(self, owner_url: str | URL, *, role_password: str | None = None) -> None:
        self.owner_url = to_sqlalchemy_url(owner_url)
        self.roles: Roles = roles_for_database(self.owner_url.database or "")
        # No ping at checkout (a round trip per transaction): a pooled connection found dead by
        # the first statement (Postgres restarted since) is replaced and that statement retried,
        # see ``_begin`` and ``lookup``; SQLAlchemy then drops every older pooled connection.
        app_url = role_url(self.owner_url, self.roles.app, role_password)
        self.engine = make_engine(app_url, pre_ping=False)
        self.reads = TenantReads(libpq_dsn(app_url))
        """Hot read-only statements of one tenant on the event loop, one round trip each."""
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def tenant(self, tenant_id: uuid.UUID | str, *, settings: Mapping[str, str] | None = None) -> Iterator[Session]:
        """One transaction in which only ``tenant_id``'s rows exist; commits on success.

        ``settings``: more transaction-local settings (pgvector's search parameters, say), set
        in the same statement as the tenant: a latency-bound query saves a round trip.
        """
        if not tenant_id:
            raise TenantContextMissing("a tenant id is required for tenant-scoped work")
        tenant = uuid.UUID(str(tenant_id))
        extra = [func.set_config(name, value, True) for name, value in (settings or {}).items()]
        with engine_boundary("postgres"):
            session, transaction = self._begin(select(func.set_config(TENANT_SETTING, str(tenant), True), *extra))
            with session, transaction:
                yield session

    def tenant_read(self, tenant_id: uuid.UUID | str, statement: TextClause, params: Mapping[str, Any], *,
                    settings: Mapping[str, str] | None = None) -> list[tuple]:
        """The rows of one read in a tenant transaction, in one network round trip.

        ``tenant()`` costs four (BEGIN, the settings, the statement, COMMIT); a latency-bound
        read (a vector search) sends all four at once in libpq's pipeline mode. RLS applies as
        in ``tenant()``: the tenant setting runs first, in the same transaction, and a failure
        of it aborts the rest of the pipeline, so the read never runs without it.
        """
        if not tenant_id:
            raise TenantContextMissing("a tenant id is required for tenant-scoped work")
        tenant = uuid.UUID(str(tenant_id))
        names = [TENANT_SETTING, *(settings or {})]
        values = [str(tenant), *(settings or {}).values()]
        first = "SELECT " + ", ".join(f"set_config(%(n{i})s, %(v{i})s, true)" for i in range(len(names)))
        first_params = {f"n{i}": n for i, n in enumerate(names)} | {f"v{i}": v for i, v in enumerate(values)}
        compiled = statement.compile(dialect=self.engine.dialect)
        sql, sql_params = str(compiled), compiled.construct_params(dict(params))
        with engine_boundary("postgres"):
            for attempt in (1, 2):
                with self.engine.connect() as conn:
                    driver: psycopg.Connection = conn.connection.driver_connection  # type: ignore[assignment]
                    # In autocommit psycopg sends our own BEGIN; its implicit one is a round trip.
                    driver.autocommit = True
                    try:
                        with driver.pipeline():
                            driver.execute("BEGIN")
                            driver.execute(first, first_params)
                            cursor = driver.execute(sql, sql_params)
                            driver.execute("COMMIT")
                        rows = cursor.fetchall()
                        driver.autocommit = False
                        return rows
                    except psycopg.Error as exc:
                        lost = driver.closed or driver.broken
                        if not lost:
                            try:
                                driver.execute("ROLLBACK")
                                driver.autocommit = False
                            except psycopg.Error:
                                lost = True
                        if lost:  # as SQLAlchemy does on a disconnect: the pool's older connections go too
                            conn.invalidate(exc)
                            self.engine.dispose(close=False)
                        error = DBAPIError.instance(sql, sql_params, exc, psycopg.Error, connection_invalidated=lost)
                        if attempt == 2 or not lost:
                            raise error from exc
                    except BaseException:
                        conn.invalidate()  # never back to the pool in autocommit or mid-pipeline
                        raise
        raise AssertionError("unreachable")

    def _begin(self, first: Executable) -> tuple[Session, SessionTransaction]:
        """A session in a transaction that ran ``first``, on a live connection."""
        for attempt in (1, 2):
            session = self._sessions()
            try:
                transaction = session.begin()
                session.execute(first)
                return session, transaction
            except BaseException as exc:
                session.close()
                if attempt == 2 or not (isinstance(exc, DBAPIError) and exc.connection_invalidated):
                    raise
        raise AssertionError("unreachable")

    def lookup(self, statement: Executable, params: Mapping[str, Any]) -> list[RowMapping]:
        """The rows of one read outside any tenant (the ``SECURITY DEFINER`` lookups that find a
        key's or a console session's tenant), once more on a fresh connection if the pooled one
        was dead."""
        for attempt in (1, 2):
            try:
                with engine_boundary("postgres"), self.engine.connect() as conn:
                    return list(conn.execute(statement, params).mappings())
            except EngineUnavailable as exc:
                cause = exc.__cause__
                if attempt == 2 or not (isinstance(cause, DBAPIError) and cause.connection_invalidated):
                    raise
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()
