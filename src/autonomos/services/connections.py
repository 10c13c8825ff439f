"""A tenant's connections: config in JSONB, credentials encrypted and write-only.

Reading a connection returns its config and whether credentials are set, never the
credentials; only ``connection_credentials`` decrypts, for the connector that needs them.
Connection metadata (never credentials) is cached in Redis for workers; the cache is
rebuilt from Postgres on a miss, so a flush costs a query, not data.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from autonomos.aam.sync.scheduler import validate_schedule
from autonomos.errors import Conflict, NotFound, SecretsError
from autonomos.services import audit
from autonomos.runtime import Runtime
from autonomos.services.sandbox import check_config, tenant_sandbox, validate_name
from autonomos.store.lookups import load_connection
from autonomos.store.purge import purge_landed
from autonomos.store.tables import Connection, Provider

CACHE_TTL_S = 300


@dataclass(frozen=True)
class ConnectionInfo:
    id: str
    tenant_id: str
    provider: str
    name: str
    config: dict[str, Any]
    has_credentials: bool
    schedule: str | None
    status: str
    drift_policy: str = "propagate"
    """propagate, hold or ignore (``services.drift``); set with ``drift.set_policy``."""


def _info(row: Connection) -> ConnectionInfo:
    return ConnectionInfo(
        id=str(row.id),
        tenant_id=str(row.tenant_id),
        provider=row.provider_id,
        name=row.name,
        config=row.config,
        has_credentials=row.credentials_ciphertext is not None,
        schedule=row.schedule,
        status=row.status,
        drift_policy=row.drift_policy,
    )


def _audit_view(info: ConnectionInfo) -> dict[str, Any]:
    view = asdict(info)
    view.pop("tenant_id")
    return view


def create_connection(
    rt: Runtime,
    tenant_id: uuid.UUID,
    *,
    provider: str,
    name: str,
    config: dict[str, Any],
    credentials: dict[str, Any] | None = None,
    schedule: str | None = None,
    actor: str,
) -> ConnectionInfo:
    if schedule:
        validate_schedule(schedule)
    validate_name(name)
    with rt.db.tenant(tenant_id) as session:
        if session.get(Provider, provider) is None:
            raise NotFound("unknown provider", provider=provider)
    check_config(rt, tenant_id, provider, config)
    with rt.db.tenant(tenant_id) as session:
        if session.scalar(select(Connection.id).where(Connection.tenant_id == tenant_id, Connection.name == name)):
            raise Conflict("a connection with this name exists", tenant=tenant_id, connection=name)
        row = Connection(id=uuid.uuid4(), tenant_id=tenant_id, provider_id=provider, name=name, config=config,
                         schedule=schedule)
        if credentials is not None:
            row.credentials_ciphertext = rt.cipher.encrypt(credentials)
            row.credentials_key_id = rt.cipher.primary_key_id
        session.add(row)
        session.flush()
        info = _info(row)
        audit.record(session, tenant_id, actor=actor, action="connection.create", target_type="connection",
                     target_id=row.id, after=_audit_view(info))
    _cache(rt, info)
    return info


def get_connection(rt: Runtime, tenant_id: uuid.UUID, connection: str) -> ConnectionInfo:
    """A connection by id or name (cache first, Postgres on a miss)."""
    cached = rt.redis.get(rt.keys.tenant(tenant_id, "connection", connection))
    if cached:
        return ConnectionInfo(**json.loads(cached))
    with rt.db.tenant(tenant_id) as session:
        info = _info(_load(session, tenant_id, connection))
    _cache(rt, info)
    return info


def list_connections(rt: Runtime, tenant_id: uuid.UUID) -> list[ConnectionInfo]:
    with rt.db.tenant(tenant_id) as session:
        rows = session.scalars(select(Connection).where(Connection.tenant_id == tenant_id).order_by(Connection.name))
        return [_info(r) for r in rows]


def set_credentials(
    rt: Runtime, tenant_id: uuid.UUID, connection: str, credentials: dict[str, Any], *, actor: str
) -> None:
    with rt.db.tenant(tenant_id) as session:
        row = _load(session, tenant_id, connection)
        had = row.credentials_ciphertext is not None
        row.credentials_ciphertext = rt.cipher.encrypt(credentials)
        row.credentials_key_id = rt.cipher.primary_key_id
        row.updated_at = func.now()
        audit.record(session, tenant_id, actor=actor, action="connection.credentials.set", target_type="connection",
                     target_id=row.id, before={"auth": "set" if had else "unset"},
                     after={"auth": "replaced"})
    evict(rt, tenant_id, row)


def connection_credentials(rt: Runtime, tenant_id: uuid.UUID, connection: str) -> dict[str, Any]:
    """The decrypted credentials, for the connector about to use them. Never log the result."""
    with rt.db.tenant(tenant_id) as session:
        row = _load(session, tenant_id, connection)
        if row.credentials_ciphertext is None:
            return {}
        token = row.credentials_ciphertext
    try:
        return rt.cipher.decrypt(token)
    except SecretsError:
        # The keys may have been rotated since this process loaded them: reload once.
        rt.reset_cipher()
        return rt.cipher.decrypt(token)


def delete_connection(rt: Runtime, tenant_id: uuid.UUID, connection: str, *, actor: str) -> None:
    with rt.db.tenant(tenant_id) as session:
        row = _load(session, tenant_id, connection)
        before = _audit_view(_info(row))
        purge_landed(session, tenant_id, row.id)
        session.delete(row)
        audit.record(session, tenant_id, actor=actor, action="connection.delete", target_type="connection",
                     target_id=row.id, before=before)
    evict(rt, tenant_id, row)


def _load(session: Session, tenant_id: uuid.UUID, connection: str) -> Connection:
    return load_connection(session, tenant_id, connection)


def _cache(rt: Runtime, info: ConnectionInfo) -> None:
    payload = json.dumps(asdict(info), default=str)
    for ref in (info.id, info.name):
        rt.redis.set(rt.keys.tenant(info.tenant_id, "connection", ref), payload, ex=CACHE_TTL_S)


def evict(rt: Runtime, tenant_id: uuid.UUID, row: Connection) -> None:
    """Drop the cached ``ConnectionInfo`` after a change to the row (by id and by name)."""
    rt.redis.delete(*(rt.keys.tenant(tenant_id, "connection", ref) for ref in (str(row.id), row.name)))


def update_connection(
    rt: Runtime,
    tenant_id: uuid.UUID,
    connection: str,
    *,
    config: dict[str, Any] | None = None,
    schedule: str | None = None,
    clear_schedule: bool = False,
    status: str | None = None,
    actor: str,
) -> ConnectionInfo:
    """Change config, schedule or status; each change is audited with before/after."""
    if schedule:
        validate_schedule(schedule)
    if config is not None:
        check_config(rt, tenant_id, get_connection(rt, tenant_id, connection).provider, config)
    with rt.db.tenant(tenant_id) as session:
        row = _load(session, tenant_id, connection)
        before = _audit_view(_info(row))
        if config is not None:
            row.config = config
        if schedule is not None or clear_schedule:
            row.schedule = None if clear_schedule else schedule
        if status is not None:
            row.status = status
        row.updated_at = func.now()
        session.flush()
        session.refresh(row)
        info = _info(row)
        audit.record(session, tenant_id, actor=actor, action="connection.update", target_type="connection",
                     target_id=row.id, before=before, after=_audit_view(info))
    evict(rt, tenant_id, row)
    return info


def connector_context(rt: Runtime, tenant_id: uuid.UUID, info: ConnectionInfo):
    """What a connector may use of the platform: Redis under the connection's tenant-scoped
    prefix (token cache, rate-limit bucket), the cipher for cached tokens, the data dir, and a
    callback that stores rotated credentials encrypted (audited as ``connector``)."""
    from autonomos.aam.connectors.context import ConnectorContext

    def save(credentials: dict[str, Any]) -> None:
        set_credentials(rt, tenant_id, info.id, credentials, actor=f"connector:{info.provider}")

    return ConnectorContext(tenant_id=str(tenant_id), connection_id=info.id, redis=rt.redis,
                            prefix=rt.keys.tenant(tenant_id, "conn", info.id, ""), save_credentials=save,
                            box=rt.cipher, data_dir=rt.settings.data_dir)


def build_connector(rt: Runtime, tenant_id: uuid.UUID, info: ConnectionInfo, credentials: dict[str, Any]):
    """The connector for a connection, with its context; the sync engine builds connectors here."""
    from autonomos.aam.connectors.registry import build_connector as build

    return build(info.provider, info.config, credentials, connector_context(rt, tenant_id, info),
                 tenant_sandbox(rt, tenant_id))


def open_connector(rt: Runtime, tenant_id: uuid.UUID, connection: str):
    """The connector for a connection, built with its decrypted credentials."""
    info = get_connection(rt, tenant_id, connection)
    return build_connector(rt, tenant_id, info, connection_credentials(rt, tenant_id, connection))


def test_connection(rt: Runtime, tenant_id: uuid.UUID, connection: str):
    """Ask the connector whether it can connect; returns its CheckResult."""
    connector = open_connector(rt, tenant_id, connection)
    try:
        return connector.check()
    finally:
        connector.close()
