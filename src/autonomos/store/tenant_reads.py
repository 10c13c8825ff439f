"""Tenant-scoped reads on the event loop, in one round trip.

``Database.tenant`` is a Session in a transaction: right for work that changes things, but a
hot read (a page of records behind the HTTP API) then pays for a thread hop, the ORM session
and four round trips (BEGIN, ``set_config``, the query, COMMIT). ``TenantReads.first_rows``
sends exactly those statements, as the app role, pipelined: ``BEGIN READ ONLY``, the tenant's
``set_config(app.tenant_id, .., true)``, the statements, ``COMMIT``, one after another in the
same transaction, so row-level security sees the tenant exactly as in ``Database.tenant``;
only the waiting is shared. The statements are prepared on their connection (the hot reads
run thousands of times, and their plans were checked generic).

Each event loop gets its own few connections (psycopg's async connections belong to one).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg

from autonomos.engines.boundary import engine_boundary
from autonomos.errors import TenantContextMissing
from autonomos.store.base import TENANT_SETTING

POOL_SIZE = 8
"""Connections per event loop: a server worker's reads wait for one rather than pile onto Postgres."""

_TENANT = f"SELECT set_config('{TENANT_SETTING}', %s, true)"


class _Pool:
    """Up to ``size`` connections of one event loop; a waiter is handed the next one released."""

    def __init__(self, dsn: str, size: int) -> None:
        self.dsn, self.size = dsn, size
        self.idle: list[psycopg.AsyncConnection] = []
        self.opened = 0
        self.waiters: deque[asyncio.Future] = deque()

    async def take(self) -> psycopg.AsyncConnection:
        while True:
            if self.idle:
                return self.idle.pop()
            if self.opened < self.size:
                self.opened += 1
                try:
                    return await psycopg.AsyncConnection.connect(self.dsn, autocommit=True,
                                                                 prepare_threshold=None)
                except BaseException:
                    self.opened -= 1
                    self._wake(1)
                    raise
            waiter = asyncio.get_running_loop().create_future()
            self.waiters.append(waiter)
            try:
                conn = await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled() and waiter.result() is not None:
                    self.give(waiter.result())  # handed a connection we will not use
                raise
            if conn is not None:
                return conn
            # None: a slot freed up (a connection was dropped); take again

    def give(self, conn: psycopg.AsyncConnection) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self.idle.append(conn)

    async def drop(self, conn: psycopg.AsyncConnection) -> None:
        """Close a connection that failed; the idle ones are likely dead too (a restart)."""
        stale, self.idle = [conn, *self.idle], []
        self.opened -= len(stale)
        self._wake(len(stale))
        for c in stale:
            await c.close()

    def _wake(self, slots: int) -> None:
        while self.waiters and slots:  # a waiter may now open a connection of its own
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                slots -= 1


class TenantReads:
    """Read-only transactions of one tenant on the running event loop's connections."""

    def __init__(self, dsn: str, size: int = POOL_SIZE) -> None:
        self.dsn, self.size = dsn, size
        self._pools: dict[asyncio.AbstractEventLoop, _Pool] = {}

    def _pool(self) -> _Pool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            for old in [l for l in self._pools if l.is_closed()]:
                del self._pools[old]
            pool = self._pools[loop] = _Pool(self.dsn, self.size)
        return pool

    async def first_rows(self, tenant_id: uuid.UUID | str,
                         statements: Sequence[tuple[str, Mapping[str, Any]]]) -> list[tuple | None]:
        """The first row (or None) of each statement, all run in one read-only transaction of
        ``tenant_id``; a pooled connection found dead is replaced and the reads sent again."""
        if not tenant_id:
            raise TenantContextMissing("a tenant id is required for tenant-scoped work")
        tenant = str(uuid.UUID(str(tenant_id)))
        pool = self._pool()
        for attempt in (1, 2):
            with engine_boundary("postgres"):
                conn = await pool.take()
                try:
                    rows = await _run(conn, tenant, statements)
                except BaseException as exc:
                    await pool.drop(conn)
                    if attempt == 1 and isinstance(exc, psycopg.OperationalError):
                        continue  # the connection was dead: once more on a new one
                    raise
                pool.give(conn)
                return rows
        raise AssertionError("unreachable")

    async def close(self) -> None:
        """Close the running loop's connections (the others belong to loops of their own)."""
        pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            for conn in pool.idle:
                await conn.close()


async def _run(conn: psycopg.AsyncConnection, tenant: str,
               statements: Sequence[tuple[str, Mapping[str, Any]]]) -> list[tuple | None]:
    async with conn.pipeline():
        await conn.execute("BEGIN READ ONLY")
        await conn.execute(_TENANT, (tenant,))
        cursors = [await conn.execute(sql, params, prepare=True) for sql, params in statements]
        await conn.execute("COMMIT")
    return [await cursor.fetchone() for cursor in cursors]


def compiled(statement: Any) -> tuple[str, dict[str, Any]]:
    """A SQLAlchemy statement as the SQL text ``first_rows`` takes (``%(name)s`` parameters),
    with the values of the parameters SQLAlchemy made of the statement's own constants (the
    callers add their bound ones)."""
    from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

    done = statement.compile(dialect=PGDialect_psycopg())
    return str(done), {name: bind.effective_value for name, bind in done.binds.items() if not bind.required}
