"""The audit log: who changed what, when, with before/after, written in the same
transaction as the change. Credentials are reduced to "changed" before they get here."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from autonomos.security.redaction import redact
from autonomos.store.tables import AuditLog, PlatformAuditLog


def record(
    session: Session,
    tenant_id: uuid.UUID,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: object | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add one audit row to the caller's (tenant) transaction."""
    session.add(
        AuditLog(
            tenant_id=tenant_id,
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            before=redact(before) if before is not None else None,
            after=redact(after) if after is not None else None,
        )
    )


def record_platform(
    session: Session, tenant_id: uuid.UUID, *, actor: str, action: str, before: dict | None, after: dict | None
) -> None:
    """Tenant lifecycle goes to the platform log, which outlives the tenant's purge."""
    session.add(PlatformAuditLog(tenant_id=tenant_id, actor=actor, action=action, before=before, after=after))
