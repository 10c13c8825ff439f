"""A tenant's own settings, read and changed inside its RLS context (what its admins may do).

Only ``TENANT_EDITABLE`` keys are changed here; capacity settings (API rate limit,
concurrent syncs, retry attempts) belong to the operator (``services.tenants.update_settings``),
so a tenant cannot raise its own limits. A change is audited in its transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from autonomos.errors import InvalidInput, NotFound
from autonomos.runtime import Runtime
from autonomos.services import audit
from autonomos.store.tables import Tenant

TENANT_EDITABLE = {
    "source_precedence": list,
    "match_keys": dict,
    "drift_auto_threshold": (int, float),
}
"""Key -> the JSON type it takes; ``null`` removes the key (back to the default)."""


def get_settings(rt: Runtime, tenant_id: uuid.UUID) -> dict[str, Any]:
    with rt.db.tenant(tenant_id) as session:
        row = session.scalar(select(Tenant).where(Tenant.id == tenant_id))
        if row is None:
            raise NotFound("no such tenant", tenant=tenant_id)
        return dict(row.settings or {})


def _check(changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        kind = TENANT_EDITABLE.get(key)
        if kind is None:
            raise InvalidInput(f"setting {key!r} cannot be changed by the tenant; it may change "
                               f"{', '.join(sorted(TENANT_EDITABLE))}")
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise InvalidInput(f"setting {key!r} has the wrong type")
    threshold = changes.get("drift_auto_threshold")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise InvalidInput("drift_auto_threshold must be between 0 and 1")


def patch_settings(rt: Runtime, tenant_id: uuid.UUID, changes: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """Merge ``changes`` (a ``null`` value removes the key) into the tenant's settings."""
    _check(changes)
    with rt.db.tenant(tenant_id) as session:
        row = session.scalar(select(Tenant).where(Tenant.id == tenant_id).with_for_update())
        if row is None:
            raise NotFound("no such tenant", tenant=tenant_id)
        before = dict(row.settings or {})
        after = {**before, **changes}
        row.settings = {k: v for k, v in after.items() if v is not None}
        audit.record(session, tenant_id, actor=actor, action="tenant.settings", target_type="tenant",
                     target_id=tenant_id, before={k: before.get(k) for k in changes},
                     after={k: changes[k] for k in changes})
        return dict(row.settings)
