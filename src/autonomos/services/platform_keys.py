"""Platform API keys: they manage tenants and read no tenant data. An operator's work, so
created and revoked through the maintenance path (the table lies outside tenants)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from autonomos.errors import NotFound
from autonomos.runtime import Runtime
from autonomos.services import audit
from autonomos.services.apikeys import KeyInfo, announce_revocation, hash_key, new_secret
from autonomos.store.maintenance import maintenance_database
from autonomos.store.tables import PlatformApiKey

PLATFORM_LOG_TENANT = uuid.UUID(int=0)
"""Platform key changes go to the platform log under the nil tenant id (no tenant owns them)."""


def _info(row: PlatformApiKey) -> KeyInfo:
    return KeyInfo(row.id, row.name, row.prefix, "platform", row.created_at.isoformat(), row.revoked_at is not None)


def create_platform_key(rt: Runtime, *, name: str | None = None, actor: str) -> tuple[KeyInfo, str]:
    prefix, key = new_secret()
    with maintenance_database(rt).session() as session:
        row = PlatformApiKey(id=uuid.uuid4(), name=name or "platform key", prefix=prefix, key_hash=hash_key(key))
        session.add(row)
        session.flush()
        session.refresh(row)
        audit.record_platform(session, PLATFORM_LOG_TENANT, actor=actor, action="apikey.platform.create",
                              before=None, after={"name": row.name, "prefix": prefix})
        return _info(row), key


def list_platform_keys(rt: Runtime) -> list[KeyInfo]:
    with maintenance_database(rt).session() as session:
        return [_info(r) for r in session.scalars(select(PlatformApiKey).order_by(PlatformApiKey.created_at))]


def revoke_platform_key(rt: Runtime, key: str, *, actor: str) -> KeyInfo:
    with maintenance_database(rt).session() as session:
        condition = PlatformApiKey.prefix == key
        try:
            condition = condition | (PlatformApiKey.id == uuid.UUID(key))
        except ValueError:
            pass
        row = session.scalar(select(PlatformApiKey).where(condition).with_for_update())
        if row is None:
            raise NotFound("no such platform key", key=key)
        if row.revoked_at is None:
            row.revoked_at = func.now()
            audit.record_platform(session, PLATFORM_LOG_TENANT, actor=actor, action="apikey.platform.revoke",
                                  before={"prefix": row.prefix}, after={"revoked": True})
        session.flush()
        session.refresh(row)
        info = _info(row)
    announce_revocation(rt, info.id)
    return info
