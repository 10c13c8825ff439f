"""Console sessions: sign in with an API key, find the session of a cookie, sign out.

A browser never holds the key: signing in verifies it once and hands out a random session
token (only its SHA-256 is stored, with the tenant and the key). Each request finds its
session through ``aos_console_session_lookup`` (migration 0017), a narrow SECURITY DEFINER
function that answers only for a live session whose key is not revoked, so revoking a key
ends its console sessions at once, on every server. Sign-in and sign-out are audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select, text

from autonomos.runtime import Runtime
from autonomos.services import apikeys, audit
from autonomos.services.apikeys import Principal
from autonomos.store.tables import ConsoleSession

SESSION_TTL = dt.timedelta(hours=8)
KEEP_ENDED = dt.timedelta(days=7)
"""Ended or expired sessions stay this long (for the audit trail's sake), then go at the next sign-in."""


@dataclass(frozen=True)
class SessionInfo:
    """A live console session: who it speaks for and the token its forms must carry."""

    id: uuid.UUID
    principal: Principal
    csrf_token: str

    @property
    def tenant_id(self) -> uuid.UUID:
        assert self.principal.tenant_id is not None
        return self.principal.tenant_id

    @property
    def actor(self) -> str:
        return f"console:{self.principal.actor}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(rt: Runtime, key: str) -> tuple[str, SessionInfo] | None:
    """(cookie token, session) for a valid tenant key; None for an unknown, revoked or platform key."""
    who = apikeys.verify_key(rt, key.strip())
    if who is None or who.tenant_id is None:
        return None
    token, csrf = secrets.token_urlsafe(32), secrets.token_hex(32)
    with rt.db.tenant(who.tenant_id) as session:
        session.execute(delete(ConsoleSession).where(
            ConsoleSession.tenant_id == who.tenant_id,
            or_(ConsoleSession.ended_at < func.now() - KEEP_ENDED, ConsoleSession.expires_at < func.now() - KEEP_ENDED)))
        row = ConsoleSession(id=uuid.uuid4(), tenant_id=who.tenant_id, api_key_id=who.key_id,
                             token_hash=token_hash(token), csrf_token=csrf,
                             expires_at=func.now() + SESSION_TTL)
        session.add(row)
        session.flush()
        audit.record(session, who.tenant_id, actor=f"console:{who.actor}", action="console.login",
                     target_type="console_session", target_id=row.id, after={"role": who.role})
    return token, SessionInfo(row.id, who, csrf)


def find(rt: Runtime, token: str) -> SessionInfo | None:
    """The live session of a cookie token, else None (unknown, ended, expired, key revoked)."""
    if not token or len(token) > 128:
        return None
    rows = rt.db.lookup(text("SELECT * FROM aos_console_session_lookup(:h)"), {"h": token_hash(token)})
    if not rows:
        return None
    row = rows[0]
    role = (row["scopes"] or ["reader"])[0]
    return SessionInfo(row["session_id"], Principal(row["key_id"], row["tenant_id"], role), row["csrf_token"])


def sign_out(rt: Runtime, info: SessionInfo) -> None:
    """End the session (its cookie stops working everywhere at once)."""
    with rt.db.tenant(info.tenant_id) as session:
        row = session.scalar(select(ConsoleSession).where(ConsoleSession.tenant_id == info.tenant_id,
                                                          ConsoleSession.id == info.id).with_for_update())
        if row is None or row.ended_at is not None:
            return
        row.ended_at = func.now()
        audit.record(session, info.tenant_id, actor=info.actor, action="console.logout",
                     target_type="console_session", target_id=row.id)


__all__ = ["SESSION_TTL", "SessionInfo", "find", "sign_in", "sign_out", "token_hash"]
