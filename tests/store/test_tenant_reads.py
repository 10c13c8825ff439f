"""Pipelined tenant reads (``Database.reads``): the tenant's rows only, read-only, the tenant
setting gone with the transaction, and a pooled connection killed under it replaced."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from autonomos.engines.postgres import libpq_dsn
from autonomos.services import connections
from autonomos.store.base import TENANT_SETTING

COUNT = ("SELECT count(*), current_setting(%(name)s) FROM connections", {"name": TENANT_SETTING})
SETTING = ("SELECT coalesce(current_setting(%(name)s, true), '')", {"name": TENANT_SETTING})


def _read(rt, tenant, statements):
    return asyncio.run(rt.db.reads.first_rows(tenant, statements))


def test_each_tenant_reads_its_own_rows_and_the_setting_ends_with_the_transaction(rt, make_tenant):
    a, b = make_tenant("reads").id, make_tenant("reads").id
    connections.create_connection(rt, a, provider="files", name="crm", config={}, actor="test")

    async def both():
        first = await rt.db.reads.first_rows(a, [COUNT])
        second = await rt.db.reads.first_rows(b, [COUNT])
        conn = await rt.db.reads._pool().take()  # the same pooled connection, outside any read
        try:
            after = await (await conn.execute(SETTING[0], SETTING[1])).fetchone()
        finally:
            rt.db.reads._pool().give(conn)
        await rt.db.reads.close()
        return first, second, after

    first, second, after = asyncio.run(both())
    assert first == [(1, str(a))] and second == [(0, str(b))]
    assert after == ("",)  # transaction-local: nothing carried into the next use of the connection


def test_reads_are_read_only(rt, make_tenant):
    tenant = make_tenant("reads").id
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        _read(rt, tenant, [("CREATE TEMP TABLE t_reads (x int)", {})])
    assert _read(rt, tenant, [SETTING]) == [(str(tenant),)]  # and the next read is served


def test_a_killed_pooled_connection_is_replaced(rt, make_tenant):
    tenant = make_tenant("reads").id

    async def read_kill_read():
        first = await rt.db.reads.first_rows(tenant, [("SELECT pg_backend_pid()", {})])
        with psycopg.connect(libpq_dsn(rt.db.owner_url), autocommit=True) as owner:
            owner.execute("SELECT pg_terminate_backend(%s)", (first[0][0],))
        second = await rt.db.reads.first_rows(tenant, [("SELECT pg_backend_pid()", {})])
        await rt.db.reads.close()
        return first[0][0], second[0][0]

    before, after = asyncio.run(read_kill_read())
    assert after != before
