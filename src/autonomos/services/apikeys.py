"""API keys of a tenant: create (the key is shown once), list, revoke, and verify.

A key reads ``aos_<prefix>_<secret>``. Only the prefix and an argon2 hash of the whole key
are stored. Verification finds the key's rows by prefix through ``aos_api_key_lookup``, a
narrow SECURITY DEFINER function (migration 0016): the app role cannot read the keys table
before it knows the tenant, and request handling never takes the maintenance path.
A key's role lives in ``scopes`` (``["admin"]``, ``["reviewer"]`` or ``["reader"]``).
Revocation is announced on a Redis channel so every server drops its cached verification.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, text

from autonomos.errors import Conflict, NotFound
from autonomos.runtime import Runtime
from autonomos.services import audit
from autonomos.store.tables import ApiKey, Tenant

logger = logging.getLogger(__name__)

Role = Literal["admin", "reviewer", "reader"]
ROLES: tuple[Role, ...] = ("reader", "reviewer", "admin")
"""In rising order: each role may do what the ones before it may."""
PREFIX = "aos"
_hasher = PasswordHasher()


@dataclass(frozen=True)
class KeyInfo:
    id: uuid.UUID
    name: str
    prefix: str
    role: str
    created_at: str
    revoked: bool


@dataclass(frozen=True)
class Principal:
    """Who a verified key speaks for: a tenant key (with a role) or a platform key."""

    key_id: uuid.UUID
    tenant_id: uuid.UUID | None
    role: str
    rate: tuple[float, int] | None = None
    """The tenant's ``api_rate_limit`` setting (per second, burst), if it has one."""

    @property
    def actor(self) -> str:
        return f"apikey:{self.key_id}"

    def may(self, role: Role) -> bool:
        return self.role in ROLES and ROLES.index(self.role) >= ROLES.index(role)


def new_secret() -> tuple[str, str]:
    """(prefix, full key): the prefix finds the row, the whole key is hashed."""
    prefix = secrets.token_hex(6)
    return prefix, f"{PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"


def hash_key(key: str) -> str:
    return _hasher.hash(key)


def split_key(key: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or len(parts[1]) != 12 or not parts[2]:
        return None
    return parts[1]


def _info(row: ApiKey) -> KeyInfo:
    role = row.scopes[0] if row.scopes else "reader"
    return KeyInfo(row.id, row.name, row.prefix, role, row.created_at.isoformat(), row.revoked_at is not None)


def create_key(rt: Runtime, tenant_id: uuid.UUID, role: str, *, name: str | None = None,
               actor: str) -> tuple[KeyInfo, str]:
    """A new key; the returned key string is the only time it is visible."""
    if role not in ROLES:
        raise Conflict(f"role must be one of {', '.join(ROLES)}", role=role)
    prefix, key = new_secret()
    with rt.db.tenant(tenant_id) as session:
        row = ApiKey(id=uuid.uuid4(), tenant_id=tenant_id, name=name or f"{role} key", prefix=prefix,
                     key_hash=hash_key(key), scopes=[role])
        session.add(row)
        session.flush()
        session.refresh(row)
        audit.record(session, tenant_id, actor=actor, action="apikey.create", target_type="api_key",
                     target_id=row.id, after={"name": row.name, "prefix": prefix, "role": role})
        return _info(row), key


def list_keys(rt: Runtime, tenant_id: uuid.UUID) -> list[KeyInfo]:
    with rt.db.tenant(tenant_id) as session:
        rows = session.scalars(select(ApiKey).where(ApiKey.tenant_id == tenant_id)
                               .order_by(ApiKey.created_at, ApiKey.prefix))
        return [_info(r) for r in rows]


def revoke_key(rt: Runtime, tenant_id: uuid.UUID, key: str, *, actor: str) -> KeyInfo:
    """Revoke by id or prefix; every server forgets its cached verification within seconds."""
    with rt.db.tenant(tenant_id) as session:
        condition = ApiKey.prefix == key
        try:
            condition = condition | (ApiKey.id == uuid.UUID(key))
        except ValueError:
            pass
        row = session.scalar(select(ApiKey).where(ApiKey.tenant_id == tenant_id, condition).with_for_update())
        if row is None:
            raise NotFound("no such API key", tenant=tenant_id, key=key)
        if row.revoked_at is None:
            row.revoked_at = func.now()
            audit.record(session, tenant_id, actor=actor, action="apikey.revoke", target_type="api_key",
                         target_id=row.id, before={"revoked": False}, after={"revoked": True})
        session.flush()
        session.refresh(row)
        info = _info(row)
    announce_revocation(rt, info.id)
    return info


def revocation_channel(rt: Runtime) -> str:
    return rt.keys.platform("apikeys", "revoked")


def announce_revocation(rt: Runtime, key_id: uuid.UUID) -> None:
    """Best effort: without Redis, servers drop the key when their cache entry expires."""
    try:
        rt.redis.publish(revocation_channel(rt), str(key_id))
    except Exception:  # noqa: BLE001 - Redis is never a reason to fail a revocation
        logger.warning("could not announce a key revocation; caches expire on their own", exc_info=True)


def verify_key(rt: Runtime, key: str) -> Principal | None:
    """The principal of a valid, unrevoked key, else None (unknown, malformed or revoked)."""
    prefix = split_key(key)
    if prefix is None:
        return None
    rows = rt.db.lookup(text("SELECT * FROM aos_api_key_lookup(:p)"), {"p": prefix})
    for row in rows:
        try:
            _hasher.verify(row["key_hash"], key)
        except (VerificationError, InvalidHashError):
            continue
        return _principal(rt, row)
    return None


def recheck_key(rt: Runtime, key: str, known: Principal) -> Principal | None:
    """``known`` (``key`` verified earlier) as its row says now, without argon2: the row found
    by the key's prefix whose hash the key matched (its id) is still there and not revoked.
    Renews a cached verification: a revoked key fails it as it fails ``verify_key``."""
    prefix = split_key(key)
    if prefix is None:
        return None
    for row in rt.db.lookup(text("SELECT * FROM aos_api_key_lookup(:p)"), {"p": prefix}):
        if str(row["key_id"]) == str(known.key_id):
            return _principal(rt, row)
    return None


def _principal(rt: Runtime, row) -> Principal | None:
    if row["revoked"]:
        return None
    if row["platform"]:
        return Principal(row["key_id"], None, "platform")
    return Principal(row["key_id"], row["tenant_id"], (row["scopes"] or ["reader"])[0],
                     _rate_setting(rt, row["tenant_id"]))


def _rate_setting(rt: Runtime, tenant_id: uuid.UUID) -> tuple[float, int] | None:
    with rt.db.tenant(tenant_id) as session:
        settings = session.scalar(select(Tenant.settings).where(Tenant.id == tenant_id)) or {}
    limit = settings.get("api_rate_limit")
    if not isinstance(limit, dict):
        return None
    try:
        return float(limit["per_second"]), int(limit["burst"])
    except (KeyError, TypeError, ValueError):
        return None


__all__ = ["KeyInfo", "Principal", "ROLES", "Role", "announce_revocation", "create_key", "list_keys",
           "recheck_key", "revocation_channel", "revoke_key", "split_key", "verify_key"]
