"""A hostile tenant admin, through the ``aos`` CLI: a connection may not read the platform's files,
its database, another tenant's folder, nor leak a password into logs, audit rows, Redis or
``connection show``. Each case is refused with its reason and nothing lands."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select
from typer.testing import CliRunner

from autonomos.cli.app import app
from autonomos.engines.runtime import SECRET_KEY_FILE
from autonomos.services import connections, sync
from autonomos.runtime import Runtime
from autonomos.store.tables import AuditLog, Connection, Quarantine, RawRecord
from tests.conftest import make_settings, subprocess_env, tenant_files

runner = CliRunner()


@pytest.fixture
def hostile(database_url, redis_url, namespace, tmp_path):
    """A runtime with the default sandbox (no private sources allowed) in a data dir of its own."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / SECRET_KEY_FILE).write_text("platform-key-material\n")
    settings = make_settings(database_url, redis_url, data_dir, namespace, AOS_ALLOW_PRIVATE_SOURCES="")
    rt = Runtime(settings)
    yield rt
    rt.close()


def _cli(rt: Runtime, *args: str, **extra: str):
    env = {**subprocess_env(rt.settings), "COLUMNS": "300", **extra}
    return runner.invoke(app, list(args), env=env)


def _tenant(rt: Runtime, prefix: str) -> str:
    slug = f"{prefix}-{uuid.uuid4().hex[:8]}"
    assert _cli(rt, "tenant", "create", slug).exit_code == 0
    return slug


def _tenant_id(rt: Runtime, slug: str) -> uuid.UUID:
    from autonomos.services.tenants import find_tenant

    return find_tenant(rt, slug).id


def _store_unchecked(rt: Runtime, tenant_id: uuid.UUID, name: str, provider: str, config: dict) -> None:
    """A row written before the sandbox existed (straight into the table, as an old release did)."""
    with rt.db.tenant(tenant_id) as session:
        session.add(Connection(id=uuid.uuid4(), tenant_id=tenant_id, provider_id=provider, name=name, config=config))


def _sync_fails(rt: Runtime, slug: str, name: str) -> str:
    started = _cli(rt, "sync", name, "--tenant", slug)
    assert started.exit_code == 0, started.output
    assert _cli(rt, "worker", "--burst").exit_code == 0
    run = sync.list_runs(rt, _tenant_id(rt, slug))[0]
    assert run.status == "failed", run
    return str(run.error)


def _nothing_landed(rt: Runtime, slug: str) -> None:
    with rt.db.tenant(_tenant_id(rt, slug)) as session:
        assert session.scalar(select(func.count()).select_from(RawRecord)) == 0
        assert session.scalar(select(func.count()).select_from(Quarantine)) == 0


def test_critical_1_files_outside_the_tenants_folder_are_refused(hostile):
    rt = hostile
    evil, other = _tenant(rt, "evil"), _tenant(rt, "victim")
    key = rt.settings.data_dir / SECRET_KEY_FILE
    victim_file = tenant_files(rt, other) / "customers.csv"
    victim_file.write_text("id,email\n1,a@victim.io\n")
    for name, path in (("key", key), ("passwd", Path("/etc/passwd")), ("neighbour", victim_file),
                       ("pgdata", rt.settings.data_dir / "postgres" / "*"), ("climb", tenant_files(rt, evil) / ".." / "*")):
        created = _cli(rt, "connection", "create", name, "--tenant", evil, "--provider", "files",
                       "--config", json.dumps({"path": str(path), "format": "ndjson"}))
        assert created.exit_code != 0, created.output
        assert "files folder" in created.output or "`..`" in created.output, created.output

    # A symlink in the tenant's own folder to the key, and a config stored before the fix: refused at open.
    link = tenant_files(rt, evil) / "innocent.ndjson"
    link.symlink_to(key)
    evil_id = _tenant_id(rt, evil)
    _store_unchecked(rt, evil_id, "old-key", "files", {"path": str(key), "format": "ndjson"})
    assert "outside the tenant's files folder" in _sync_fails(rt, evil, "old-key")
    created = _cli(rt, "connection", "create", "link", "--tenant", evil, "--provider", "files",
                   "--config", json.dumps({"path": str(tenant_files(rt, evil) / "*.ndjson")}))
    assert created.exit_code == 0, created.output
    assert "outside the tenant's files folder" in _sync_fails(rt, evil, "link")
    _nothing_landed(rt, evil)

    # The tenant's own files still sync.
    link.unlink()
    (tenant_files(rt, evil) / "mine.ndjson").write_text('{"id": 1}\n')
    assert _cli(rt, "sync", "link", "--tenant", evil).exit_code == 0
    assert _cli(rt, "worker", "--burst").exit_code == 0
    assert sync.list_runs(rt, evil_id)[0].status == "succeeded"


def _platform_url(rt: Runtime) -> sa.URL:
    """A URL of the platform's own server (another database on it, as the superuser)."""
    own = sa.make_url(rt.database_url)
    return sa.URL.create("postgresql", username=own.username, host=own.host, port=own.port, database="postgres",
                         query=dict(own.query))


def test_critical_2_the_platforms_database_is_never_a_source(hostile, database_url, redis_url, namespace, tmp_path):
    rt = hostile
    evil = _tenant(rt, "evil")
    url = _platform_url(rt)
    config = {"url": url.render_as_string(), "tables": {"connections": {}, "raw_records": {}}}
    created = _cli(rt, "connection", "create", "platform", "--tenant", evil, "--provider", "postgres",
                   "--config", json.dumps(config))
    assert created.exit_code != 0
    assert "platform's own" in created.output or "Unix sockets" in created.output \
        or "loopback" in created.output, created.output

    # Even when the operator allows every private address and the platform's socket, and for a stored row.
    socket_dir = dict(url.query).get("host")
    allowing = ",".join(["0.0.0.0/0", "::/0", *( [f"unix:{socket_dir}"] if socket_dir else [])])
    wide = Runtime(make_settings(database_url, redis_url, rt.settings.data_dir, namespace,
                                 AOS_ALLOW_PRIVATE_SOURCES=allowing))
    try:
        created = _cli(wide, "connection", "create", "platform", "--tenant", evil, "--provider", "postgres",
                       "--config", json.dumps(config))
        assert created.exit_code != 0 and "platform's own" in created.output, created.output
        _store_unchecked(wide, _tenant_id(wide, evil), "old-platform", "postgres", config)
        assert "platform's own" in _sync_fails(wide, evil, "old-platform")
    finally:
        wide.close()
    _nothing_landed(rt, evil)


def test_a_superuser_login_is_refused_even_on_an_allowed_server(hostile, database_url, redis_url, namespace):
    """The test server is the platform's, so the sandbox refuses it first; the login check is its own wall."""
    from autonomos.aam.connectors import connector_class
    from autonomos.aam.connectors.sandbox import SourceRefused

    connector = connector_class("postgres")({"url": sa.make_url(database_url).render_as_string(hide_password=False)})
    with pytest.raises(SourceRefused, match="superuser"):
        connector.discover()
    connector.close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_critical_3_a_password_never_reaches_a_log_line_audit_row_redis_or_show(rt, make_tenant, log_format):
    password = f"Pw-{uuid.uuid4().hex}-distinctive"
    tenant = make_tenant("leak")
    config = {"host": "127.0.0.1", "port": _closed_port(), "database": "billing", "user": "reader"}
    created = _cli(rt, "connection", "create", "billing", "--tenant", tenant.slug, "--provider", "postgres",
                   "--config", json.dumps(config), "--credentials", json.dumps({"password": password}))
    assert created.exit_code == 0, created.output
    env = {**subprocess_env(rt.settings), "AOS_LOG_FORMAT": log_format}
    aos = str(Path(os.sys.executable).parent / "aos")
    logs = ""
    for args in (["sync", "billing", "--tenant", tenant.slug], ["worker", "--burst"],
                 ["connection", "test", "billing", "--tenant", tenant.slug],
                 ["connection", "show", "billing", "--tenant", tenant.slug]):
        done = subprocess.run([aos, *args], env=env, capture_output=True, text=True, timeout=300)
        logs += done.stdout + done.stderr
    run = sync.list_runs(rt, tenant.id)[0]
    # a refused connection is transient: the run waits to be retried, with the error recorded
    assert run.status in ("pending", "failed") and "connect" in str(run.error).lower()
    assert "Traceback" in logs or "error" in logs.lower()  # the failure was logged...
    assert password not in logs  # ...without the password
    assert password not in str(run.error)
    with rt.db.tenant(tenant.id) as session:
        audit = session.scalars(select(AuditLog)).all()
    assert audit and not any(password in json.dumps([a.before, a.after], default=str) for a in audit)
    for key in rt.redis.scan_iter(f"{rt.settings.redis_namespace}:*"):
        kind = rt.redis.type(key).decode()
        value = rt.redis.dump(key) or b""
        assert password.encode() not in value, (key, kind)
    # the run would wait for retries against a closed port: every later worker of the session
    # (a burst worker in another test) would take it, in place of that test's own run
    if sync.get_run(rt, tenant.id, run.id).status == "pending":
        assert sync.cancel_sync(rt, tenant.id, "billing", actor="test").status == "cancelled"


def test_critical_4_secrets_in_config_are_refused_with_a_pointer_to_credentials(rt, make_tenant):
    tenant = make_tenant("cfg")
    cases = [
        ("postgres", {"host": "db.example.com", "database": "d", "password": "s3cret"}),
        ("postgres", {"url": "postgresql://reader:s3cret@db.example.com/billing"}),
        ("postgres", {"url": "postgresql://reader@db.example.com/billing?password=s3cret"}),
        ("postgres", {"url": "postgresql://reader@db.example.com/billing?sslpassword=s3cret"}),
        ("rest", {"base_url": "https://api.example.com", "auth": {"type": "bearer", "token": "s3cret"}}),
        ("airbyte", {"package": "airbyte-source-faker", "version": "7.2.1", "config": {"api_key": "s3cret"}}),
    ]
    for i, (provider, config) in enumerate(cases):
        created = _cli(rt, "connection", "create", f"c{i}", "--tenant", tenant.slug, "--provider", provider,
                       "--config", json.dumps(config))
        assert created.exit_code != 0, (provider, config)
        assert "--credentials" in created.output, created.output
    # Names such as token_url or token_path are settings, not secrets.
    fine = {"base_url": "https://api.example.com", "auth": {"type": "oauth2", "token_url": "https://api.example.com/t",
                                                           "token_path": "access_token"}, "streams": {}}
    assert _cli(rt, "connection", "create", "fine", "--tenant", tenant.slug, "--provider", "rest",
                "--config", json.dumps(fine)).exit_code == 0
    with rt.db.tenant(tenant.id) as session:
        assert [c.name for c in session.scalars(select(Connection))] == ["fine"]
        assert not any("s3cret" in json.dumps(a.after, default=str) for a in session.scalars(select(AuditLog)))

    # A row stored before the check is flagged by `aos doctor`.
    _store_unchecked(rt, tenant.id, "legacy", "postgres", {"host": "db.example.com", "password": "s3cret"})
    doctor = _cli(rt, "doctor")
    assert f"{tenant.slug}/legacy (password)" in doctor.output


def test_connection_names_are_validated(rt, make_tenant):
    tenant = make_tenant("names")
    for name in ("", "   ", "x" * 64, str(uuid.uuid4()), "tab\there"):
        with pytest.raises(Exception, match="connection name"):
            connections.create_connection(rt, tenant.id, provider="files", name=name, config={}, actor="test")
